"""The operator CLI against a mocked REST API (requests-mock): output
formats, name resolution, the error envelope, --wait, quotas."""

import io
import json

import pytest
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from osc_lib import exceptions as osc_exc

from mogan_valence.cli import client as cli_client
from mogan_valence.cli import flavors
from mogan_valence.cli import shell

API = "http://api.example:6688/v1"
FLAVOR = {
    "uuid": "5b6d1f3c-9a4b-4d61-8f4e-0c1a2b3c4d5e",
    "name": "c16",
    "description": None,
    "is_public": True,
    "disabled": False,
    "resources": {},
    "composition": {"cpu_cores": 16},
    "links": [],
}
SERVER_UUID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"


def server(status="active", **kw):
    body = {
        "uuid": SERVER_UUID,
        "name": "web-1",
        "description": None,
        "status": status,
        "power_state": "power on",
        "flavor_uuid": FLAVOR["uuid"],
        "image_uuid": "http://images.example.com/i.qcow2",
        "composed": True,
        "metadata": {},
        "addresses": {},
        "links": [],
        "steps": [
            {"op": "create", "step": "compose-node", "seconds": 0.1, "outcome": "ok"}
        ],
        "updated_at": "2024-01-01T00:00:00",
    }
    body.update(kw)
    return body


def envelope(message, code="Client"):
    inner = {"faultcode": code, "faultstring": message, "debuginfo": None}
    return {"error_message": json.dumps(inner)}


def run(*argv):
    """(exit code, stdout, stderr) of ``mogan-valence --os-endpoint API argv``."""
    out, err = io.StringIO(), io.StringIO()
    app = shell.MoganValenceShell(["--os-endpoint", API, *argv])
    app.stdout, app.stderr = out, err
    code = app.run(["--os-endpoint", API, *argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def no_cloud_env(monkeypatch, tmp_path):
    for name in ("OS_CLOUD", "OS_AUTH_URL", "OS_ENDPOINT", "MOGAN_VALENCE_API"):
        monkeypatch.delenv(name, raising=False)
    # No clouds.yaml of the machine running the tests.
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "none.yaml"))
    monkeypatch.setattr("time.sleep", lambda s: None)


# -- composition -----------------------------------------------------------


def test_parse_composition_json_and_pairs():
    assert flavors.parse_composition(['{"cpu_cores": 4, "pci_devices": ["NIC"]}']) == {
        "cpu_cores": 4,
        "pci_devices": ["NIC"],
    }
    assert flavors.parse_composition(
        ["cpu_cores=16", "ram_mib=65536", "disk_type=SSD", 'pci_devices=["NIC"]']
    ) == {"cpu_cores": 16, "ram_mib": 65536, "disk_type": "SSD", "pci_devices": ["NIC"]}
    assert flavors.parse_composition([]) is None


def test_parse_composition_bad_input_is_named():
    with pytest.raises(osc_exc.CommandError, match="not valid JSON"):
        flavors.parse_composition(["{nope"])
    with pytest.raises(osc_exc.CommandError, match="KEY=VALUE"):
        flavors.parse_composition(["cores"])


# -- formats ---------------------------------------------------------------


def test_flavor_list_formats(requests_mock):
    requests_mock.get(f"{API}/flavors", json={"flavors": [FLAVOR]})
    code, out, err = run("flavor", "list", "-f", "json")
    assert code == 0
    [row] = json.loads(out)
    assert row["name"] == "c16"
    assert row["composition"] == {"cpu_cores": 16}  # structure kept in JSON

    code, out, err = run("flavor", "list")
    assert code == 0
    assert "| uuid" in out.splitlines()[1]
    assert '{"cpu_cores": 16}' in out

    code, out, err = run("flavor", "list", "-f", "value", "-c", "name")
    assert out == "c16\n"
    code, out, err = run("flavor", "list", "-f", "csv", "-c", "uuid", "-c", "name")
    assert out.splitlines() == ['"uuid","name"', f'"{FLAVOR["uuid"]}","c16"']
    code, out, err = run("flavor", "list", "-f", "yaml", "-c", "name")
    assert out.strip() == "- name: c16"


