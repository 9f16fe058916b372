"""The ExpEther backend of the simulator: its pod model, and every answer of
Valence's expether driver (valence-api.md 5.1-5.8) over real HTTP."""

import concurrent.futures
import json
import os
import stat

import fixtures
import requests
import requests_mock

from mogan_valence.simulator import expether
from mogan_valence.simulator import pod
from mogan_valence.simulator import server
from mogan_valence.simulator import state as sim_state
from tests import base

PODM = sim_state.DEFAULT_PODM_UUID
ZERO = "00000000-0000-0000-0000-000000000000"
DETAIL_KEYS = {
    "created_at",
    "description",
    "host_model",
    "host_serial_number",
    "index",
    "mac_address",
    "name",
    "podm_id",
    "pooled_group_id",
    "power_state",
    "resource_uri",
    "serial_number",
    "type",
    "updated_at",
    "uuid",
}
DEVICE_KEYS = {
    "uuid",
    "podm_id",
    "node_id",
    "type",
    "pooled_group_id",
    "state",
    "properties",
    "extra",
    "resource_uri",
    "created_at",
    "updated_at",
}


def pci(*kinds, **extra) -> dict:
    return dict(extra, pci_device={"type": list(kinds)})


class TestPodModel(base.TestCase):
    def test_hosts_are_derived_from_the_systems(self):
        hosts = expether.hosts(pod.uniform(3))
        self.assertEqual(
            ["0x8cdf9d53a001", "0x8cdf9d53a002", "0x8cdf9d53a003"],
            [h.eesv_id for h in hosts],
        )
        for h in hosts:
            self.assertEqual(h.system.nics[0].mac, h.mac)
            self.assertTrue(h.system.path.startswith("/redfish/v1/Systems/"))
        self.assertEqual(3, len({h.host_serial_number for h in hosts}))
        self.assertEqual(3, len({h.serial_number for h in hosts}))
        self.assertEqual(3, len({h.pooled_group_id for h in hosts}))
        self.assertNotIn(expether.FREE_GROUP, {h.pooled_group_id for h in hosts})
        self.assertEqual(hosts, expether.hosts(pod.uniform(3)))

    def test_default_pool(self):
        for count, gpus in ((1, 2), (4, 2), (8, 4)):
            kinds = [d.type for d in expether.devices(pod.uniform(count))]
            self.assertEqual(count, kinds.count("NIC"))
            self.assertEqual(count, kinds.count("SSD"))
            self.assertEqual(gpus, kinds.count("GPU"))
        ids = [d.eeio_id for d in expether.devices(pod.uniform(8))]
        self.assertEqual(len(ids), len(set(ids)))

    def test_pod_file_devices_and_host_identities(self):
        loaded = pod.from_dict(
            {
                "systems": [
                    {
                        "id": "S1",
                        "eesv_id": "0xaaaaaaaaaaa1",
                        "host_serial_number": "JPN123",
                        "host_model": "R120h",
                        "serial_number": "EE1",
                    },
                    {"id": "S2"},
                ],
                "devices": [
                    {"type": "FPGA", "model": "Arria 10"},
                    {"type": "GPU", "id": "0xbbbbbbbbbbb1"},
                ],
            }
        )
        first, second = expether.hosts(loaded)
        self.assertEqual(
            ("0xaaaaaaaaaaa1", "JPN123", "R120h", "EE1"),
            (
                first.eesv_id,
                first.host_serial_number,
                first.host_model,
                first.serial_number,
            ),
        )
        self.assertEqual("0x8cdf9d53a002", second.eesv_id)
        fpga, gpu = expether.devices(loaded)
        self.assertEqual(("FPGA", "Arria 10"), (fpga.type, fpga.model))
        self.assertEqual("0xbbbbbbbbbbb1", gpu.eeio_id)
        # An empty list is an empty pool, not the default one.
        empty = pod.from_dict({"systems": [{"id": "S1"}], "devices": []})
        self.assertEqual((), expether.devices(empty))

    def test_bad_pod_files(self):
        cases = [
            ({"systems": [{"id": "a"}], "devices": {}}, "'devices' must be a list"),
            ({"systems": [{"id": "a"}], "devices": [{}]}, "devices[0] needs a 'type'"),
            (
                {
                    "systems": [{"id": "a"}],
                    "devices": [{"type": "GPU", "id": "x"}, {"type": "NIC", "id": "x"}],
                },
                "devices[1]: duplicate id",
            ),
            (
                {"systems": [{"id": "a", "eesv_id": "e"}, {"id": "b", "eesv_id": "e"}]},
                "duplicate eesv_id",
            ),
        ]
        for data, words in cases:
            err = self.assertRaises(pod.PodFileError, pod.from_dict, data)
            self.assertIn(words, str(err))


