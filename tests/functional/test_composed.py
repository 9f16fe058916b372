"""Composed instances: the engine process with the Valence extension, the
simulator, the real Ironic (behind a fault-injecting proxy) and RabbitMQ."""

import dataclasses
import uuid as uuidlib

import pytest
import requests

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from mogan_valence.valence import enrollment
from tests import fixtures as mv_fixtures
from tests.functional import faultproxy
from tests.functional import harness

CTX = mv_context.get_admin_context()
COMPOSITIONS = {
    "rsd": {"cpu_cores": 8, "ram_mib": 16384, "disk_gb": 100, "disk_type": "SSD"},
    # An ExpEther server's CPU and RAM are its own: only devices are asked for.
    "expether": {"pci_devices": ["GPU", "SSD"]},
}
IMAGE = "http://127.0.0.1/img.qcow2"


@pytest.fixture(scope="module", params=sorted(COMPOSITIONS))
def sim(tmp_path_factory, request):
    with mv_fixtures.running_simulator(
        str(tmp_path_factory.mktemp("valence")), systems=4, backend=request.param
    ) as fixture:
        fixture.backend = request.param
        yield fixture


@pytest.fixture(scope="module")
def proxy(ironic):
    proxy = faultproxy.FaultProxy(ironic.url).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def composed_class():
    return f"composed-{uuidlib.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def engine(tmp_path_factory, transport_url, proxy, sim, composed_class):
    extra = harness.valence_section(sim.url, composed_class, retries=0, read_timeout=20)
    proc = harness.EngineProcess(
        str(tmp_path_factory.mktemp("engine")),
        transport_url,
        proxy.url,
        extensions="valence",
        extra=extra,
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def api(engine, proxy, sim):
    proxy.clear()
    requests.delete(f"{sim.url}/admin/faults", timeout=10)
    return engine.api()


@pytest.fixture(scope="module")
def composed_flavor(engine, sim):
    name = "composed-small"
    engine.api().create_flavor(CTX, name, composition=COMPOSITIONS[sim.backend])
    return name


def _assert_nothing_left(ironic, sim, composed_class):
    assert sim.state.nodes == {}, "a Valence node was leaked"
    attached = [d for d in sim.state.devices.values() if d["state"] != "free"]
    assert attached == [], "a device was left attached"
    left = ironic.client().node.list(resource_class=composed_class)
    assert left == [], f"an Ironic node was leaked: {[n.uuid for n in left]}"


def test_composed_instance_active_then_deleted(
    ironic, sim, api, composed_flavor, composed_class
):
    instance = api.create_instance(CTX, "composed-1", composed_flavor, IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ACTIVE, (
        got["fault"] and got["fault"].message
    )
    assert got["instance"].is_composed
    node_uuid = got["instance"].node_uuid
    # One id names the node in both systems.
    assert list(sim.state.nodes) == [node_uuid]
    assert sim.state.nodes[node_uuid]["name"] == f"mogan-{instance.uuid}"
    node = ironic.client().node.get(node_uuid)
    assert node.provision_state == "active"
    assert node.instance_uuid == instance.uuid
    assert node.resource_class == composed_class
    assert node.extra[enrollment.EXTRA_KEY]["instance_uuid"] == instance.uuid
    ports = ironic.client().port.list(node=node_uuid, detail=True)
    if sim.backend == "rsd":
        assert node.properties["cpus"] >= 8
        assert len(ports) == 2
    else:
        detail = sim.client().get_node(node_uuid)
        assert [p.address for p in ports] == [detail["mac_address"]]
        assert node.properties["mogan_valence_devices"] == ["GPU", "SSD"]
        attached = sim.client().list_devices(node_id=detail["index"])
        assert sorted(d["type"] for d in attached) == ["GPU", "SSD"]
    steps = [s["step"] for s in got["instance"].extra["steps"]]
    assert steps == ["compose-node", "enroll-node", "create-instance"]

    api.delete_instance(CTX, instance.uuid)
    got = harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})
    assert got["instance"].status == states.DELETED, (
        got["fault"] and got["fault"].message
    )
    assert [
        s["step"] for s in got["instance"].extra["steps"] if s["op"] == "delete"
    ] == ["undeploy", "unenroll", "release", "return-host"]
    _assert_nothing_left(ironic, sim, composed_class)