def test_server_show_by_uuid_one_column(requests_mock):
    requests_mock.get(f"{API}/servers/{SERVER_UUID}", json=server())
    code, out, err = run("server", "show", SERVER_UUID, "-c", "status", "-f", "value")
    assert (code, out) == (0, "active\n")
    code, out, err = run("server", "show", SERVER_UUID, "-f", "json")
    shown = json.loads(out)
    assert shown["steps"][0]["step"] == "compose-node"
    assert "links" not in shown
    code, out, err = run("server", "show", SERVER_UUID)
    assert "create compose-node 0.10s ok" in out


def test_server_list_long_all_projects_follows_pages(requests_mock):
    other = server(uuid="11111111-2222-4333-8444-555555555555", name="web-2")
    requests_mock.get(
        f"{API}/servers/detail?all_tenants=True",
        [{"json": {"servers": [server()]}}],
        complete_qs=True,
    )
    requests_mock.get(
        f"{API}/servers/detail?all_tenants=True&marker={SERVER_UUID}",
        json={"servers": [other]},
        complete_qs=True,
    )
    requests_mock.get(
        f"{API}/servers/detail?all_tenants=True&marker={other['uuid']}",
        json={"servers": []},
        complete_qs=True,
    )
    code, out, err = run("server", "list", "--long", "--all-projects", "-f", "json")
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["web-1", "web-2"]
    assert "flavor_uuid" in rows[0]


# -- names -----------------------------------------------------------------


def test_flavor_by_name_after_a_404(requests_mock):
    requests_mock.get(f"{API}/flavors/c16", status_code=404, json=envelope("not found"))
    requests_mock.get(f"{API}/flavors", json={"flavors": [FLAVOR]})
    requests_mock.get(f"{API}/flavors/{FLAVOR['uuid']}", json=FLAVOR)
    created = requests_mock.post(
        f"{API}/servers", status_code=201, json=server("building")
    )
    code, out, err = run(
        "server",
        "create",
        "web-1",
        "--flavor",
        "c16",
        "--image",
        "http://i/x.qcow2",
        "-f",
        "json",
    )
    assert code == 0, out
    assert created.last_request.json() == {
        "server": {
            "name": "web-1",
            "image_uuid": "http://i/x.qcow2",
            "flavor_uuid": FLAVOR["uuid"],
        }
    }
    assert json.loads(out)["status"] == "building"


def test_unknown_and_ambiguous_names(requests_mock):
    requests_mock.get(f"{API}/flavors/nope", status_code=404, json=envelope("x"))
    requests_mock.get(f"{API}/flavors/c16", status_code=404, json=envelope("x"))
    twin = dict(FLAVOR, uuid="99999999-8888-4777-8666-555555555555")
    requests_mock.get(f"{API}/flavors", json={"flavors": [FLAVOR, twin]})
    code, _, err = run("flavor", "show", "nope")
    assert code == 1
    assert "No flavor with a name or UUID of 'nope' exists." in err
    code, _, err = run("flavor", "show", "c16")
    assert code == 1
    assert "More than one flavor exists with the name 'c16'" in err


# -- errors ----------------------------------------------------------------


def test_error_envelope_is_one_line_exit_1(requests_mock):
    requests_mock.post(
        f"{API}/flavors",
        status_code=400,
        json=envelope("Invalid composition: 'cpu_cores' must be an integer"),
    )
    code, out, err = run("flavor", "create", "bad", "--composition", "cpu_cores=x")
    assert code == 1
    assert out == ""
    logged = err
    assert "Invalid composition: 'cpu_cores' must be an integer (HTTP 400)" in logged
    assert "Traceback" not in logged
    assert requests_mock.last_request.json() == {
        "name": "bad",
        "is_public": True,
        "resources": {},
        "composition": {"cpu_cores": "x"},
    }


def test_error_bodies_other_than_the_envelope(requests_mock):
    requests_mock.get(
        f"{API}/flavors",
        status_code=401,
        json={
            "error": {
                "code": 401,
                "message": "The request you have made requires authentication.",
            }
        },
    )
    code, _, err = run("flavor", "list")
    assert code == 1
    assert "requires authentication. (HTTP 401)" in err
    requests_mock.get(f"{API}/flavors", status_code=502, text="Bad gateway")
    code, _, err = run("flavor", "list")
    assert code == 1
    assert "Bad gateway (HTTP 502)" in err