class ExpEtherSimulator(fixtures.Fixture):
    """An in-process simulator with the ExpEther backend, without Redfish."""

    def __init__(self, state_dir: str, **options):
        super().__init__()
        options.setdefault("systems", 3)
        self.options = server.Options(
            port=0, redfish=False, backend="expether", state_dir=state_dir, **options
        )

    def _setUp(self):
        self.sim = server.Simulator(self.options)
        self.sim.start()
        self.addCleanup(lambda: self.sim.stop())
        self.url = self.sim.url
        self.state = self.sim.state

    def restart(self):
        self.sim.stop()
        self.options.port = int(self.url.rsplit(":", 1)[1])
        self._setUp()


class ExpEtherTestCase(base.TestCase):
    options: dict = {}

    def setUp(self):
        super().setUp()
        self.sim = self.useFixture(
            ExpEtherSimulator(os.path.join(self.tmp_dir, "sim"), **self.options)
        )

    def raw(self, method, path, body=None, **kw):
        if body is not None:
            kw["json"] = body
        return requests.request(method, f"{self.sim.url}{path}", timeout=30, **kw)

    def ok(self, method, path, body=None, **kw):
        response = self.raw(method, path, body, **kw)
        self.assertEqual(200, response.status_code, response.text)
        return response.json()

    def compose(self, name="n1", properties=None, **body):
        body = dict(body, name=name, podm_id=PODM)
        if "flavor_id" not in body:
            body["properties"] = properties if properties is not None else {}
        return self.raw("POST", "/v1/nodes", body)

    def envelope(self, response, status, code=None, title=None, detail=None):
        self.assertEqual(status, response.status_code, response.text)
        body = response.json()
        self.assertEqual({"request_id", "code", "status", "title", "detail"}, set(body))
        self.assertEqual((ZERO, status), (body["request_id"], body["status"]))
        for key, want in (("code", code), ("title", title), ("detail", detail)):
            if want is not None:
                self.assertEqual(want, body[key])
        return body

    def expether_error(self, response, status, detail):
        return self.envelope(
            response, status, f"{status}00", "ExpEther Exception", detail
        )

    def devices(self, **filters):
        return self.ok("GET", "/v1/devices", params=filters)

    def compose_at_once(self, count: int) -> list[dict]:
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            responses = list(
                pool.map(lambda i: self.compose(f"n{i}", pci("NIC")), range(count))
            )
        for response in responses:
            self.assertEqual(200, response.status_code, response.text)
        return [r.json() for r in responses]


class TestPodManagerAndDevices(ExpEtherTestCase):
    def test_the_pod_manager_is_an_online_expether_one(self):
        [podm] = self.ok("GET", "/v1/pod_managers")
        self.assertEqual(
            (PODM, "expether", "Online"),
            (podm["uuid"], podm["driver"], podm["status"]),
        )

    def test_device_records(self):
        devices = self.devices()
        self.assertEqual(3 + 3 + 2, len(devices))
        for device in devices:
            self.assertEqual(DEVICE_KEYS, set(device))
            self.assertEqual(
                (PODM, None, "4093", "free"),
                (
                    device["podm_id"],
                    device["node_id"],
                    device["pooled_group_id"],
                    device["state"],
                ),
            )
            self.assertTrue(device["resource_uri"].startswith("devices/0x"))
        self.assertEqual(
            {"NIC": 3, "SSD": 3, "GPU": 2},
            {k: [d["type"] for d in devices].count(k) for k in ("NIC", "SSD", "GPU")},
        )
        one = devices[0]
        self.assertEqual(one, self.ok("GET", f"/v1/devices/{one['uuid']}"))
        self.envelope(
            self.raw("GET", "/v1/devices/nope"),
            404,
            "Not Found",
            "Resource could not be found",
            "Device nope not found in database.",
        )

    def test_device_filters_are_exact_matches_on_fields(self):
        self.assertEqual(2, len(self.devices(type="GPU")))
        self.assertEqual([], self.devices(type="gpu"))
        self.assertEqual(8, len(self.devices(state="free", pooled_group_id="4093")))
        self.envelope(self.raw("GET", "/v1/devices?foo=bar"), 500, "AttributeError")

    def test_deleting_the_pod_manager_takes_its_nodes_and_devices(self):
        self.assertEqual(200, self.compose(properties=pci("NIC")).status_code)
        self.ok("DELETE", f"/v1/pod_managers/{PODM}")
        self.assertEqual([], self.ok("GET", "/v1/nodes"))
        self.assertEqual([], self.devices())
        # A new ExpEther pod manager gets the pool synced, as Valence does.
        podm = self.ok(
            "POST",
            "/v1/pod_managers",
            {
                "name": "eem",
                "url": "http://eem.example:30500",
                "driver": "expether",
                "authentication": [
                    {"type": "basic", "auth_items": {"username": "u", "password": "p"}}
                ],
            },
        )
        self.assertEqual("Online", podm["status"])
        self.assertEqual({podm["uuid"]}, {d["podm_id"] for d in self.devices()})
        self.assertEqual(8, len(self.devices()))


