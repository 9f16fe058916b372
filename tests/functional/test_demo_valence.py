"""``mogan-valence demo`` against a Valence it did not start: a
``mogan-valence-simulator --backend expether`` process, as an operator's own
Valence would be, then the demo's embedded expether backend, and the one-line
errors of a Valence it cannot use."""

import json
import os
import signal
import subprocess

import pytest
import requests

from mogan_valence.cli import valence_choice
from mogan_valence.localstack import ironic as local_ironic
from mogan_valence.simulator import redfish
from mogan_valence.simulator import state as simulator_state
from tests import base
from tests.functional import harness

PODM = simulator_state.DEFAULT_PODM_UUID
BMC_PASSWORD = "s3cret-bmc-pw"
DONE = "done: nothing left composed or enrolled"


@pytest.fixture(autouse=True)
def needs_ironic():
    if not local_ironic.available():
        what = "the ironic package is not installed"
        if base.REQUIRE_SERVICES:
            pytest.fail(what)
        pytest.skip(what)


class SimulatorProcess:
    """``mogan-valence-simulator --backend expether --write-inventory F``."""

    def __init__(self, tmp_path):
        self.inventory = str(tmp_path / "inventory.json")
        port = redfish.free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [
                harness._bin("mogan-valence-simulator"),
                "--backend",
                "expether",
                "--systems",
                "2",
                "--write-inventory",
                self.inventory,
                "--port",
                str(port),
                "--redfish-port",
                str(redfish.free_port()),
                "--redfish-password",
                BMC_PASSWORD,
                "--redfish-power-delay",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        line = self.proc.stdout.readline()
        if "ready" not in line:
            self.stop()
            raise AssertionError(
                f"the simulator did not start: {self.proc.stderr.read()}"
            )

    def get(self, path: str):
        answer = requests.get(f"{self.url}{path}", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def valence(tmp_path):
    sim = SimulatorProcess(tmp_path)
    yield sim
    sim.stop()


def demo(tmp_path, *args, timeout=300):
    """``mogan-valence demo ARGS`` with its temporary directory under
    ``tmp_path/tmp``."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["TMPDIR"] = str(tmp)
    return subprocess.run(
        [harness._bin("mogan-valence"), "demo", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_demo_composes_with_an_existing_expether_valence(tmp_path, valence):
    # The inventory the simulator wrote names its hosts as /admin/hosts does.
    with open(valence.inventory) as f:
        written = json.load(f)
    hosts = valence.get("/admin/hosts")
    assert [(e["eesv"], e["mac"]) for e in written] == [
        (h["eesv"], h["mac"]) for h in hosts
    ]
    assert {e["driver"] for e in written} == {"redfish"}
    # NOTE: the same hosts, managed as fake-hardware nodes: the demo's boot
    # image is not a real ISO the Redfish emulator could boot (see
    # valence_choice.EMBEDDED_HOST_DRIVER).
    inventory = tmp_path / "fake-inventory.json"
    inventory.write_text(json.dumps(valence_choice.inventory_entries(written)))

    done = demo(
        tmp_path,
        "--valence-url",
        valence.url,
        "--podm-id",
        PODM,
        "--node-inventory",
        str(inventory),
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert f"pod manager {PODM}" in out and "expether nodes" in out
    assert "{'pci_devices': ['GPU']}" in out
    assert "server ACTIVE" in out
    assert DONE in out
    assert "started the Valence simulator" not in out  # it used ours
    # Nothing is left composed, and every device went back to the pool.
    assert valence.get("/v1/nodes") == []
    devices = valence.get("/v1/devices")
    assert devices and {d["state"] for d in devices} == {"free"}
    # No BMC password reached the output, and the work directory is gone.
    assert BMC_PASSWORD not in out + done.stderr
    assert list((tmp_path / "tmp").iterdir()) == []


def test_demo_with_the_embedded_expether_backend(tmp_path):
    done = demo(tmp_path, "--backend", "expether")
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "expether backend" in out
    assert "ExpEther hosts (fake-hardware)" in out
    assert "{'pci_devices': ['GPU']}" in out
    assert DONE in out
    assert list((tmp_path / "tmp").iterdir()) == []


def test_an_unreachable_valence_is_one_line(tmp_path):
    done = demo(
        tmp_path, "--valence-url", "http://127.0.0.1:1", "--podm-id", PODM, timeout=60
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"Valence at http://127.0.0.1:1 is unreachable (no answer to GET "
        f"/v1/pod_managers/{PODM}); check --valence-url"
    ], done.stderr
    assert list((tmp_path / "tmp").iterdir()) == []


def test_an_unknown_pod_manager_is_one_line(tmp_path, valence):
    unknown = "00000000-0000-4000-8000-000000000000"
    done = demo(
        tmp_path, "--valence-url", valence.url, "--podm-id", unknown, timeout=60
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"Valence at {valence.url} has no pod manager {unknown}; check --podm-id "
        "(GET /v1/pod_managers lists them)"
    ]
    assert list((tmp_path / "tmp").iterdir()) == []
    assert valence.get("/v1/nodes") == []
