"""The redfish path end to end: Ironic's redfish driver manages the composed
system through sushy-tools' emulator (ramdisk deploy of a small boot ISO)."""

import os

import pytest
import requests

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from tests import fixtures as mv_fixtures
from tests.functional import harness

CTX = mv_context.get_admin_context()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with mv_fixtures.running_simulator(
        str(tmp_path_factory.mktemp("valence-rf")),
        systems=2,
        with_redfish=True,
        redfish_password="s3cret-rf-pw",
    ) as fixture:
        yield fixture


@pytest.fixture(scope="module")
def engine(tmp_path_factory, transport_url, ironic, sim):
    emulator = sim.sim.emulator
    extra = harness.valence_section(
        sim.url,
        "composed-redfish",
        driver="redfish",
        redfish_address=emulator.url,
        redfish_username=emulator.username,
        redfish_password=emulator.password,
        redfish_verify_ca=False,
        retries=0,
    )
    proc = harness.EngineProcess(
        str(tmp_path_factory.mktemp("engine-rf")),
        transport_url,
        ironic.url,
        extensions="valence",
        extra=extra,
    )
    proc.start()
    yield proc
    proc.stop()


def test_composed_instance_over_redfish(ironic, sim, engine, iso_url):
    api = engine.api()
    api.create_flavor(CTX, "rf-small", composition={"cpu_cores": 4, "ram_mib": 8192})
    instance = api.create_instance(CTX, "rf-1", "rf-small", iso_url)
    got = harness.wait_status(
        api, instance.uuid, {states.ACTIVE, states.ERROR}, timeout=300
    )
    assert got["instance"].status == states.ACTIVE, (
        got["fault"] and got["fault"].message
    )
    node_uuid = got["instance"].node_uuid
    node = ironic.client().node.get(node_uuid)
    assert node.driver == "redfish"
    assert node.deploy_interface == "ramdisk"
    assert node.power_state == "power on"
    assert node.provision_state == "active"
    # The emulator's system is the composed one, and Ironic booted it.
    system_path = sim.state.pod.system(sim.state.nodes[node_uuid]["system_id"]).path
    emulator = sim.sim.emulator
    system = requests.get(
        f"{emulator.url}{system_path}",
        timeout=10,
        auth=(emulator.username, emulator.password),
    ).json()
    assert system["PowerState"] == "On"
    # The password is stored in Ironic, never echoed back.
    assert node.driver_info["redfish_password"] != emulator.password

    api.delete_instance(CTX, instance.uuid)
    got = harness.wait_status(
        api, instance.uuid, {states.DELETED, states.ERROR}, timeout=300
    )
    assert got["instance"].status == states.DELETED, (
        got["fault"] and got["fault"].message
    )
    assert sim.state.nodes == {}
    assert ironic.client().node.list(resource_class="composed-redfish") == []
    # The BMC password never reaches the engine's log (it runs with debug on).
    with open(os.path.join(engine.work_dir, "engine.log")) as log:
        assert emulator.password not in log.read()