class TestCompose(ExpEtherTestCase):
    def test_compose_attaches_devices_to_the_first_free_eesv(self):
        response = self.compose("n1", pci("NIC", "GPU"))
        node = response.json()
        self.assertEqual({"index", "name", "resource_uri", "uuid"}, set(node))
        self.assertEqual(
            ("n1", "0x8cdf9d53a001", "devices/0x8cdf9d53a001"),
            (node["name"], node["index"], node["resource_uri"]),
        )
        attached = self.devices(node_id=node["index"])
        self.assertEqual(["NIC", "GPU"], [d["type"] for d in attached])
        detail = self.ok("GET", f"/v1/nodes/{node['uuid']}")
        for device in attached:
            self.assertEqual(
                ("allocated", detail["pooled_group_id"]),
                (device["state"], device["pooled_group_id"]),
            )
        second = self.compose("n2", pci("NIC")).json()
        self.assertEqual("0x8cdf9d53a002", second["index"])
        # Listed with its pod manager, as every backend's nodes.
        self.assertEqual(
            {
                "uuid": node["uuid"],
                "name": "n1",
                "podm_id": PODM,
                "index": node["index"],
                "resource_uri": node["resource_uri"],
            },
            self.ok("GET", "/v1/nodes", params={"name": "n1"})[0],
        )

    def test_detail_has_exactly_the_expether_keys(self):
        node = self.compose("n1", pci("SSD")).json()
        detail = self.ok("GET", f"/v1/nodes/{node['uuid']}")
        self.assertEqual(DETAIL_KEYS, set(detail))
        host = expether.hosts(self.sim.state.pod)[0]
        self.assertEqual(
            {
                "description": "ExpEther Board (40G)",
                "host_model": host.host_model,
                "host_serial_number": host.host_serial_number,
                "index": host.eesv_id,
                "mac_address": host.system.nics[0].mac,
                "name": "n1",
                "podm_id": PODM,
                "pooled_group_id": host.pooled_group_id,
                "power_state": "on",
                "resource_uri": f"devices/{host.eesv_id}",
                "serial_number": host.serial_number,
                "type": "40g",
                "uuid": node["uuid"],
            },
            {k: v for k, v in detail.items() if not k.endswith("_at")},
        )

    def test_only_pci_device_types_count(self):
        # Far more than any server: ignored, as the real driver ignores them.
        huge = pci(
            "GPU",
            memory={"capacity_mib": "99999999", "type": "DDR9"},
            processor={"total_cores": "4000", "model": "nope"},
        )
        self.assertEqual(200, self.compose("big", huge).status_code)
        flavor = self.ok("POST", "/v1/flavors", {"name": "f", "properties": huge})
        node = self.compose("by-flavor", flavor_id=flavor["uuid"]).json()
        self.assertEqual(
            ["GPU"], [d["type"] for d in self.devices(node_id=node["index"])]
        )
        # No requirements at all: the bare server.
        bare = self.compose("bare", {}).json()
        self.assertEqual([], self.devices(node_id=bare["index"]))

    def test_no_free_eesv_is_node_not_available(self):
        for i in range(3):
            self.assertEqual(200, self.compose(f"n{i}").status_code)
        self.expether_error(self.compose("n4"), 404, "Node not available")

    def test_missing_device_keeps_earlier_attachments(self):
        nics = len(self.devices(type="NIC"))
        self.expether_error(
            self.compose("n1", pci("NIC", "FPGA")),
            404,
            "Requested device not available",
        )
        self.assertEqual([], self.ok("GET", "/v1/nodes"))
        # The NIC stays attached to the EESV, as on the real server ...
        [leaked] = self.devices(node_id="0x8cdf9d53a001")
        self.assertEqual(("NIC", "allocated"), (leaked["type"], leaked["state"]))
        self.assertEqual(nics - 1, len(self.devices(type="NIC", state="free")))
        # ... which the next compose takes again, and whose release frees it.
        node = self.compose("n2", pci("SSD")).json()
        self.assertEqual("0x8cdf9d53a001", node["index"])
        self.assertEqual(2, len(self.devices(node_id=node["index"])))
        self.ok("DELETE", f"/v1/nodes/{node['uuid']}")
        self.assertEqual(nics, len(self.devices(type="NIC", state="free")))

    def test_delete_detaches_every_device(self):
        node = self.compose("n1", pci("NIC", "SSD", "GPU")).json()
        response = self.raw("DELETE", f"/v1/nodes/{node['uuid']}")
        self.assertEqual((200, None), (response.status_code, response.json()))
        self.assertEqual([], self.devices(node_id=node["index"]))
        self.assertEqual(8, len(self.devices(state="free", pooled_group_id="4093")))
        self.envelope(
            self.raw("DELETE", f"/v1/nodes/{node['uuid']}"),
            404,
            "Not Found",
            "Resource could not be found",
            f"Composed node '{node['uuid']}' not found in database.",
        )
        self.envelope(self.raw("GET", f"/v1/nodes/{node['uuid']}"), 404)

    def test_local_drives_and_unknown_keys_are_refused(self):
        for properties in (
            {"local_drives": [{"capacity_gib": "100", "type": "SSD"}]},
            {"remote_storage": {}},
            {"processor": {"total_cores": 4}},
        ):
            self.envelope(
                self.raw(
                    "POST", "/v1/flavors", {"name": "f", "properties": properties}
                ),
                400,
                "Bad Request",
                "Validation Error",
            )
            self.envelope(
                self.compose("n1", properties), 400, "Bad Request", "Validation Error"
            )
        self.assertEqual([], self.ok("GET", "/v1/flavors"))
        self.assertEqual([], self.ok("GET", "/v1/nodes"))

    def test_errors_before_anything_is_composed(self):
        self.envelope(
            self.raw("POST", "/v1/nodes", {"name": "n", "podm_id": "nope"}),
            404,
            detail="Pod Manager nope not found in database.",
        )
        self.envelope(
            self.compose("n", flavor_id="nope"),
            404,
            detail="Flavor nope not found in database.",
        )
        self.envelope(self.raw("POST", "/v1/nodes", {"name": "n"}), 500, "KeyError")
        self.assertEqual([], self.devices(state="allocated"))

    def test_state_survives_a_restart(self):
        node = self.compose("keep", pci("GPU")).json()
        self.sim.restart()
        self.assertEqual(
            [node["uuid"]], [n["uuid"] for n in self.ok("GET", "/v1/nodes")]
        )
        self.assertEqual(
            ["GPU"], [d["type"] for d in self.devices(node_id=node["index"])]
        )
        self.assertEqual("0x8cdf9d53a002", self.compose("next").json()["index"])

    def test_a_state_dir_of_the_other_backend_is_refused(self):
        options = server.Options(
            port=0,
            redfish=False,
            state_dir=os.path.join(self.tmp_dir, "sim"),
            backend="rsd",
        )
        err = self.assertRaises(sim_state.StateError, server.Simulator, options)
        self.assertIn("--backend expether", str(err))


