"""mogan-valence-redfish-simulator as a process, with sushy-tools behind it,
driven by sushy 5.14 as the Redfish back-end and Ironic's redfish driver
drive a real composition service."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
import sushy
from sushy import auth as sushy_auth
from sushy import exceptions as sushy_exc
from sushy.resources.compositionservice import constants as cs_constants
from sushy.resources.compositionservice import resourceblock

from mogan_valence.simulator import redfish

PASSWORD = "s3cret-composition-pw"
BLOCKS = "/redfish/v1/CompositionService/ResourceBlocks"


class Process:
    def __init__(self, tmp_path, *args):
        self.port = redfish.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "simulator.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mogan_valence.cmd.redfish_simulator",
                    "--port",
                    str(self.port),
                    "--password",
                    PASSWORD,
                    "--power-delay",
                    "0",
                    "--compute-blocks",
                    "2",
                    *args,
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
        line = self.proc.stdout.readline()
        assert "ready" in line, self.log_path.read_text()

    def log(self) -> str:
        return self.log_path.read_text()

    def admin(self) -> dict:
        return requests.get(f"{self.url}/admin/state", timeout=10).json()

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(scope="module")
def image_url(iso_url):
    return iso_url


@pytest.fixture(scope="module")
def sync_sim(tmp_path_factory):
    process = Process(tmp_path_factory.mktemp("sync"))
    yield process
    process.kill()


@pytest.fixture
def root(sync_sim):
    conn = sushy.Sushy(sync_sim.url, auth=sushy_auth.BasicAuth("admin", PASSWORD))
    yield conn
    requests.post(f"{sync_sim.url}/admin/reset", timeout=30)


def blocks_of(root) -> dict:
    """The blocks by id, read as sushy can: its CompositionService's
    ``resource_blocks`` raises (it passes a method as the path), so the
    collection is built from the service's link."""
    cs = root.get_composition_service()
    with pytest.raises(AttributeError):
        cs.resource_blocks  # noqa: B018  (the sushy 5.14 defect, documented)
    collection = resourceblock.ResourceBlockCollection(
        root._conn,
        cs.json["ResourceBlocks"]["@odata.id"],
        redfish_version=root.redfish_version,
        root=root,
    )
    return {block.identity: block for block in collection.get_members()}


