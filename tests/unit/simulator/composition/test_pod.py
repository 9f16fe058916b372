"""The pod's layout and the matching of constrained requests."""

import pytest

from mogan_valence.simulator.composition import pod as pod_mod


def cpus(count, cores=0):
    return pod_mod.Requirement("processors", count, lambda p: p.cores >= cores, "x")


def test_uniform_layout():
    pod = pod_mod.uniform(3, zones=2)
    assert pod.zones == ("1", "2")
    assert len(pod.computes) == 3
    assert [b.zones for b in pod.computes] == [("1",), ("2",), ("1",)]
    assert len({b.bmc_uuid for b in pod.computes}) == 3
    macs = [n.mac for b in pod.blocks for n in b.nics]
    assert len(macs) == len(set(macs)) == 6
    # The same pod every time: the BMC uuids are derived, not random.
    assert pod_mod.uniform(3) == pod


def test_zones_never_exceed_boards():
    assert pod_mod.uniform(1, zones=4).zones == ("1",)
    with pytest.raises(ValueError):
        pod_mod.uniform(0)


def test_plan_adds_blocks_only_when_the_board_is_short():
    pod = pod_mod.uniform(2)
    free = {b.id for b in pod.blocks}
    assert pod_mod.plan(pod, free, [cpus(2)]) == ["ComputeBlock1"]
    assert pod_mod.plan(pod, free, [cpus(3)]) == ["ComputeBlock1", "ProcessorBlock1"]
    # Big cores only on Processor blocks: the board's own do not count.
    assert pod_mod.plan(pod, free, [cpus(2, cores=16)]) == [
        "ComputeBlock1",
        "ProcessorBlock1",
    ]


def test_plan_stays_in_one_zone():
    pod = pod_mod.uniform(2)
    free = {b.id for b in pod.blocks} - {"ProcessorBlock1"}
    # Zone 1 has no free Processor block: zone 2 serves it whole.
    assert pod_mod.plan(pod, free, [cpus(3)]) == ["ComputeBlock2", "ProcessorBlock2"]
    assert pod_mod.plan(pod, free, [cpus(3)], zone="1") is None
    assert pod_mod.plan(pod, free, [cpus(5)]) is None
