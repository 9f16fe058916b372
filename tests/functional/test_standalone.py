"""``mogan-valence standalone`` as a newcomer runs it: started as a
subprocess, its first line read, a composed server driven end to end with
python-moganclient 0.1.0, then SIGTERM: it exits and leaves nothing
running."""

import os
import signal
import subprocess
import time

import pytest
import requests
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from moganclient.v1 import client as mogan_client

from mogan_valence.localstack import ironic as local_ironic
from mogan_valence.localstack import keystone as local_keystone
from tests import base
from tests.functional import harness
from tests.functional import moganclient_steps as steps

IMAGE = "http://images.example.com/img.qcow2"
NET = "c1940655-8b8e-4370-b8f9-03ba1daeca31"
PREFIX = "MOGAN_VALENCE_API="


def _skip_or_fail(what: str):
    if base.REQUIRE_SERVICES:
        pytest.fail(what)
    pytest.skip(what)


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parents.setdefault(int(fields[1]), set()).add(int(entry))
            except OSError:
                continue
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), ()):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Standalone:
    def __init__(self, tmp_path, *args):
        self.err_path = tmp_path / "standalone.err"
        self.err = open(self.err_path, "w")
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["TMPDIR"] = str(tmp_path)
        self.tmp = tmp_path
        self.proc = subprocess.Popen(
            [harness._bin("mogan-valence"), "standalone", *args],
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
            env=env,
        )

    def first_line(self) -> str:
        line = self.proc.stdout.readline()
        assert line.startswith(PREFIX), (line, self.err_path.read_text())
        return line.strip()[len(PREFIX) :]

    def stderr(self) -> str:
        return self.err_path.read_text()

    def stop(self) -> tuple[int, set[int]]:
        """SIGTERM; (exit code, descendants still alive afterwards)."""
        children = _children(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        deadline = time.monotonic() + 10
        while {c for c in children if _alive(c)} and time.monotonic() < deadline:
            time.sleep(0.2)
        self.err.close()
        return code, {c for c in children if _alive(c)}

    def kill(self) -> None:
        if self.proc.poll() is None:
            for child in _children(self.proc.pid):
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.kill()
            self.proc.wait()


def _drive(mogan, session, url):
    """A composed server: create, ACTIVE, power off and on, delete."""
    flavor = next(f for f in mogan.flavor.list() if f.name == "composed.small")
    assert "preset.small" in [f.name for f in mogan.flavor.list()]
    server = mogan.server.create(
        name="newcomer-1",
        image_uuid=IMAGE,
        flavor_uuid=flavor.uuid,
        networks=[{"net_id": NET}],
    )
    shown = steps.wait_server(mogan, server.uuid, {"active", "error"})
    assert shown.status == "active", getattr(shown, "fault", None)
    assert shown.composed is True
    steps.power_off_and_on(mogan, session, url, server.uuid)
    steps.delete_and_wait_gone(mogan, server.uuid)


@pytest.fixture
def needs_ironic():
    if not local_ironic.available():
        _skip_or_fail("the ironic package is not installed")


def test_standalone_noauth(tmp_path, needs_ironic):
    stack = Standalone(tmp_path)
    try:
        url = stack.first_line()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        session = ks_session.Session(auth=noauth.NoAuth())
        mogan = mogan_client.Client(endpoint=url, session=session)
        _drive(mogan, session, url)
        # The CLI reaches it from the line it printed.
        listed = harness.cli(
            "flavor", "list", "-f", "value", "-c", "name", env={PREFIX[:-1]: url}
        )
        assert sorted(listed.stdout.split()) == ["composed.small", "preset.small"]
        code, left = stack.stop()
    finally:
        stack.kill()
    assert code == 0, stack.stderr()
    assert left == set(), f"still running after the stop: {left}"
    assert "composed.small" in stack.stderr()
    # Its temporary directory is gone.
    assert [p.name for p in tmp_path.iterdir()] == ["standalone.err"]
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_standalone_keystone(tmp_path, needs_ironic):
    if not local_keystone.available():
        _skip_or_fail("the keystone package is not installed")
    stack = Standalone(tmp_path, "--auth", "keystone")
    try:
        url = stack.first_line()
        # Without a token: 401.
        assert requests.get(f"{url}/flavors", timeout=30).status_code == 401
        # The credentials it printed.
        steps.poll(lambda: stack.stderr(), lambda text: "OS_PASSWORD=" in text, 30)
        exports = next(
            line for line in stack.stderr().splitlines() if "OS_AUTH_URL=" in line
        )
        creds = dict(item.split("=", 1) for item in exports.split() if "=" in item)
        auth = v3.Password(
            auth_url=creds["OS_AUTH_URL"],
            username=creds["OS_USERNAME"],
            password=creds["OS_PASSWORD"],
            project_name=creds["OS_PROJECT_NAME"],
            user_domain_id="default",
            project_domain_id="default",
        )
        session = ks_session.Session(auth=auth)
        # The catalog has the API as baremetal_compute.
        assert (
            session.get_endpoint(service_type="baremetal_compute", interface="public")
            == url
        )
        mogan = mogan_client.Client(endpoint=url, session=session)
        _drive(mogan, session, url)
        # The CLI with the OS_* variables, the endpoint from the catalog.
        listed = harness.cli(
            "server", "list", "-f", "json", env={k: v for k, v in creds.items()}
        )
        assert listed.stdout.strip() == "[]"
        code, left = stack.stop()
    finally:
        stack.kill()
    assert code == 0, stack.stderr()
    assert left == set(), f"still running after the stop: {left}"


def test_standalone_with_an_existing_expether_valence(tmp_path, needs_ironic):
    import json

    from mogan_valence.cli import valence_choice
    from tests.functional import test_demo_valence

    sim_dir = tmp_path / "sim"
    sim_dir.mkdir()
    valence = test_demo_valence.SimulatorProcess(sim_dir)
    try:
        with open(valence.inventory) as f:
            hosts = json.load(f)
        inventory = sim_dir / "fake-inventory.json"
        inventory.write_text(json.dumps(valence_choice.inventory_entries(hosts)))
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        stack = Standalone(
            run_dir,
            "--valence-url",
            valence.url,
            "--podm-id",
            test_demo_valence.PODM,
            "--node-inventory",
            str(inventory),
        )
        try:
            url = stack.first_line()
            session = ks_session.Session(auth=noauth.NoAuth())
            mogan = mogan_client.Client(endpoint=url, session=session)
            [flavor] = [f for f in mogan.flavor.list() if f.name == "composed.small"]
            shown = session.get(f"{url}/flavors/{flavor.uuid}").json()
            # The pod manager's driver chose the composition: PCIe devices.
            assert shown["composition"] == {"pci_devices": ["GPU"]}
            _drive(mogan, session, url)
            code, left = stack.stop()
        finally:
            stack.kill()
        assert code == 0, stack.stderr()
        assert left == set(), f"still running after the stop: {left}"
        assert "expether nodes" in stack.stderr()
        assert "started the Valence simulator" not in stack.stderr()
        assert valence.get("/v1/nodes") == []
        assert {d["state"] for d in valence.get("/v1/devices")} == {"free"}
    finally:
        valence.stop()
