"""Conformance case 18: ``POST /v1/nodes/<uuid>/register`` enrols a composed
node in the real (standalone) Ironic, through the Valence client."""

import uuid as uuidlib

import pytest
from ironicclient.common.apiclient import exceptions as ironic_exc

from mogan_valence.valence import exceptions as vexc
from tests import fixtures as mv_fixtures

PODM = mv_fixtures.PODM_ID
SMALL = {"memory": {"capacity_mib": "8192"}, "processor": {"total_cores": "4"}}


@pytest.fixture
def sim(tmp_path, ironic):
    with mv_fixtures.running_simulator(
        str(tmp_path), systems=2, ironic_url=ironic.url
    ) as fixture:
        yield fixture


@pytest.fixture
def ironic_client(ironic):
    client = ironic.client()
    made = []
    yield client, made
    for name in made:
        try:
            client.node.delete(name)
        except ironic_exc.NotFound:
            pass


def test_case_18_register_enrols_the_node_in_ironic(sim, ironic_client):
    ironic, made = ironic_client
    client = sim.client()
    name = f"reg-{uuidlib.uuid4().hex[:8]}"
    resource_class = f"reg-{uuidlib.uuid4().hex[:8]}"
    composed = client.compose_node(name, PODM, properties=SMALL)
    made.append(name)
    detail = client.get_node(composed["uuid"])

    record = client.register_node(
        composed["uuid"],
        driver_info={"redfish_verify_ca": False},
        extra={"composed_by": "test"},
        resource_class=resource_class,
    )

    assert record["managed_by"] == "ironic"
    assert record["uuid"] == composed["uuid"]
    assert {"name", "podm_id", "index", "resource_uri"} <= set(record)
    listed = client.list_nodes(name=name)
    assert [n["managed_by"] for n in listed] == ["ironic"]
    assert client.get_node(composed["uuid"])["managed_by"] == "ironic"

    node = ironic.node.get(name)
    podm = sim.state.get_pod_manager(PODM)
    assert node.driver == "redfish"
    assert node.resource_class == resource_class
    assert node.extra == {"composed_by": "test"}
    info = node.driver_info
    assert info["redfish_address"] == podm["url"]
    assert info["redfish_username"] == "admin"
    assert info["redfish_password"] == "******"  # Ironic masks it; it was set
    assert info["redfish_system_id"] == detail["computer_system"]
    assert info["redfish_verify_ca"] is False
    ports = ironic.port.list(node=node.uuid)
    assert [p.address for p in ports] == [detail["metadata"]["network"][0]["mac"]]

    # Ironic refuses a second node of the same name: Valence relays it.
    try:
        client.register_node(composed["uuid"])
    except vexc.ValenceError as e:
        assert e.status == 500
        assert "Unexpected error while registering node with Ironic" in e.detail
        assert name in e.detail
    else:
        raise AssertionError("a second register of the same node succeeded")


def test_case_18_unknown_node_after_the_driver_loads(sim):
    client = sim.client()
    with pytest.raises(vexc.ValenceNotFound):
        client.register_node("nope")
