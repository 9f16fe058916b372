"""Load: more composed creates at once than the pod has systems."""

import concurrent.futures
import uuid as uuidlib

import pytest

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from tests import fixtures as mv_fixtures
from tests.functional import harness

CTX = mv_context.get_admin_context()
POD_SIZE = 20
CREATES = 30


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with mv_fixtures.running_simulator(
        str(tmp_path_factory.mktemp("valence")), systems=POD_SIZE
    ) as fixture:
        yield fixture


def test_thirty_creates_on_a_pod_of_twenty(
    tmp_path_factory, transport_url, ironic, sim
):
    composed_class = f"load-{uuidlib.uuid4().hex[:8]}"
    extra = harness.valence_section(sim.url, composed_class)
    engine = harness.EngineProcess(
        str(tmp_path_factory.mktemp("engine")),
        transport_url,
        ironic.url,
        extensions="valence",
        extra=extra,
    )
    engine.start()
    try:
        api = engine.api()
        api.create_flavor(CTX, "load", composition={"cpu_cores": 4, "ram_mib": 8192})
        with concurrent.futures.ThreadPoolExecutor(max_workers=CREATES) as pool:
            created = list(
                pool.map(
                    lambda i: api.create_instance(
                        CTX, f"load-{i}", "load", "http://127.0.0.1/img.qcow2"
                    ),
                    range(CREATES),
                )
            )
        ended = [
            harness.wait_status(api, i.uuid, {states.ACTIVE, states.ERROR}, timeout=300)
            for i in created
        ]
        active = [g for g in ended if g["instance"].status == states.ACTIVE]
        errors = [g for g in ended if g["instance"].status == states.ERROR]
        assert len(active) == POD_SIZE
        assert len(errors) == CREATES - POD_SIZE
        for got in errors:
            assert "no computer systems available" in got["fault"].message
        # Nothing leaked: each composed node belongs to an ACTIVE instance.
        owned = {g["instance"].node_uuid for g in active}
        assert set(sim.state.nodes) == owned
        assert {
            n.uuid for n in ironic.client().node.list(resource_class=composed_class)
        } == owned

        for got in ended:
            api.delete_instance(CTX, got["instance"].uuid)
        for got in ended:
            done = harness.wait_status(
                api, got["instance"].uuid, {states.DELETED, states.ERROR}, timeout=300
            )
            assert done["instance"].status == states.DELETED
        # The whole pool is back.
        assert sim.state.nodes == {}
        assert ironic.client().node.list(resource_class=composed_class) == []
    finally:
        engine.stop()
