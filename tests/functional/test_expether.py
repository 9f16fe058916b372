"""ExpEther composed instances on the real standalone Ironic, against the
simulator's expether backend (as the real Valence's ExpEther driver
answers):

- a server named in the operator's inventory is enrolled with Ironic's
  redfish driver, which manages it through sushy-tools' emulator, and goes
  ACTIVE; deleted, nothing is left and every device is free again;
- a server that is already an Ironic node (a port with its EESV's MAC) is
  borrowed: deleted, it stays enrolled and available, and its devices are
  back in the pool.
"""

import json
import os

import pytest
import requests

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from mogan_valence.valence import enrollment
from tests import fixtures as mv_fixtures
from tests.functional import harness

CTX = mv_context.get_admin_context()
BMC_PASSWORD = "s3cret-eesv-bmc"
COMPOSED_CLASS = "composed-expether"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with mv_fixtures.running_simulator(
        str(tmp_path_factory.mktemp("valence-ee")),
        systems=2,
        with_redfish=True,
        redfish_password=BMC_PASSWORD,
        backend="expether",
    ) as fixture:
        yield fixture


@pytest.fixture(scope="module")
def hosts(sim):
    return requests.get(f"{sim.url}/admin/hosts", timeout=10).json()


@pytest.fixture(scope="module")
def engine(tmp_path_factory, transport_url, ironic, sim):
    work = tmp_path_factory.mktemp("engine-ee")
    inventory = str(work / "hosts.json")
    sim.sim.write_inventory(inventory)
    extra = harness.valence_section(
        sim.url,
        COMPOSED_CLASS,
        driver="redfish",
        node_inventory=inventory,
        redfish_verify_ca=False,
        retries=0,
    )
    proc = harness.EngineProcess(
        str(work / "engine"),
        transport_url,
        ironic.url,
        extensions="valence",
        extra=extra,
    )
    proc.start()
    proc.api().create_flavor(CTX, "ee-gpu", composition={"pci_devices": ["GPU", "SSD"]})
    yield proc
    proc.stop()


def _devices_in_use(sim):
    return [d for d in sim.state.devices.values() if d["state"] != "free"]


def _create(api, name, image):
    instance = api.create_instance(CTX, name, "ee-gpu", image)
    got = harness.wait_status(
        api, instance.uuid, {states.ACTIVE, states.ERROR}, timeout=300
    )
    assert got["instance"].status == states.ACTIVE, (
        got["fault"] and got["fault"].message
    )
    return got["instance"]


def _delete(api, instance):
    api.delete_instance(CTX, instance.uuid)
    got = harness.wait_status(
        api, instance.uuid, {states.DELETED, states.ERROR}, timeout=300
    )
    assert got["instance"].status == states.DELETED, (
        got["fault"] and got["fault"].message
    )


def test_a_server_of_the_inventory_over_redfish(ironic, sim, hosts, engine, iso_url):
    api = engine.api()
    instance = _create(api, "ee-1", iso_url)
    (valence_node,) = sim.state.nodes.values()
    host = next(h for h in hosts if h["eesv"] == valence_node["index"])
    node = ironic.client().node.get(instance.node_uuid)
    # The Ironic node of a server made from the inventory has the Valence
    # node's uuid, and the redfish driver at the server's system.
    assert instance.node_uuid == valence_node["uuid"]
    assert node.driver == "redfish"
    assert node.driver_info["redfish_system_id"] == host["redfish_system_id"]
    assert node.provision_state == "active"
    assert node.power_state == "power on"
    assert node.properties["mogan_valence_devices"] == ["GPU", "SSD"]
    ports = ironic.client().port.list(node=node.uuid, detail=True)
    assert [p.address for p in ports] == [host["mac"]]
    attached = sorted(d["type"] for d in _devices_in_use(sim))
    assert attached == ["GPU", "SSD"]
    emulator = sim.sim.emulator
    system = requests.get(
        f"{emulator.url}{host['redfish_system_id']}",
        timeout=10,
        auth=(emulator.username, emulator.password),
    ).json()
    assert system["PowerState"] == "On"

    _delete(api, instance)
    assert sim.state.nodes == {}
    assert _devices_in_use(sim) == []
    assert ironic.client().node.list(resource_class=COMPOSED_CLASS) == []
    # The BMC password of the inventory never reaches the engine's log.
    with open(os.path.join(engine.work_dir, "engine.log")) as log:
        assert BMC_PASSWORD not in log.read()


def test_a_server_already_in_ironic_is_borrowed_and_given_back(
    ironic, sim, hosts, engine
):
    api = engine.api()
    client = ironic.client()
    # The first free server is the first one: it is already an Ironic node
    # (fake hardware here), known by a port with its EESV's MAC.
    node = client.node.create(
        driver="fake-hardware",
        name="eesv-host-1",
        resource_class="pool",
        properties={"cpus": 40, "memory_mb": 262144},
    )
    client.port.create(node_uuid=node.uuid, address=hosts[0]["mac"])
    for verb, state in (("manage", "manageable"), ("provide", "available")):
        client.node.set_provision_state(node.uuid, verb)
        client.node.wait_for_provision_state(
            node.uuid, state, timeout=60, poll_interval=0.2
        )
    try:
        instance = _create(api, "ee-borrowed", "http://127.0.0.1/img.qcow2")
        assert instance.node_uuid == node.uuid
        held = client.node.get(node.uuid)
        assert held.instance_uuid == instance.uuid
        assert held.provision_state == "active"
        assert held.extra[enrollment.EXTRA_KEY]["adopted"] is True
        assert held.properties["mogan_valence_devices"] == ["GPU", "SSD"]
        assert sorted(d["type"] for d in _devices_in_use(sim)) == ["GPU", "SSD"]

        _delete(api, instance)
        back = client.node.get(node.uuid)
        assert back.provision_state == "available"
        assert back.instance_uuid is None
        assert not back.retired
        assert enrollment.EXTRA_KEY not in back.extra
        assert back.properties == {"cpus": 40, "memory_mb": 262144}
        assert back.resource_class == "pool"
        assert sim.state.nodes == {}
        assert _devices_in_use(sim) == []
    finally:
        client.node.set_maintenance(node.uuid, True)
        client.node.delete(node.uuid)


def test_the_inventory_is_read_again_when_it_changes(ironic, sim, hosts, engine):
    # An empty inventory: no way to manage the server, refused before any
    # device is attached, naming what is missing.
    inventory = os.path.join(os.path.dirname(engine.work_dir), "hosts.json")
    with open(inventory) as f:
        saved = f.read()
    try:
        with open(inventory, "w") as f:
            json.dump([], f)
        api = engine.api()
        instance = api.create_instance(CTX, "ee-none", "ee-gpu", "http://x/i.qcow2")
        got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
        assert got["instance"].status == states.ERROR
        message = got["fault"].message
        assert message.startswith("compose-node: "), message
        assert hosts[0]["mac"] in message and "node_inventory" in message
        assert sim.state.nodes == {}
        assert _devices_in_use(sim) == []
        api.delete_instance(CTX, instance.uuid)
        harness.wait_status(api, instance.uuid, {states.DELETED})
    finally:
        with open(inventory, "w") as f:
            f.write(saved)