def test_no_api_given_says_how():
    app = shell.MoganValenceShell(["flavor", "list"])
    app.stderr = io.StringIO()
    assert app.run(["flavor", "list"]) == 1
    assert "give --os-endpoint URL" in app.stderr.getvalue()


# -- waits -----------------------------------------------------------------


def test_create_wait_prints_progress_and_ends_active(requests_mock):
    requests_mock.get(f"{API}/flavors/{FLAVOR['uuid']}", json=FLAVOR)
    requests_mock.post(f"{API}/servers", status_code=201, json=server("building"))
    requests_mock.get(
        f"{API}/servers/{SERVER_UUID}",
        [
            {"json": server("building")},
            {"json": server("building")},
            {"json": server()},
        ],
    )
    code, out, err = run(
        "server",
        "create",
        "web-1",
        "--flavor",
        FLAVOR["uuid"],
        "--image",
        "http://i/x.qcow2",
        "--wait",
        "-c",
        "status",
        "-f",
        "value",
    )
    assert (code, out) == (0, "active\n")
    assert err.splitlines() == ["web-1: building", "web-1: active, power on"]


def test_create_wait_error_names_the_fault(requests_mock):
    requests_mock.get(f"{API}/flavors/{FLAVOR['uuid']}", json=FLAVOR)
    requests_mock.post(f"{API}/servers", status_code=201, json=server("building"))
    failed = server(
        "error", fault={"message": "compose-node: no capacity", "created_at": "t"}
    )
    requests_mock.get(f"{API}/servers/{SERVER_UUID}", json=failed)
    code, out, err = run(
        "server",
        "create",
        "web-1",
        "--flavor",
        FLAVOR["uuid"],
        "--image",
        "http://i/x.qcow2",
        "--wait",
    )
    assert code == 1
    assert "went to ERROR: compose-node: no capacity" in err


def test_delete_wait_until_gone(requests_mock):
    requests_mock.get(
        f"{API}/servers/{SERVER_UUID}",
        [
            {"json": server()},
            {"json": server("deleting")},
            {"status_code": 404, "json": envelope("gone")},
        ],
    )
    deleted = requests_mock.delete(f"{API}/servers/{SERVER_UUID}", status_code=204)
    code, _, err = run("server", "delete", SERVER_UUID, "--wait")
    assert code == 0
    assert deleted.called
    assert err.splitlines() == ["web-1: deleting"]


def test_delete_force_release_asks_the_api_for_it(requests_mock):
    requests_mock.get(f"{API}/servers/{SERVER_UUID}", json=server())
    deleted = requests_mock.delete(f"{API}/servers/{SERVER_UUID}", status_code=204)
    assert run("server", "delete", SERVER_UUID)[0] == 0
    assert deleted.last_request.qs == {}
    assert run("server", "delete", "--force-release", SERVER_UUID)[0] == 0
    assert deleted.last_request.qs == {"force_release": ["true"]}


def test_delete_wait_error_exit_1(requests_mock):
    failed = server(
        "error", fault={"message": "undeploy: clean failed", "created_at": "t"}
    )
    requests_mock.get(f"{API}/servers/{SERVER_UUID}", json=failed)
    requests_mock.delete(f"{API}/servers/{SERVER_UUID}", status_code=204)
    code, _, err = run("server", "delete", SERVER_UUID, "--wait")
    assert code == 1
    assert "undeploy: clean failed" in err


def test_power_off_wait(requests_mock):
    requests_mock.get(
        f"{API}/servers/{SERVER_UUID}",
        [
            {"json": server()},
            {"json": server()},
            {"json": server(power_state="power off")},
        ],
    )
    power = requests_mock.put(
        f"{API}/servers/{SERVER_UUID}/states/power", status_code=202
    )
    code, _, err = run("server", "power", "off", SERVER_UUID, "--wait")
    assert code == 0
    assert power.last_request.json() == {"target": "off"}
    code, _, err = run("server", "power", "reboot", SERVER_UUID, "--soft")
    assert power.last_request.json() == {"target": "soft_reboot"}


# -- flavors ---------------------------------------------------------------


