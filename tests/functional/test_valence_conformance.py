"""One Valence contract, both simulator backends, a real simulator process.

Every test runs against ``mogan-valence-simulator --backend rsd`` and
``--backend expether`` (each a process with its Redfish emulator, started
once per module). What the two share is asserted once; where the real
server's drivers differ (node detail, no capacity, actions, devices, the
double allocation) the expectation is chosen per backend and says why.
"""

import concurrent.futures
import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from mogan_valence.simulator import redfish

PODM = "13627827-fbb1-5d25-8dd2-480308d3db0c"
ZERO = "00000000-0000-0000-0000-000000000000"
SYSTEMS = 2
DRIVER = {"rsd": "redfishv1", "expether": "expether"}
# Valence HEAD: null for redfishv1 (a stub); "Online" once the ExpEther
# manager answered.
STATUS = {"rsd": None, "expether": "Online"}
BRIEF_KEYS = {"uuid", "name", "index", "resource_uri"}
RECORD_KEYS = BRIEF_KEYS | {"podm_id", "created_at", "updated_at"}
EXPETHER_DETAIL_KEYS = RECORD_KEYS | {
    "description",
    "host_model",
    "host_serial_number",
    "mac_address",
    "pooled_group_id",
    "power_state",
    "serial_number",
    "type",
}
NIC = {"pci_device": {"type": ["NIC"]}}
LOCAL_DRIVES = {"local_drives": [{"capacity_gib": "100", "type": "SSD"}]}


class Sim:
    def __init__(self, backend: str, work: str):
        self.backend = backend
        self.inventory_path = os.path.join(work, "inventory.json")
        port = redfish.free_port()
        cmd = [
            sys.executable,
            "-m",
            "mogan_valence.cmd.simulator",
            "--backend",
            backend,
            "--port",
            str(port),
            "--redfish-port",
            str(redfish.free_port()),
            "--redfish-power-delay",
            "0",
            "--systems",
            str(SYSTEMS),
            "--state-dir",
            os.path.join(work, "state"),
        ]
        if backend == "expether":
            cmd += ["--write-inventory", self.inventory_path]
        self.stderr = open(os.path.join(work, "simulator.log"), "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            start_new_session=True,
        )
        line = self.proc.stdout.readline()
        if "ready" not in line:
            self.stop()
            with open(self.stderr.name) as f:
                pytest.fail(f"the {backend} simulator did not start: {f.read()}")
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.stderr.close()

    def request(self, method: str, path: str, body=None, **kw) -> requests.Response:
        if body is not None:
            kw["json"] = body
        return requests.request(method, f"{self.url}{path}", timeout=30, **kw)

    def ok(self, method: str, path: str, body=None, **kw):
        response = self.request(method, path, body, **kw)
        assert response.status_code == 200, response.text
        return response.json()

    def compose(self, name: str, **body) -> requests.Response:
        body = dict(body, name=name)
        body.setdefault("podm_id", PODM)
        if "flavor_id" not in body:
            body.setdefault("properties", NIC)
        return self.request("POST", "/v1/nodes", body)


@pytest.fixture(scope="module", params=sorted(DRIVER))
def running(request, tmp_path_factory):
    sim = Sim(request.param, str(tmp_path_factory.mktemp(request.param)))
    yield sim
    sim.stop()


@pytest.fixture
def sim(running):
    """The module's simulator, emptied of nodes, flavors and faults after use."""
    yield running
    running.request("DELETE", "/admin/faults")
    for node in running.ok("GET", "/v1/nodes"):
        running.request("DELETE", f"/v1/nodes/{node['uuid']}")
    for flavor in running.ok("GET", "/v1/flavors"):
        running.request("DELETE", f"/v1/flavors/{flavor['uuid']}")


def envelope(response, status, code=None, title=None, detail=None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"request_id", "code", "status", "title", "detail"}
    assert (body["request_id"], body["status"]) == (ZERO, status)
    for key, want in (("code", code), ("title", title), ("detail", detail)):
        if want is not None:
            assert body[key] == want, body
    return body


# -- the common contract -----------------------------------------------------------


def test_pod_manager_registered_at_start(sim):
    [podm] = sim.ok("GET", "/v1/pod_managers")
    assert (podm["uuid"], podm["driver"], podm["status"]) == (
        PODM,
        DRIVER[sim.backend],
        STATUS[sim.backend],
    )
    assert sim.ok("GET", f"/v1/pod_managers/{PODM}") == podm
    envelope(
        sim.request("GET", "/v1/pod_managers/nope"),
        404,
        "Not Found",
        "Resource could not be found",
        "Pod Manager nope not found in database.",
    )


