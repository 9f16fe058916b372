"""A composed system is managed at its own URL: power, boot and virtual media
go to the BMC of its Compute block."""

import pytest

from tests.unit.simulator.composition.helpers import specific


@pytest.fixture
def system(client):
    r = client.post(
        "/redfish/v1/Systems",
        json={
            **specific("m", "ComputeBlock1"),
            "Boot": {"BootSourceOverrideTarget": "Pxe"},
        },
    )
    assert r.status_code == 201
    return r.json()


def test_power_boot_and_virtual_media(client, system):
    uri = system["@odata.id"]
    assert system["Boot"]["BootSourceOverrideTarget"] == "Pxe"
    target = system["Actions"]["#ComputerSystem.Reset"]["target"]
    assert target == f"{uri}/Actions/ComputerSystem.Reset"
    assert client.post(target, json={"ResetType": "On"}).status_code == 204
    assert client.get(uri).json()["PowerState"] == "On"
    boot = {
        "Boot": {"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once"}
    }
    assert client.patch(uri, json=boot).status_code == 204
    assert client.get(uri).json()["Boot"]["BootSourceOverrideTarget"] == "Cd"

    manager_uri = system["Links"]["ManagedBy"][0]["@odata.id"]
    assert manager_uri == f"/redfish/v1/Managers/{system['Id']}"
    manager = client.get(manager_uri).json()
    assert manager["Id"] == system["Id"]
    assert manager["Links"]["ManagerForServers"] == [{"@odata.id": uri}]
    media = client.get(manager["VirtualMedia"]["@odata.id"]).json()["Members"]
    cd = client.get(media[0]["@odata.id"]).json()
    insert = cd["Actions"]["#VirtualMedia.InsertMedia"]["target"]
    assert insert.startswith(uri)
    assert client.post(insert, json={"Image": "http://x/boot.iso"}).status_code == 204
    assert client.get(media[0]["@odata.id"]).json()["Inserted"] is True

    # A decompose leaves the board off and its media ejected.
    assert client.delete(uri).status_code == 204
    bmc = client.sim.app.bmc
    bmc_uuid = client.sim.pod.block("ComputeBlock1").bmc_uuid
    assert (
        bmc.request("GET", f"/redfish/v1/Systems/{bmc_uuid}")[2]["PowerState"] == "Off"
    )
    cd = bmc.request("GET", f"/redfish/v1/Systems/{bmc_uuid}/VirtualMedia/Cd")[2]
    assert cd["Inserted"] is False


def test_managers_lists_composed_only(client, system):
    members = client.get("/redfish/v1/Managers").json()["Members"]
    assert members == [{"@odata.id": f"/redfish/v1/Managers/{system['Id']}"}]