def test_flavor_create_set_access(requests_mock):
    created = requests_mock.post(f"{API}/flavors", status_code=201, json=FLAVOR)
    code, _, err = run(
        "flavor",
        "create",
        "bm",
        "--resource",
        "baremetal",
        "--trait",
        "CUSTOM_X",
        "--description",
        "d",
        "--private",
    )
    assert code == 0
    assert created.last_request.json() == {
        "name": "bm",
        "is_public": False,
        "resources": {"baremetal": 1},
        "resource_traits": {"CUSTOM_X": "required"},
        "description": "d",
    }
    requests_mock.get(f"{API}/flavors/{FLAVOR['uuid']}", json=FLAVOR)
    patched = requests_mock.patch(f"{API}/flavors/{FLAVOR['uuid']}", json=FLAVOR)
    assert run("flavor", "set", FLAVOR["uuid"], "--name", "c32", "--disable")[0] == 0
    assert patched.last_request.json() == [
        {"op": "replace", "path": "/name", "value": "c32"},
        {"op": "replace", "path": "/disabled", "value": True},
    ]
    added = requests_mock.post(
        f"{API}/flavors/{FLAVOR['uuid']}/access", status_code=204
    )
    assert run("flavor", "access", "add", FLAVOR["uuid"], "p1")[0] == 0
    assert added.last_request.json() == {"tenant_id": "p1"}
    requests_mock.get(
        f"{API}/flavors/{FLAVOR['uuid']}/access", json={"flavor_access": ["p1"]}
    )
    code, out, err = run("flavor", "access", "list", FLAVOR["uuid"], "-f", "value")
    assert out == "p1\n"
    removed = requests_mock.delete(
        f"{API}/flavors/{FLAVOR['uuid']}/access/p1", status_code=204
    )
    assert run("flavor", "access", "remove", FLAVOR["uuid"], "p1")[0] == 0
    assert removed.called


# -- quotas ----------------------------------------------------------------

QUOTA = {
    "quota": {
        "servers": {"limit": 10, "in_use": 2},
        "cores": {"limit": 64, "in_use": 32},
        "ram_mib": {"limit": 262144, "in_use": 131072},
        "disk_gb": {"limit": 2000, "in_use": 1000},
    }
}


def test_quota_show_and_set(requests_mock):
    requests_mock.get(f"{API}/quotas/p1", json=QUOTA)
    code, out, err = run("quota", "show", "p1", "-f", "json")
    assert code == 0
    assert json.loads(out)[0] == {"resource": "servers", "limit": 10, "in_use": 2}
    put = requests_mock.put(f"{API}/quotas/p1", json=QUOTA)
    code, out, err = run("quota", "set", "p1", "--servers", "20", "--ram-mib", "1024")
    assert code == 0
    assert put.last_request.json() == {"quota": {"servers": 20, "ram_mib": 1024}}
    code, _, err = run("quota", "set", "p1")
    assert code == 1
    assert "nothing to set" in err
    code, _, err = run("quota", "set", "p1", "--default", "cores", "--servers", "3")
    assert code == 0
    assert put.last_request.json() == {"quota": {"servers": 3, "cores": None}}
    code, _, err = run("quota", "set", "p1", "--default", "servers", "--servers", "3")
    assert code == 1
    assert "not both" in err
    # Without Keystone the caller's project is unknown.
    code, _, err = run("quota", "show")
    assert code == 1
    assert "give a PROJECT" in err


# -- demo and standalone: which Valence --------------------------------------

VALENCE = "http://valence.example:8181"
PODM = "13627827-fbb1-5d25-8dd2-480308d3db0c"


def _podm(driver):
    return {
        "uuid": PODM,
        "name": "podm1",
        "driver": driver,
        "url": "http://eem.example:30500",
        "authentication": [
            {"type": "basic", "auth_items": {"username": "u", "password": "pw"}}
        ],
    }


@pytest.fixture
def tmp_dirs(monkeypatch, tmp_path):
    """The demo's and standalone's temporary directories go here."""
    import tempfile

    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