def wait_power(system, state, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        system.refresh()
        if system.power_state == state:
            return
        time.sleep(0.2)
    raise AssertionError(f"{system.path} did not reach {state}: {system.power_state}")


def test_lifecycle_as_ironic_drives_it(root, sync_sim, image_url):
    blocks = blocks_of(root)
    compute = blocks["ComputeBlock1"]
    assert (
        compute.composition_status.composition_state
        == cs_constants.COMPOSITION_STATE_UNUSED
    )
    assert compute.json["ResourceBlockType"] == ["Compute"]
    zone = compute.json["Links"]["Zones"][0]["@odata.id"]
    storage = next(
        b
        for b in blocks.values()
        if b.json["ResourceBlockType"] == ["Storage"]
        and b.json["Links"]["Zones"][0]["@odata.id"] == zone
    )
    body = {
        "Name": "mogan-6f1c",
        "Links": {
            "ResourceBlocks": [{"@odata.id": compute.path}, {"@odata.id": storage.path}]
        },
    }
    response = root._conn.post("/redfish/v1/Systems", data=body, blocking=True)
    assert response.status_code == 201
    location = response.headers["Location"]

    # A second compose of a busy block: sushy's HTTPError, 409 ResourceInUse.
    with pytest.raises(sushy_exc.HTTPError) as error:
        root._conn.post("/redfish/v1/Systems", data=body, blocking=True)
    assert error.value.status_code == 409
    assert error.value.code.endswith("ResourceInUse")

    # Ironic's redfish driver: the system at this very URL.
    system = root.get_system(location)
    assert system.system_type == sushy.SYSTEM_TYPE_COMPOSED
    assert system.name == "mogan-6f1c"
    assert system.power_state == sushy.SYSTEM_POWER_STATE_OFF
    assert system.ethernet_interfaces.summary  # MACs for the ports
    system.reset_system(sushy.RESET_ON)
    wait_power(system, sushy.SYSTEM_POWER_STATE_ON)
    system.set_system_boot_options(
        sushy.BOOT_SOURCE_TARGET_CD,
        enabled=sushy.BOOT_SOURCE_ENABLED_CONTINUOUS,
        mode=sushy.BOOT_SOURCE_MODE_UEFI,
    )
    system.refresh()
    assert system.boot.target == sushy.BOOT_SOURCE_TARGET_CD
    assert system.boot.mode == sushy.BOOT_SOURCE_MODE_UEFI

    manager = system.managers[0]
    assert manager.identity == system.identity
    media = next(
        m
        for m in manager.virtual_media.get_members()
        if sushy.VIRTUAL_MEDIA_CD in m.media_types
    )
    media.insert_media(image_url, inserted=True, write_protected=True)
    media.refresh()
    assert media.inserted is True
    assert media.image == image_url
    media.eject_media()
    media.refresh()
    assert media.inserted is False

    system.reset_system(sushy.RESET_FORCE_OFF)
    wait_power(system, sushy.SYSTEM_POWER_STATE_OFF)
    system.reset_system(sushy.RESET_ON)
    wait_power(system, sushy.SYSTEM_POWER_STATE_ON)

    response = root._conn.delete(location, blocking=True)
    assert response.status_code == 204
    with pytest.raises(sushy_exc.ResourceNotFoundError):
        root.get_system(location)
    compute.refresh()
    assert (
        compute.composition_status.composition_state
        == cs_constants.COMPOSITION_STATE_UNUSED
    )
    state = sync_sim.admin()
    assert state["systems"] == []
    assert all(b["state"] == "Unused" for b in state["blocks"])

    # The board went off with the decompose: a new system of it starts off.
    body["Links"]["ResourceBlocks"] = body["Links"]["ResourceBlocks"][:1]
    response = root._conn.post("/redfish/v1/Systems", data=body, blocking=True)
    again = root.get_system(response.headers["Location"])
    assert again.identity != system.identity
    assert again.power_state == sushy.SYSTEM_POWER_STATE_OFF


def test_constrained_compose_and_session_auth(sync_sim):
    root = sushy.Sushy(sync_sim.url, auth=sushy_auth.SessionAuth("admin", PASSWORD))
    try:
        body = {
            "Name": "mogan-constrained",
            "Processors": {
                "Members": [{"@Redfish.RequestedCount": 4, "TotalCores": 8}]
            },
            "Memory": {
                "Members": [{"@Redfish.RequestedCount": 4, "CapacityMiB": 16384}]
            },
        }
        response = root._conn.post("/redfish/v1/Systems", data=body, blocking=True)
        assert response.status_code == 201
        system = root.get_system(response.headers["Location"])
        assert system.system_type == sushy.SYSTEM_TYPE_COMPOSED
        assert system.json["ProcessorSummary"]["Count"] == 4
        assert root._conn.delete(system.path, blocking=True).status_code == 204
    finally:
        requests.post(f"{sync_sim.url}/admin/reset", timeout=30)


def test_async_mode_and_clean_stop(tmp_path):
    sim = Process(tmp_path, "--mode", "async", "--task-seconds", "1")
    try:
        root = sushy.Sushy(sim.url, auth=sushy_auth.BasicAuth("admin", PASSWORD))
        body = {
            "Name": "mogan-async",
            "Links": {"ResourceBlocks": [{"@odata.id": f"{BLOCKS}/ComputeBlock1"}]},
        }
        raw = requests.post(
            f"{sim.url}/redfish/v1/Systems",
            json=body,
            auth=("admin", PASSWORD),
            timeout=10,
        )
        assert raw.status_code == 202
        assert raw.content == b""
        monitor = root._conn.get(raw.headers["Location"])
        assert monitor.status_code == 202
        # sushy waits on the monitor (an HTTP-date Retry-After) to the end.
        started = time.monotonic()
        body["Links"]["ResourceBlocks"][0]["@odata.id"] = f"{BLOCKS}/ComputeBlock2"
        response = root._conn.post("/redfish/v1/Systems", data=body, blocking=True)
        assert time.monotonic() - started >= 0.9
        assert response.status_code == 201
        system = root.get_system(response.headers["Location"])
        assert system.system_type == sushy.SYSTEM_TYPE_COMPOSED
        system.reset_system(sushy.RESET_ON)
        wait_power(system, sushy.SYSTEM_POWER_STATE_ON)
        assert root._conn.delete(system.path, blocking=True).status_code == 204
        names = [s["name"] for s in sim.admin()["systems"]]
        assert names == ["mogan-async"]

        emulator = re.search(r"sushy-tools at (\S+)", sim.log()).group(1)
        sim.proc.send_signal(signal.SIGTERM)
        assert sim.proc.wait(timeout=30) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{emulator}/redfish/v1", timeout=2)
        assert PASSWORD not in sim.log()
    finally:
        sim.kill()