class TestActions(ExpEtherTestCase):
    def setUp(self):
        super().setUp()
        self.node = self.compose("n1", pci("NIC")).json()
        self.path = f"/v1/nodes/{self.node['uuid']}/action"

    def test_reset_and_boot_are_unsupported(self):
        for body, action in (
            ({"Reset": {"Type": "On"}}, "Reset"),
            ({"Boot": {"Enabled": "Once", "Target": "Pxe"}}, "Boot"),
        ):
            self.expether_error(
                self.raw("POST", self.path, body), 400, f"Unsupported action: {action}"
            )
        # The schema still comes first.
        self.envelope(
            self.raw("POST", self.path, {"Reset": {"Type": "ForceRestart"}}),
            400,
            "Bad Request",
            "Validation Error",
        )

    def test_attach_and_detach(self):
        [gpu, _] = self.devices(type="GPU")
        response = self.raw("POST", self.path, {"attach": {"resource_id": gpu["uuid"]}})
        self.assertEqual((204, b""), (response.status_code, response.content))
        got = self.ok("GET", f"/v1/devices/{gpu['uuid']}")
        self.assertEqual(
            (self.node["index"], "allocated"), (got["node_id"], got["state"])
        )
        self.expether_error(
            self.raw("POST", self.path, {"attach": {"resource_id": gpu["uuid"]}}),
            400,
            f"Device {gpu['uuid']} already assigned to a different node: "
            f"{self.node['index']}",
        )
        response = self.raw("POST", self.path, {"detach": {"resource_id": gpu["uuid"]}})
        self.assertEqual(204, response.status_code)
        got = self.ok("GET", f"/v1/devices/{gpu['uuid']}")
        self.assertEqual(
            (None, "free", "4093"),
            (got["node_id"], got["state"], got["pooled_group_id"]),
        )
        self.expether_error(
            self.raw("POST", self.path, {"detach": {"resource_id": gpu["uuid"]}}),
            400,
            f"Device {gpu['uuid']} is not attached to node {self.node['index']}",
        )
        self.envelope(
            self.raw("POST", self.path, {"attach": {"resource_id": "nope"}}),
            404,
            detail="Device nope not found in database.",
        )
        self.envelope(
            self.raw("POST", self.path, {"attach": {"uuid": gpu["uuid"]}}),
            400,
            title="Validation Error",
        )