def test_flavors_take_only_valences_schema(sim):
    flavor = sim.ok("POST", "/v1/flavors", {"name": "f", "properties": NIC})
    assert sim.ok("GET", f"/v1/flavors/{flavor['uuid']}") == flavor
    for properties in (LOCAL_DRIVES, {"remote_storage": {}}, {"network": {}}):
        envelope(
            sim.request("POST", "/v1/flavors", {"name": "x", "properties": properties}),
            400,
            "Bad Request",
            "Validation Error",
        )
    assert [f["uuid"] for f in sim.ok("GET", "/v1/flavors")] == [flavor["uuid"]]
    sim.ok("DELETE", f"/v1/flavors/{flavor['uuid']}")
    envelope(
        sim.request("GET", f"/v1/flavors/{flavor['uuid']}"),
        404,
        detail=f"Flavor {flavor['uuid']} not found in database.",
    )


def test_compose_list_get_delete(sim):
    response = sim.compose("n1")
    node = response.json()
    assert set(node) == BRIEF_KEYS, node  # no podm_id in the answer
    listed = sim.ok("GET", "/v1/nodes", params={"name": "n1"})
    assert listed == [dict(node, podm_id=PODM)]
    assert sim.ok("GET", "/v1/nodes", params={"podm_id": "other"}) == []
    detail = sim.ok("GET", f"/v1/nodes/{node['uuid']}")
    assert {k: detail[k] for k in BRIEF_KEYS | {"podm_id"}} == listed[0]
    response = sim.request("DELETE", f"/v1/nodes/{node['uuid']}")
    assert (response.status_code, response.json()) == (200, None)
    for method in ("GET", "DELETE"):
        envelope(
            sim.request(method, f"/v1/nodes/{node['uuid']}"),
            404,
            "Not Found",
            "Resource could not be found",
            f"Composed node '{node['uuid']}' not found in database.",
        )
    assert sim.ok("GET", "/v1/nodes") == []


def test_compose_by_flavor(sim):
    flavor = sim.ok("POST", "/v1/flavors", {"name": "f", "properties": NIC})
    node = sim.compose("by-flavor", flavor_id=flavor["uuid"]).json()
    assert set(node) == BRIEF_KEYS
    assert node["name"] == "by-flavor"


def test_error_envelope(sim):
    envelope(sim.request("GET", "/v1/foo"), 500, "NotFound", "NotFound")
    envelope(sim.request("PUT", "/v1/flavors"), 500, "MethodNotAllowed")
    envelope(
        sim.compose("n", flavor_id="f", properties=NIC),
        400,
        "Bad Request",
        "Validation Error",
    )
    envelope(
        sim.compose("n", podm_id="nope"),
        404,
        detail="Pod Manager nope not found in database.",
    )
    envelope(
        sim.compose("n", flavor_id="nope"),
        404,
        detail="Flavor nope not found in database.",
    )
    envelope(sim.request("POST", "/v1/nodes", {"name": "n"}), 500, "KeyError")
    assert sim.ok("GET", "/v1/nodes") == []
    # A filter on a key no node has: Valence's getattr fails (on any node).
    assert sim.ok("GET", "/v1/nodes?foo=bar") == []
    sim.compose("n1")
    envelope(sim.request("GET", "/v1/nodes?foo=bar"), 500, "AttributeError")


def test_action_schema_comes_before_the_lookup(sim):
    envelope(sim.request("POST", "/v1/nodes/nope/action", {"x": 1}), 400)
    envelope(
        sim.request("POST", "/v1/nodes/nope/action", {"Reset": {"Type": "On"}}), 404
    )


def test_manage_of_a_managed_index_conflicts(sim):
    node = sim.compose("n1").json()
    envelope(
        sim.request(
            "POST", "/v1/nodes/manage", {"podm_id": PODM, "node_index": node["index"]}
        ),
        409,
        "Conflict",
        "Resource Already Exists",
        f"Node '{node['index']}' already managed by Valence",
    )


def test_register_without_an_ironic(sim):
    node = sim.compose("n1").json()
    envelope(
        sim.request("POST", f"/v1/nodes/{node['uuid']}/register", {}),
        500,
        "Internal Server Error",
        "An unknown exception occured",
        "Failed to load ironic driver",
    )


def test_hosts_are_redfish_systems_of_the_emulator(sim):
    hosts = sim.ok("GET", "/admin/hosts")
    assert len(hosts) == SYSTEMS
    for host in hosts:
        system = requests.get(
            f"{host['redfish_address']}{host['redfish_system_id']}",
            auth=(host["redfish_username"], host["redfish_password"]),
            timeout=10,
        )
        assert system.status_code == 200, system.text
        nics = requests.get(
            f"{host['redfish_address']}{host['redfish_system_id']}/EthernetInterfaces",
            auth=(host["redfish_username"], host["redfish_password"]),
            timeout=10,
        )
        assert nics.status_code == 200, nics.text


# -- where the real drivers differ ---------------------------------------------------