@pytest.mark.parametrize("command", ["demo", "standalone"])
@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--valence-url", VALENCE], "--podm-id is required with --valence-url"),
        (["--valence-url", VALENCE, "--podm-id", " "], "--podm-id is required"),
        (["--podm-id", PODM], "--podm-id goes with --valence-url"),
        (["--node-inventory", "inv.yaml"], "--node-inventory goes with --valence-url"),
        (
            ["--valence-url", "valence:8181", "--podm-id", PODM],
            "--valence-url valence:8181 is not an http(s) URL",
        ),
        (
            ["--valence-url", VALENCE, "--podm-id", PODM, "--backend", "expether"],
            "--backend chooses the embedded simulator's driver",
        ),
        (
            ["--valence-url", VALENCE, "--podm-id", PODM, "--node-inventory", "/nx"],
            "--node-inventory /nx: no such file",
        ),
    ],
)
def test_valence_options_are_checked_first(command, argv, expected, tmp_dirs):
    code, out, err = run(command, *argv)
    assert code == 1
    assert out == ""
    assert expected in err
    assert len(err.strip().splitlines()) == 1, err
    assert list(tmp_dirs.iterdir()) == []  # nothing started, nothing left


def test_backend_is_a_choice():
    with pytest.raises(SystemExit):
        run("demo", "--backend", "redfish")


def test_demo_preset_composes_nothing(tmp_dirs):
    code, _, err = run("demo", "--preset", "--backend", "expether")
    assert code == 1
    assert "--preset deploys on an existing node" in err


def test_valence_options_error_accepts_good_choices():
    from mogan_valence.cli import valence_choice

    assert valence_choice.valence_options_error(None, None, None, None) is None
    assert valence_choice.valence_options_error(None, None, None, "expether") is None
    assert valence_choice.valence_options_error(VALENCE, PODM, None, None) is None
    # Credentials in the URL never reach the message.
    error = valence_choice.valence_options_error(
        "ftp://admin:s3cret@valence", PODM, None, None
    )
    assert "s3cret" not in error and "is not an http(s) URL" in error


@pytest.mark.parametrize("command", ["demo", "standalone"])
def test_unreachable_valence_is_one_line(command, tmp_dirs):
    code, out, err = run(
        command, "--valence-url", "http://127.0.0.1:1", "--podm-id", PODM
    )
    assert code == 1
    assert (
        f"Valence at http://127.0.0.1:1 is unreachable (no answer to GET "
        f"/v1/pod_managers/{PODM}); check --valence-url"
    ) in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert list(tmp_dirs.iterdir()) == []


def test_unknown_pod_manager_is_one_line(requests_mock, tmp_dirs):
    requests_mock.get(
        f"{VALENCE}/v1/pod_managers/{PODM}",
        status_code=404,
        json={
            "request_id": "x",
            "code": "404",
            "status": 404,
            "title": "Not Found",
            "detail": f"Pod Manager {PODM} not found in database.",
        },
    )
    code, out, err = run("demo", "--valence-url", VALENCE, "--podm-id", PODM)
    assert code == 1
    assert f"Valence at {VALENCE} has no pod manager {PODM}; check --podm-id" in err
    assert len(err.strip().splitlines()) == 1, err
    assert list(tmp_dirs.iterdir()) == []


def _stack(tmp_path, **kw):
    from mogan_valence.cli import standalone

    said = []
    stack = standalone.EmbeddedStack(
        str(tmp_path), said.append, valence_url=VALENCE, podm_id=PODM, **kw
    )
    return stack, said


@pytest.mark.parametrize(
    "driver, composition",
    [
        ("expether", {"pci_devices": ["GPU"]}),
        (
            "redfishv1",
            {"cpu_cores": 16, "ram_mib": 65536, "disk_gb": 500, "disk_type": "SSD"},
        ),
        (None, {"cpu_cores": 16, "ram_mib": 65536, "disk_gb": 500, "disk_type": "SSD"}),
    ],
)
def test_composition_fits_the_pod_managers_driver(
    driver, composition, requests_mock, tmp_path
):
    requests_mock.get(f"{VALENCE}/v1/pod_managers/{PODM}", json=_podm(driver))
    stack, said = _stack(tmp_path)
    stack.check_valence()
    assert stack.composition == composition
    assert stack.enroll_driver == "fake-hardware"  # no inventory: as before
    assert "pw" not in " ".join(said)
    # Read once.
    stack.check_valence()
    assert requests_mock.call_count == 1