def test_preset_flavor_on_the_same_engine_is_untouched(
    ironic, sim, api, resource_class
):
    nodes = ironic.enroll_fake_nodes(1, resource_class, prefix=resource_class)
    api.create_flavor(CTX, f"preset-{resource_class}", resources={resource_class: 1})
    instance = api.create_instance(CTX, "preset", f"preset-{resource_class}", IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ACTIVE
    assert got["instance"].node_uuid == nodes[0]
    assert not got["instance"].is_composed
    assert sim.state.nodes == {}
    api.delete_instance(CTX, instance.uuid)
    harness.wait_status(api, instance.uuid, {states.DELETED})
    assert ironic.client().node.get(nodes[0]).provision_state == "available"


CREATE_FAULTS = {
    "compose": ("compose-node", None),
    "node create": ("enroll-node", faultproxy.Rule("POST", r"^/v1/nodes/?$")),
    "port create": ("enroll-node", faultproxy.Rule("POST", r"^/v1/ports/?$")),
    "manage": (
        "enroll-node",
        faultproxy.Rule("PUT", r"/states/provision$", body='"manage"'),
    ),
    "provide": (
        "enroll-node",
        faultproxy.Rule("PUT", r"/states/provision$", body='"provide"'),
    ),
    "deploy": (
        "create-instance",
        faultproxy.Rule("PUT", r"/states/provision$", body='"active"'),
    ),
}


@pytest.mark.parametrize("where", sorted(CREATE_FAULTS))
def test_failure_at_each_create_step_leaves_nothing(
    where, ironic, sim, api, proxy, composed_flavor, composed_class
):
    step, rule = CREATE_FAULTS[where]
    # A fresh rule each time: the table's are templates (each backend runs it).
    rule = dataclasses.replace(rule) if rule is not None else None
    if rule is None:
        requests.post(
            f"{sim.url}/admin/faults",
            json={"operation": "compose", "status": 500},
            timeout=10,
        )
    else:
        proxy.add(rule)
    instance = api.create_instance(CTX, f"fail-{where}", composed_flavor, IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ERROR
    assert got["fault"].message.startswith(f"{step}: "), got["fault"].message
    if rule is not None:
        assert rule.hits == 1
    _assert_nothing_left(ironic, sim, composed_class)
    # A failed instance can be deleted, and that too leaves nothing.
    api.delete_instance(CTX, instance.uuid)
    assert (
        harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})[
            "instance"
        ].status
        == states.DELETED
    )
    _assert_nothing_left(ironic, sim, composed_class)


def test_compose_left_allocated_by_a_failing_valence_is_released(
    ironic, sim, api, composed_flavor, composed_class
):
    # Valence allocates the node, then answers 500: the revert finds it by name.
    requests.post(
        f"{sim.url}/admin/faults",
        json={"operation": "compose", "status": 500, "after_commit": True},
        timeout=10,
    )
    instance = api.create_instance(CTX, "half-composed", composed_flavor, IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ERROR
    _assert_nothing_left(ironic, sim, composed_class)


DELETE_FAULTS = {
    "unenroll": lambda proxy, sim, node: proxy.add(
        faultproxy.Rule("DELETE", rf"^/v1/nodes/{node}$")
    ),
    "release": lambda proxy, sim, node: requests.post(
        f"{sim.url}/admin/faults",
        json={"operation": "release", "status": 500},
        timeout=10,
    ),
    "undeploy": lambda proxy, sim, node: proxy.add(
        faultproxy.Rule(
            "PUT", rf"^/v1/nodes/{node}/states/provision$", body='"deleted"'
        )
    ),
}


@pytest.mark.parametrize("step", sorted(DELETE_FAULTS))
def test_failed_delete_names_the_step_and_a_repeat_finishes(
    step, ironic, sim, api, proxy, composed_flavor, composed_class
):
    instance = api.create_instance(CTX, f"del-{step}", composed_flavor, IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ACTIVE
    DELETE_FAULTS[step](proxy, sim, got["instance"].node_uuid)
    api.delete_instance(CTX, instance.uuid)
    got = harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})
    assert got["instance"].status == states.ERROR
    assert got["fault"].message.startswith(f"{step}: "), got["fault"].message
    if step != "release":
        # Hardware Ironic still holds is never released.
        assert got["instance"].node_uuid in sim.state.nodes
    api.delete_instance(CTX, instance.uuid)
    got = harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})
    assert got["instance"].status == states.DELETED, got["fault"].message
    _assert_nothing_left(ironic, sim, composed_class)


def test_invalid_compositions_are_refused_before_anything(api, sim):
    for composition, words in (
        ({"cpu_cores": -4}, "'cpu_cores'"),
        ({"cpus": 4}, "'cpus'"),
        ({"disk_gb": 10, "disk_type": "tape"}, "'disk_type'"),
    ):
        with pytest.raises(Exception) as raised:
            api.create_flavor(
                CTX, f"bad-{uuidlib.uuid4().hex[:6]}", composition=composition
            )
        assert words in raised.value.message
    assert sim.state.nodes == {}