class TestManageAndRegister(ExpEtherTestCase):
    def test_manage(self):
        node = self.compose("n1").json()
        self.envelope(
            self.raw(
                "POST",
                "/v1/nodes/manage",
                {"podm_id": PODM, "node_index": node["index"]},
            ),
            409,
            "Conflict",
            "Resource Already Exists",
            f"Node '{node['index']}' already managed by Valence",
        )
        managed = self.ok(
            "POST",
            "/v1/nodes/manage",
            {"podm_id": PODM, "node_index": "0x8cdf9d53a002"},
        )
        self.assertEqual({"index", "name", "resource_uri", "uuid"}, set(managed))
        self.assertEqual(
            ("0x8cdf9d53a002", "0x8cdf9d53a002", "devices/0x8cdf9d53a002"),
            (managed["index"], managed["name"], managed["resource_uri"]),
        )
        # A managed EESV is taken: the next compose gets the third.
        self.assertEqual("0x8cdf9d53a003", self.compose("n3").json()["index"])
        self.expether_error(
            self.raw(
                "POST", "/v1/nodes/manage", {"podm_id": PODM, "node_index": "0x1"}
            ),
            404,
            "Device 0x1 not found",
        )
        self.envelope(
            self.raw("POST", "/v1/nodes/manage", {"node_index": "0x1"}), 500, "KeyError"
        )

    @staticmethod
    def ironic_posts(mock, ironic: str) -> list:
        return [
            r
            for r in mock.request_history
            if r.method == "POST" and r.url.startswith(ironic)
        ]

    def test_register(self):
        node = self.compose("n1").json()
        path = f"/v1/nodes/{node['uuid']}/register"
        ironic = "http://ironic.test:6385"
        self.sim.sim.app.ironic.url = ironic
        with requests_mock.Mocker(real_http=True) as mock:
            mock.get(ironic, json={})
            mock.post(f"{ironic}/v1/nodes", status_code=201, json={"uuid": "I1"})
            mock.post(f"{ironic}/v1/ports", status_code=201, json={})
            body = self.envelope(
                self.raw("POST", path, {"mac": "52:54:00:00:01:01"}),
                500,
                "Internal Server Error",
                "An unknown exception occured",
            )
            self.assertIn("driver_info", body["detail"])
            self.envelope(
                self.raw("POST", path, {"driver_info": {"ipmi_address": "x"}}),
                500,
                "UnboundLocalError",
            )
            self.assertEqual([], self.ironic_posts(mock, ironic))
            record = self.ok(
                "POST",
                path,
                {
                    "driver_info": {"ipmi_address": "x", "ipmi_password": "p"},
                    "mac": "52:54:00:00:01:01",
                    "extra": {"a": 1},
                },
            )
            posts = self.ironic_posts(mock, ironic)
        self.assertEqual("ironic", record["managed_by"])
        self.assertEqual(
            {
                "driver": "pxe_ipmitool",
                "name": "n1",
                "driver_info": {"ipmi_address": "x", "ipmi_password": "p"},
                "extra": {"a": 1},
            },
            posts[0].json(),
        )
        self.assertEqual(
            {"address": "52:54:00:00:01:01", "node_uuid": "I1"}, posts[1].json()
        )
        self.assertEqual(
            "ironic", self.ok("GET", f"/v1/nodes/{node['uuid']}")["managed_by"]
        )


