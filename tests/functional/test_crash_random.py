"""SIGKILL the engine at random moments over many rounds of composed creates
and deletes; it always starts again, and every instance ends where it should.

The moments are drawn from a seeded generator, so a failing run can be
repeated: ``MOGAN_VALENCE_CRASH_SEED`` (default fixed) and
``MOGAN_VALENCE_CRASH_ROUNDS`` (default 8; the run is bounded in time by the
rounds, each a few seconds) choose the run. Only kills happen here, no
injected faults: a kill is never a reason for an ERROR, so any ERROR, any
instance stuck in BUILDING or DELETING, any leaked node or an engine that
does not start fails the test.
"""

import os
import random
import signal
import time

import pytest

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from tests.functional import harness

CTX = mv_context.get_admin_context()
IMAGE = "http://127.0.0.1/img.qcow2"
SEED = int(os.environ.get("MOGAN_VALENCE_CRASH_SEED", "20261201"))
ROUNDS = int(os.environ.get("MOGAN_VALENCE_CRASH_ROUNDS", "8"))
SYSTEMS = 6
SETTLE_TIMEOUT = 240


# Per simulator backend; an ExpEther pod has one NIC per server. "redfish"
# composes through the Redfish composition simulator (answers through task
# monitors, so that kills land while a task runs).
COMPOSITIONS = {
    "rsd": {"cpu_cores": 2},
    "expether": {"pci_devices": ["NIC"]},
    "redfish": {"backend": "redfish", "cpu_cores": 2},
}


@pytest.fixture(scope="module", params=sorted(COMPOSITIONS))
def stack(tmp_path_factory, transport_url, ironic, iso_url, request):
    work = tmp_path_factory.mktemp("crash-random")
    if request.param == "redfish":
        # Ironic's redfish hardware type deploys a ramdisk over virtual media.
        made = _redfish_stack(work, transport_url, ironic)
        made["image"] = iso_url
    else:
        engine, sim, composed_class = harness.composed_engine(
            work, transport_url, ironic.url, SYSTEMS, "random", backend=request.param
        )
        made = {"engine": engine, "sim": sim, "class": composed_class, "image": IMAGE}
    made["backend"] = request.param
    made["engine"].api().create_flavor(
        CTX, "random", composition=COMPOSITIONS[request.param]
    )
    yield made
    made["engine"].stop()
    if request.param == "redfish":
        made["sim"].stop()
    else:
        made["sim"].cleanUp()


def _redfish_stack(work, transport_url, ironic) -> dict:
    from mogan_valence.simulator.composition import server as rf_server

    sim = rf_server.CompositionSimulator(
        rf_server.Options(
            mode="async",
            compose_action=False,
            compute_blocks=SYSTEMS,
            zones=1,
            power_delay=0,
            task_seconds=0.5,
        )
    )
    sim.start()
    composed_class = f"random-rf-{os.urandom(4).hex()}"
    engine = harness.EngineProcess(
        str(work / "engine"),
        transport_url,
        ironic.url,
        extensions="valence",
        extra=(
            "\n[valence]\nbackend = redfish\nenroll_driver = fake-hardware\n"
            "\n[redfish_composition_default]\n"
            f"address = {sim.url}\nusername = {sim.username}\n"
            f"password = {sim.password}\nresource_class = {composed_class}\n"
            "deploy_interface = ramdisk\nboot_interface = redfish-virtual-media\n"
            "task_poll_interval = 0.2\ntask_timeout = 30\n"
        ),
    )
    engine.start()
    return {"engine": engine, "sim": sim, "class": composed_class}


def _kill_and_restart(engine) -> float:
    """SIGKILL the engine, start it again; seconds until it answered."""
    os.killpg(engine.proc.proc.pid, signal.SIGKILL)
    engine.proc.proc.wait(timeout=30)
    engine.proc.proc = None
    began = time.monotonic()
    engine.start(timeout=90)  # raises if the engine exits or never answers
    return time.monotonic() - began


def _try(call, *args):
    """An RPC call that may meet a dying engine or a busy instance."""
    try:
        return call(CTX, *args)
    except Exception as e:  # noqa: BLE001  (the outcome is checked at the end)
        return e


def _settle(api, deadline: float) -> list:
    """Wait until no instance is BUILDING or DELETING."""
    while True:
        instances = api.list_instances(CTX, include_deleted=True)
        busy = [i for i in instances if i.status in (states.BUILDING, states.DELETING)]
        if not busy:
            return instances
        if time.monotonic() > deadline:
            raise AssertionError(
                f"seed {SEED}: still busy after {SETTLE_TIMEOUT}s: "
                + ", ".join(f"{i.uuid} {i.status}" for i in busy)
            )
        time.sleep(0.5)


def _errors(api, instances) -> list[str]:
    found = []
    for instance in instances:
        if instance.status == states.ERROR:
            fault = api.get_instance(CTX, instance.uuid)["fault"]
            found.append(f"{instance.uuid}: {fault.message if fault else 'no fault'}")
    return found


def test_random_kills_leave_nothing_behind(stack, ironic):
    rng = random.Random(SEED)  # noqa: S311  (test moments, not secrets)
    engine = stack["engine"]
    api = engine.api()
    kills = 0
    for round_no in range(ROUNDS):
        # Every instance not yet DELETED may hold a system: never ask for
        # more than the pod has (no capacity would be a real failure).
        live = api.list_instances(CTX)
        for instance in live:
            if instance.status in (states.ACTIVE, states.ERROR) and rng.random() < 0.5:
                _try(api.delete_instance, instance.uuid)
        room = SYSTEMS - len(live)
        for n in range(rng.randint(0, min(3, room))):
            _try(api.create_instance, f"r{round_no}-{n}", "random", stack["image"])
        time.sleep(rng.uniform(0.0, 4.0))
        _kill_and_restart(engine)
        kills += 1
        api = engine.api()

    # The engine stays up from here: everything settles, then goes.
    instances = _settle(api, time.monotonic() + SETTLE_TIMEOUT)
    assert _errors(api, instances) == [], f"seed {SEED}: ERRORs after {kills} kills"
    for instance in instances:
        if instance.status == states.ACTIVE:
            api.delete_instance(CTX, instance.uuid)
    instances = _settle(api, time.monotonic() + SETTLE_TIMEOUT)
    assert _errors(api, instances) == [], f"seed {SEED}: ERRORs on delete"
    assert {i.status for i in instances} <= {states.DELETED}
    if stack["backend"] == "redfish":
        state = stack["sim"].state()
        assert state["systems"] == [], f"seed {SEED}: systems left composed"
        held = [b["id"] for b in state["blocks"] if b["state"] != "Unused"]
        assert held == [], f"seed {SEED}: blocks left held"
        assert state["reservations"] == []
        assert ironic.client().node.list(resource_class=stack["class"]) == []
        return
    harness.assert_nothing_leaked(api, ironic, stack["sim"], stack["class"])
    assert stack["sim"].state.nodes == {}
    in_use = [d for d in stack["sim"].state.devices.values() if d["state"] != "free"]
    assert in_use == [], f"seed {SEED}: devices left attached"