def test_an_inventory_makes_redfish_the_fallback(requests_mock, tmp_path):
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        "- mac: '8c:df:9d:53:a0:01'\n"
        "  driver: redfish\n"
        "  driver_info: {redfish_address: 'https://bmc', redfish_password: s3cret}\n"
    )
    requests_mock.get(f"{VALENCE}/v1/pod_managers/{PODM}", json=_podm("expether"))
    stack, _ = _stack(tmp_path, node_inventory=str(inv))
    stack.check_valence()
    assert stack.enroll_driver == "redfish"
    assert stack.node_inventory == str(inv)


def test_an_inventory_for_an_rsd_pod_manager_is_refused(requests_mock, tmp_path):
    from mogan_valence.cli import valence_choice

    inv = tmp_path / "inventory.json"
    inv.write_text("[]")
    requests_mock.get(f"{VALENCE}/v1/pod_managers/{PODM}", json=_podm("redfishv1"))
    stack, _ = _stack(tmp_path, node_inventory=str(inv))
    with pytest.raises(valence_choice.ValenceUnusable, match="leave --node-inventory"):
        stack.check_valence()


def test_a_bad_inventory_never_shows_its_values(requests_mock, tmp_dirs, tmp_path):
    inv = tmp_path / "inventory.yaml"
    inv.write_text("- driver: redfish\n  driver_info: {redfish_password: s3cret}\n")
    code, _, err = run(
        "demo",
        "--valence-url",
        VALENCE,
        "--podm-id",
        PODM,
        "--node-inventory",
        str(inv),
    )
    assert code == 1
    assert "node_inventory" in err and "names no host" in err
    assert "s3cret" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert not requests_mock.called  # refused before asking Valence


def test_embedded_expether_inventory_has_no_credentials():
    from mogan_valence.cli import valence_choice

    hosts = [
        {
            "eesv": "0x1",
            "mac": "8c:df:9d:53:a0:01",
            "host_serial_number": "S1",
            "driver": "redfish",
            "driver_info": {"redfish_password": "s3cret"},
        }
    ]
    [entry] = valence_choice.inventory_entries(hosts)
    assert entry == {
        "eesv": "0x1",
        "mac": "8c:df:9d:53:a0:01",
        "host_serial_number": "S1",
        "driver": "fake-hardware",
        "driver_info": {},
        "deploy_interface": "fake",
        "boot_interface": "fake",
    }
    assert valence_choice.inventory_entries(hosts, driver="redfish") == hosts


def test_wait_timeout_on_the_command_line(requests_mock):
    requests_mock.get(f"{API}/servers/{SERVER_UUID}", json=server("deleting"))
    requests_mock.delete(f"{API}/servers/{SERVER_UUID}", status_code=204)
    code, _, err = run(
        "server", "delete", SERVER_UUID, "--wait", "--wait-timeout", "0.3"
    )
    assert code == 1
    assert "Timed out after 0.3s waiting for server web-1" in err


def test_wait_timeout_names_the_server_and_its_last_status(requests_mock):
    requests_mock.get(f"{API}/servers/{SERVER_UUID}", json=server("deleting"))
    api = cli_client.ApiClient(ks_session.Session(auth=noauth.NoAuth()), API)
    err = io.StringIO()
    with pytest.raises(osc_exc.CommandError) as e:
        api.wait_for_server(
            SERVER_UUID,
            {cli_client.GONE, "error"},
            0.3,
            "server web-1 to be deleted",
            out=err,
        )
    assert str(e.value) == (
        "Timed out after 0.3s waiting for server web-1 to be deleted; "
        "last status: deleting"
    )
    assert err.getvalue() == "web-1: deleting\n"


def test_power_wait_ends_on_a_new_fault(requests_mock):
    old = {"message": "deploy: earlier", "created_at": "t0"}
    new = {"message": "power off: BMC unreachable", "created_at": "t1"}
    requests_mock.get(
        f"{API}/servers/{SERVER_UUID}",
        [
            {"json": server(fault=old)},
            {"json": server(fault=old)},
            {"json": server(fault=new)},
        ],
    )
    requests_mock.put(f"{API}/servers/{SERVER_UUID}/states/power", status_code=202)
    code, _, err = run("server", "power", "off", SERVER_UUID, "--wait")
    assert code == 1
    assert "power off failed: power off: BMC unreachable" in err