class TestDoubleAllocation(ExpEtherTestCase):
    def test_normally_concurrent_composes_get_distinct_eesvs(self):
        nodes = self.compose_at_once(3)
        self.assertEqual(3, len({n["index"] for n in nodes}))

    def test_the_fault_gives_every_concurrent_compose_the_same_eesv(self):
        fault = self.ok(
            "POST",
            "/admin/faults",
            {"operation": "compose", "double_allocate": True, "count": 2},
        )
        self.assertEqual(
            (True, 0, 1.0), (fault["double_allocate"], fault["status"], fault["delay"])
        )
        nodes = self.compose_at_once(2)
        [index] = {n["index"] for n in nodes}
        # Two nodes on one server, each with its own device attached to it.
        self.assertEqual(2, len(self.devices(node_id=index, type="NIC")))
        # The fault is spent: the next compose is atomic again.
        self.assertNotEqual(index, self.compose("after").json()["index"])
        # Releasing one of the twins detaches the devices of both.
        self.ok("DELETE", f"/v1/nodes/{nodes[0]['uuid']}")
        self.assertEqual([], self.devices(node_id=index))

    def test_bad_double_allocation_faults(self):
        for body in (
            {"operation": "release", "double_allocate": True},
            {"operation": "compose", "double_allocate": True, "status": 500},
        ):
            self.assertEqual(400, self.raw("POST", "/admin/faults", body).status_code)


class TestDoubleAllocationSwitch(ExpEtherTestCase):
    options = {"double_allocation_window": 0.5}

    def test_every_compose_races(self):
        nodes = self.compose_at_once(3)
        self.assertEqual(1, len({n["index"] for n in nodes}))


class TestHostsAndInventory(ExpEtherTestCase):
    def test_admin_hosts_and_the_inventory_file(self):
        hosts = self.ok("GET", "/admin/hosts")
        self.assertEqual(3, len(hosts))
        for host, model in zip(hosts, expether.hosts(self.sim.state.pod), strict=True):
            self.assertEqual(
                {
                    "eesv": model.eesv_id,
                    "mac": model.mac,
                    "serial_number": model.serial_number,
                    "host_serial_number": model.host_serial_number,
                    "host_model": model.host_model,
                    "pooled_group_id": model.pooled_group_id,
                    "system": model.system.id,
                    "redfish_system_id": model.system.path,
                    "redfish_address": "http://127.0.0.1:8000",
                    "redfish_username": "admin",
                    "redfish_password": "password",
                },
                host,
            )
        path = os.path.join(self.tmp_dir, "inventory.json")
        self.sim.sim.write_inventory(path)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        with open(path) as f:
            inventory = json.load(f)
        self.assertEqual(
            {
                "eesv": hosts[0]["eesv"],
                "mac": hosts[0]["mac"],
                "host_serial_number": hosts[0]["host_serial_number"],
                "driver": "redfish",
                "driver_info": {
                    "redfish_address": "http://127.0.0.1:8000",
                    "redfish_system_id": hosts[0]["redfish_system_id"],
                    "redfish_username": "admin",
                    "redfish_password": "password",
                },
            },
            inventory[0],
        )
        self.assertEqual([h["eesv"] for h in hosts], [e["eesv"] for e in inventory])