def test_node_detail(sim):
    node = sim.compose("n1").json()
    detail = sim.ok("GET", f"/v1/nodes/{node['uuid']}")
    if sim.backend == "rsd":
        # The composed system: what Ironic's redfish driver needs.
        assert detail["computer_system"].startswith("/redfish/v1/Systems/")
        assert detail["metadata"]["network"][0]["mac"]
        assert node["resource_uri"] == f"/redfish/v1/Nodes/{node['index']}"
    else:
        # The EESV board only: no system, no metadata.
        assert set(detail) == EXPETHER_DETAIL_KEYS
        assert node["resource_uri"] == f"devices/{node['index']}"
        assert (detail["type"], detail["description"], detail["power_state"]) == (
            "40g",
            "ExpEther Board (40G)",
            "on",
        )


def test_no_capacity(sim):
    for i in range(SYSTEMS):
        assert sim.compose(f"n{i}").status_code == 200
    response = sim.compose("one-too-many")
    if sim.backend == "rsd":
        # The PODM's Redfish error, relayed (reference case 20).
        envelope(
            response,
            409,
            "Base.1.0.ResourcesStateMismatch",
            "Conflict during allocation",
            "There are no computer systems available for this allocation request.",
        )
    else:
        envelope(response, 404, "40400", "ExpEther Exception", "Node not available")


def test_power_and_boot_actions(sim):
    node = sim.compose("n1").json()
    path = f"/v1/nodes/{node['uuid']}/action"
    for body, action in (
        ({"Reset": {"Type": "On"}}, "Reset"),
        ({"Boot": {"Enabled": "Once", "Target": "Pxe"}}, "Boot"),
    ):
        response = sim.request("POST", path, body)
        if sim.backend == "rsd":
            assert (response.status_code, response.content) == (204, b"")
        else:
            # The EESV has no power to switch: Ironic does that.
            envelope(
                response,
                400,
                "40000",
                "ExpEther Exception",
                f"Unsupported action: {action}",
            )


def test_local_drives_in_a_compose(sim):
    response = sim.compose("disk", properties=LOCAL_DRIVES)
    if sim.backend == "rsd":
        # The RSD 2.x extension the engine's disks use.
        assert response.status_code == 200, response.text
    else:
        envelope(response, 400, "Bad Request", "Validation Error")


def test_devices(sim):
    if sim.backend == "rsd":
        # redfishv1 syncs no device: a node's hardware is in its detail.
        node = sim.compose("n1").json()
        assert sim.ok("GET", "/v1/devices") == []
        assert sim.ok("GET", "/v1/devices", params={"node_id": node["index"]}) == []
        return
    node = sim.compose("n1", properties={"pci_device": {"type": ["NIC", "GPU"]}})
    node = node.json()
    attached = sim.ok("GET", "/v1/devices", params={"node_id": node["index"]})
    assert sorted(d["type"] for d in attached) == ["GPU", "NIC"]
    assert {d["state"] for d in attached} == {"allocated"}
    sim.ok("DELETE", f"/v1/nodes/{node['uuid']}")
    for device in attached:
        got = sim.ok("GET", f"/v1/devices/{device['uuid']}")
        assert (got["state"], got["pooled_group_id"], got["node_id"]) == (
            "free",
            "4093",
            None,
        )


def test_inventory_matches_the_hosts(sim):
    if sim.backend == "rsd":
        # An RSD node is a new system, enrolled from its detail: no inventory.
        assert not os.path.exists(sim.inventory_path)
        return
    with open(sim.inventory_path) as f:
        inventory = json.load(f)
    hosts = sim.ok("GET", "/admin/hosts")
    assert [(e["eesv"], e["mac"]) for e in inventory] == [
        (h["eesv"], h["mac"]) for h in hosts
    ]
    node = sim.compose("n1").json()
    detail = sim.ok("GET", f"/v1/nodes/{node['uuid']}")
    [entry] = [e for e in inventory if e["eesv"] == detail["index"]]
    # What the engine needs: the EESV's MAC finds its server's BMC.
    assert entry["mac"] == detail["mac_address"]
    assert entry["driver"] == "redfish"
    assert entry["driver_info"]["redfish_system_id"].startswith("/redfish/v1/Systems/")


def test_double_allocation_fault(sim):
    response = sim.request(
        "POST", "/admin/faults", {"operation": "compose", "double_allocate": True}
    )
    if sim.backend == "rsd":
        # A PODM allocates atomically: the race is the ExpEther driver's.
        envelope(response, 400)
        return
    assert response.status_code == 200, response.text
    sim.request(
        "POST",
        "/admin/faults",
        {"operation": "compose", "double_allocate": True, "count": 1},
    )
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda i: sim.compose(f"twin{i}"), range(2)))
    assert [r.status_code for r in responses] == [200, 200]
    assert len({r.json()["index"] for r in responses}) == 1
