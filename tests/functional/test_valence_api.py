"""The Valence client against the simulator over real HTTP on loopback.

Covers the conformance cases of the Valence reference (section 11) that apply
to nodes, flavors and pod managers; each test names its case.
"""

import concurrent.futures
import json
import re
import time

import fixtures
import requests
import sushy

from mogan_valence.simulator import redfish
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import exceptions as vexc
from tests import base
from tests import fixtures as mv_fixtures

PODM = mv_fixtures.PODM_ID
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
ZERO = "00000000-0000-0000-0000-000000000000"
SMALL = {
    "memory": {"capacity_mib": "8192", "type": "DDR4"},
    "processor": {"total_cores": "4", "model": "Intel"},
}


class SimulatorTestCase(base.TestCase):
    systems = 4
    with_redfish = False

    def setUp(self):
        super().setUp()
        self.sim = self.useFixture(
            mv_fixtures.Simulator(
                self.tmp_dir, systems=self.systems, with_redfish=self.with_redfish
            )
        )
        self.client = self.sim.client()

    def raw(self, method, path, body=None, **kw):
        if body is not None:
            kw["json"] = body
        return requests.request(method, f"{self.sim.url}{path}", timeout=30, **kw)

    def assertEnvelope(self, response, status, code=None, title=None):
        self.assertEqual(status, response.status_code, response.text)
        body = response.json()
        self.assertEqual({"request_id", "code", "status", "title", "detail"}, set(body))
        self.assertEqual(ZERO, body["request_id"])
        self.assertEqual(status, body["status"])
        if code is not None:
            self.assertEqual(code, body["code"])
        if title is not None:
            self.assertEqual(title, body["title"])
        return body


class TestRootAndErrors(SimulatorTestCase):
    def test_case_1_root(self):
        body = self.raw("GET", "/").json()
        self.assertEqual("OpenStack Valence API", body["name"])
        self.assertEqual("v1", body["versions"][0]["id"])
        self.assertEqual("", body["versions"][0]["min_version"])
        self.assertTrue(body["versions"][0]["links"][0]["href"].endswith("/v1/"))
        rels = {link["rel"] for link in self.raw("GET", "/v1").json()["links"]}
        self.assertLessEqual({"nodes", "flavors", "pod_managers"}, rels)

    def test_case_19_framework_errors_are_500_with_class_names(self):
        self.assertEnvelope(
            self.raw("PUT", "/v1/flavors"), 500, "MethodNotAllowed", "MethodNotAllowed"
        )
        self.assertEnvelope(self.raw("GET", "/v1/foo"), 500, "NotFound")
        self.assertEnvelope(self.raw("GET", "/v1/storages"), 500, "NotImplemented")
        # The client reads the envelope, not the status, to say what happened.
        err = self.assertRaises(
            vexc.ValenceServerError, self.client._request, "GET", "/v1/foo"
        )
        self.assertEqual("NotFound", err.valence_code)
        self.assertIn("NotFound", str(err))

    def test_trailing_slash_and_cors(self):
        response = self.raw("GET", "/v1/flavors/")
        self.assertEqual(200, response.status_code)
        self.assertEqual("*", response.headers["Access-Control-Allow-Origin"])

    def test_body_without_json_content_type_is_null(self):
        response = self.raw("POST", "/v1/flavors", data=json.dumps({"name": "x"}))
        body = self.assertEnvelope(response, 400, "Bad Request", "Validation Error")
        self.assertIn("None is not of type 'object'", body["detail"])

    def test_malformed_json_is_500_bad_request(self):
        response = self.raw(
            "POST",
            "/v1/flavors",
            data="{nope",
            headers={"Content-Type": "application/json"},
        )
        self.assertEnvelope(response, 500, "BadRequest")


class TestFlavors(SimulatorTestCase):
    def test_case_2_create_echoes_without_description(self):
        flavor = self.raw(
            "POST",
            "/v1/flavors",
            {"name": "small", "description": "x", "properties": SMALL},
        ).json()
        self.assertEqual("small", flavor["name"])
        self.assertEqual(SMALL, flavor["properties"])
        self.assertNotIn("description", flavor)
        self.assertRegex(flavor["created_at"], TIMESTAMP)
        self.assertRegex(flavor["updated_at"], TIMESTAMP)
        # Through the client: same record, timestamps made ISO 8601.
        got = self.client.get_flavor(flavor["uuid"])
        self.assertEqual(flavor["uuid"], got["uuid"])
        self.assertRegex(got["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
        self.assertEqual(
            [flavor["uuid"]], [f["uuid"] for f in self.client.list_flavors()]
        )

    def test_case_3_invalid_flavors(self):
        for props in (
            {"remote_storage": {"capacity_gib": "10"}},
            {"processor": {"total_cores": 4}},
        ):
            err = self.assertRaises(
                vexc.ValenceValidationError, self.client.create_flavor, "bad", props
            )
            self.assertEqual(400, err.status)
            self.assertEqual("Validation Error", err.title)
            self.assertEqual("Bad Request", err.valence_code)
        response = self.raw("POST", "/v1/flavors", {"name": "noprops"})
        self.assertEnvelope(response, 400, "Bad Request", "Validation Error")

    def test_case_4_unknown_flavor(self):
        for method in ("GET", "DELETE"):
            body = self.assertEnvelope(
                self.raw(method, "/v1/flavors/nope"),
                404,
                title="Resource could not be found",
            )
            self.assertEqual("Flavor nope not found in database.", body["detail"])
        self.assertRaises(vexc.ValenceNotFound, self.client.get_flavor, "nope")
        self.assertRaises(vexc.ValenceNotFound, self.client.delete_flavor, "nope")

    def test_case_5_patch_replaces_properties(self):
        flavor = self.client.create_flavor("small", SMALL)
        before = self.raw("GET", f"/v1/flavors/{flavor['uuid']}").json()
        time.sleep(1.05)  # timestamps have one-second resolution
        patched = self.raw(
            "PATCH",
            f"/v1/flavors/{flavor['uuid']}",
            {"properties": {"memory": {"capacity_mib": "4096"}}},
        ).json()
        self.assertEqual({"memory": {"capacity_mib": "4096"}}, patched["properties"])
        self.assertEqual(before["created_at"], patched["created_at"])
        self.assertNotEqual(before["updated_at"], patched["updated_at"])

    def test_case_6_delete(self):
        flavor = self.client.create_flavor("small", SMALL)
        body = self.raw("DELETE", f"/v1/flavors/{flavor['uuid']}").json()
        self.assertEqual("DELETED", body["code"])
        self.assertEqual(ZERO, body["request_id"])
        self.assertIn(flavor["uuid"], body["detail"])
        self.assertRaises(
            vexc.ValenceNotFound, self.client.delete_flavor, flavor["uuid"]
        )


class TestPodManagers(SimulatorTestCase):
    def test_starts_with_one_pod_manager_and_the_client_hides_its_password(self):
        listed = self.client.list_pod_managers()
        self.assertEqual([PODM], [p["uuid"] for p in listed])
        self.assertEqual(
            "***", listed[0]["authentication"][0]["auth_items"]["password"]
        )
        self.assertEqual(
            "***",
            self.client.get_pod_manager(PODM)["authentication"][0]["auth_items"][
                "password"
            ],
        )
        # The server itself echoes it, as the real one does.
        raw = self.raw("GET", f"/v1/pod_managers/{PODM}").json()
        self.assertNotEqual("***", raw["authentication"][0]["auth_items"]["password"])

    def test_case_7_create(self):
        body = {
            "name": "podm2",
            "url": "http://10.0.0.5:8443",
            "authentication": [
                {
                    "type": "basic",
                    "auth_items": {"username": "admin", "password": "Passw0rd"},
                }
            ],
        }
        record = self.raw("POST", "/v1/pod_managers", body).json()
        self.assertEqual("redfishv1", record["driver"])
        self.assertIn("status", record)
        self.assertRegex(record["created_at"], TIMESTAMP)
        self.assertEqual(
            "Passw0rd", record["authentication"][0]["auth_items"]["password"]
        )
        dup = self.assertEnvelope(self.raw("POST", "/v1/pod_managers", body), 400)
        self.assertEqual("duplicated name or url !", dup["detail"])
        no_auth = {k: v for k, v in body.items() if k != "authentication"}
        no_auth["name"] = "podm3"
        self.assertEnvelope(self.raw("POST", "/v1/pod_managers", no_auth), 400)
        bad_driver = dict(body, name="podm4", url="http://x", driver="ipmi")
        self.assertEnvelope(
            self.raw("POST", "/v1/pod_managers", bad_driver),
            404,
            title="Unsupported Driver Specified",
        )

    def test_case_8_delete_takes_its_nodes(self):
        node = self.client.compose_node("n1", PODM, properties=SMALL)
        body = self.raw("DELETE", f"/v1/pod_managers/{PODM}").json()
        self.assertEqual({"code": "", "detail": "DELETED", "request_id": ZERO}, body)
        self.assertEqual([], self.client.list_nodes())
        self.assertRaises(vexc.ValenceNotFound, self.client.get_node, node["uuid"])
        self.assertRaises(vexc.ValenceNotFound, self.client.get_pod_manager, PODM)


class TestNodes(SimulatorTestCase):
    def test_case_9_compose_by_flavor(self):
        flavor = self.client.create_flavor("small", SMALL)
        raw = self.raw(
            "POST",
            "/v1/nodes",
            {"name": "n1", "podm_id": PODM, "flavor_id": flavor["uuid"]},
        ).json()
        self.assertEqual({"uuid", "name", "index", "resource_uri"}, set(raw))
        listed = self.client.list_nodes()
        self.assertEqual(
            [
                {
                    "uuid": raw["uuid"],
                    "name": "n1",
                    "podm_id": PODM,
                    "index": raw["index"],
                    "resource_uri": raw["resource_uri"],
                }
            ],
            listed,
        )
        node = self.client.compose_node("n2", PODM, flavor_id=flavor["uuid"])
        self.assertEqual("n2", node["name"])

    def test_case_10_bad_compose_bodies(self):
        flavor = self.client.create_flavor("small", SMALL)
        for body in (
            {
                "name": "n",
                "podm_id": PODM,
                "flavor_id": flavor["uuid"],
                "properties": SMALL,
            },
            {"name": "n", "podm_id": PODM, "colour": "red"},
            {"podm_id": PODM, "properties": SMALL},
        ):
            response = self.raw("POST", "/v1/nodes", body)
            detail = self.assertEnvelope(response, 400)["detail"]
            self.assertIn("is not valid under any of the given schemas", detail)
        self.assertEqual([], self.client.list_nodes())

    def test_case_11_unknown_references(self):
        flavor = self.client.create_flavor("small", SMALL)
        err = self.assertRaises(
            vexc.ValenceNotFound,
            self.client.compose_node,
            "n",
            "1d3c9b8e-0000-4000-8000-000000000000",
            flavor_id=flavor["uuid"],
        )
        self.assertIn(
            "Pod Manager 1d3c9b8e-0000-4000-8000-000000000000 not found", str(err)
        )
        err = self.assertRaises(
            vexc.ValenceNotFound, self.client.compose_node, "n", PODM, flavor_id="nope"
        )
        self.assertIn("Flavor nope not found", str(err))
        body = self.assertEnvelope(
            self.raw("POST", "/v1/nodes", {"name": "n"}), 500, "KeyError"
        )
        self.assertEqual("'podm_id'", body["detail"])
        self.assertRaises(vexc.ValenceServerError, self.client.compose, {"name": "n"})

    def test_case_12_list_filters(self):
        a = self.client.compose_node("n1", PODM, properties=SMALL)
        self.client.compose_node("n10", PODM, properties=SMALL)
        self.assertEqual(
            [a["uuid"]], [n["uuid"] for n in self.client.list_nodes(name="n1")]
        )
        self.assertEqual(2, len(self.client.list_nodes(podm_id=PODM)))
        self.assertEqual([], self.client.list_nodes(podm_id="other"))
        self.assertEnvelope(self.raw("GET", "/v1/nodes?foo=bar"), 500, "AttributeError")

    def test_case_13_unknown_node(self):
        for method in ("GET", "DELETE"):
            body = self.assertEnvelope(self.raw(method, "/v1/nodes/nope"), 404)
            self.assertEqual(
                "Composed node 'nope' not found in database.", body["detail"]
            )
        self.assertRaises(vexc.ValenceNotFound, self.client.get_node, "nope")
        self.assertFalse(self.client.release_node("nope"))

    def test_case_14_detail_has_what_enrollment_needs(self):
        node = self.client.compose_node(
            "n1",
            PODM,
            properties=dict(
                SMALL, local_drives=[{"capacity_gib": "100", "type": "SSD"}]
            ),
        )
        detail = self.client.get_node(node["uuid"])
        for key in (
            "uuid",
            "name",
            "podm_id",
            "index",
            "resource_uri",
            "created_at",
            "updated_at",
        ):
            self.assertIn(key, detail)
        self.assertEqual(PODM, detail["podm_id"])
        self.assertIsInstance(detail["computer_system"], str)
        self.assertTrue(detail["computer_system"].startswith("/redfish/v1/Systems/"))
        self.assertRegex(
            detail["metadata"]["network"][0]["mac"], r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$"
        )
        self.assertGreaterEqual(detail["cpu_cores"], 4)
        self.assertGreaterEqual(detail["ram_mib"], 8192)
        self.assertGreaterEqual(detail["disk_gb"], 100)
        self.assertIn(detail["power_state"], ("on", "off"))

    def test_case_15_delete_then_gone(self):
        node = self.client.compose_node("n1", PODM, properties=SMALL)
        response = self.raw("DELETE", f"/v1/nodes/{node['uuid']}")
        self.assertEqual(200, response.status_code)
        self.assertIsNone(response.json())
        self.assertRaises(vexc.ValenceNotFound, self.client.get_node, node["uuid"])
        again = self.client.compose_node("n2", PODM, properties=SMALL)
        self.assertTrue(self.client.release_node(again["uuid"]))
        self.assertFalse(self.client.release_node(again["uuid"]))

    def test_case_16_actions(self):
        node = self.client.compose_node("n1", PODM, properties=SMALL)
        path = f"/v1/nodes/{node['uuid']}/action"
        response = self.raw("POST", path, {"Reset": {"Type": "On"}})
        self.assertEqual(204, response.status_code)
        self.assertEqual(b"", response.content)
        self.assertEqual(
            204,
            self.raw(
                "POST", path, {"Boot": {"Enabled": "Once", "Target": "Pxe"}}
            ).status_code,
        )
        for bad in (
            {"Reset": {"Type": "ForceRestart"}},
            {"Reset": {"Type": "On"}, "Boot": {"Enabled": "Once", "Target": "Pxe"}},
            {"attach": {"uuid": "x"}},
        ):
            self.assertEnvelope(self.raw("POST", path, bad), 400)
        # Schema first, then lookup: bad body + unknown node -> 400.
        self.assertEnvelope(self.raw("POST", "/v1/nodes/nope/action", {"x": 1}), 400)
        self.assertEnvelope(
            self.raw("POST", "/v1/nodes/nope/action", {"Reset": {"Type": "On"}}), 404
        )
        self.client.reset_node(node["uuid"], "ForceOff")
        self.client.set_boot_source(node["uuid"], "Hdd", "Continuous")
        self.assertEqual("off", self.client.get_node(node["uuid"])["power_state"])

    def test_case_17_manage_known_index_conflicts(self):
        node = self.client.compose_node("n1", PODM, properties=SMALL)
        body = self.assertEnvelope(
            self.raw(
                "POST",
                "/v1/nodes/manage",
                {"podm_id": PODM, "node_index": node["index"]},
            ),
            409,
            "Conflict",
            "Resource Already Exists",
        )
        self.assertEqual(
            f"Node '{node['index']}' already managed by Valence", body["detail"]
        )

    def test_case_18_register_without_an_ironic(self):
        node = self.client.compose_node("n1", PODM, properties=SMALL)
        closed = f"http://127.0.0.1:{redfish.free_port()}"
        unreachable = self.useFixture(
            mv_fixtures.Simulator(
                self.useFixture(fixtures.TempDir()).path, systems=1, ironic_url=closed
            )
        )
        for sim, uuid in ((self.sim, node["uuid"]), (unreachable, "nope")):
            # The driver is loaded first: even an unknown node gets this.
            response = requests.post(
                f"{sim.url}/v1/nodes/{uuid}/register", json={}, timeout=30
            )
            body = self.assertEnvelope(
                response, 500, "Internal Server Error", "An unknown exception occured"
            )
            self.assertEqual("Failed to load ironic driver", body["detail"])
        error = self.assertRaises(
            vexc.ValenceServerError, self.client.register_node, node["uuid"]
        )
        self.assertEqual("Failed to load ironic driver", error.detail)
        self.assertNotIn("managed_by", self.client.get_node(node["uuid"]))

    def test_case_20_no_capacity(self):
        for i in range(self.systems):
            self.client.compose_node(f"n{i}", PODM, properties=SMALL)
        response = self.raw(
            "POST",
            "/v1/nodes",
            {"name": "one-too-many", "podm_id": PODM, "properties": SMALL},
        )
        body = self.assertEnvelope(
            response,
            409,
            "Base.1.0.ResourcesStateMismatch",
            "Conflict during allocation",
        )
        self.assertEqual(
            "There are no computer systems available for this allocation request.",
            body["detail"],
        )
        err = self.assertRaises(
            vexc.ValenceNoCapacity,
            self.client.compose_node,
            "one-too-many",
            PODM,
            properties=SMALL,
        )
        self.assertEqual(409, err.status)

    def test_requirements_are_honoured(self):
        err = self.assertRaises(
            vexc.ValenceNoCapacity,
            self.client.compose_node,
            "huge",
            PODM,
            properties={"processor": {"total_cores": "4000"}},
        )
        self.assertIn("no computer systems", str(err))
        err = self.assertRaises(
            vexc.ValenceNoCapacity,
            self.client.compose_node,
            "bigdisk",
            PODM,
            properties={"local_drives": [{"capacity_gib": "99999"}]},
        )
        self.assertIn("no drives", str(err))
        self.assertEqual([], self.client.list_nodes())

    def test_drives_are_not_handed_out_twice(self):
        # 4 systems, 4 SSDs: four one-SSD nodes take every SSD.
        nodes = [
            self.client.compose_node(
                f"n{i}",
                PODM,
                properties={"local_drives": [{"capacity_gib": "100", "type": "SSD"}]},
            )
            for i in range(4)
        ]
        drives = [
            d for n in nodes for d in self.sim.state.nodes[n["uuid"]]["drive_ids"]
        ]
        self.assertEqual(len(drives), len(set(drives)))

    def test_state_survives_a_restart(self):
        flavor = self.client.create_flavor("small", SMALL)
        node = self.client.compose_node("n1", PODM, properties=SMALL)
        self.sim.restart()
        client = self.sim.client()
        self.assertEqual([node["uuid"]], [n["uuid"] for n in client.list_nodes()])
        self.assertEqual(flavor["uuid"], client.get_flavor(flavor["uuid"])["uuid"])
        # The system it holds is still taken.
        for i in range(self.systems - 1):
            client.compose_node(f"m{i}", PODM, properties=SMALL)
        self.assertRaises(
            vexc.ValenceNoCapacity, client.compose_node, "x", PODM, properties=SMALL
        )


class TestFaultsAndUnknownOutcomes(SimulatorTestCase):
    def fault(self, **body):
        response = self.raw("POST", "/admin/faults", body)
        self.assertEqual(200, response.status_code, response.text)

    def test_injected_compose_failure_leaves_nothing(self):
        self.fault(operation="compose", status=500, count=2)
        for _ in range(2):
            err = self.assertRaises(
                vexc.ValenceServerError,
                self.client.compose_node,
                "n1",
                PODM,
                properties=SMALL,
            )
            self.assertEqual(500, err.status)
        self.assertEqual([], self.client.list_nodes())
        self.assertEqual(
            "n1", self.client.compose_node("n1", PODM, properties=SMALL)["name"]
        )

    def test_failure_after_commit_leaves_a_failed_node(self):
        self.fault(operation="compose", status=500, after_commit=True)
        self.assertRaises(
            vexc.ValenceServerError,
            self.client.compose_node,
            "n1",
            PODM,
            properties=SMALL,
        )
        left = self.client.find_node_by_name("n1")
        self.assertIsNotNone(left)
        self.assertEqual("Failed", self.client.get_node(left["uuid"])["node_state"])

    def test_no_answer_then_lookup_by_name_adopts_the_node(self):
        # Valence composes at once but answers after the client gave up.
        self.fault(operation="compose", status=0, delay=2, after_commit=True)
        client = self.sim.client(read_timeout=0.5)
        node = client.compose_node("slow", PODM, properties=SMALL)
        self.assertEqual("slow", node["name"])
        self.assertEqual(
            [node["uuid"]], [n["uuid"] for n in self.client.list_nodes(name="slow")]
        )

    def test_no_answer_and_no_node_yet_is_an_unknown_outcome(self):
        # Valence is still working when the client gives up and looks.
        self.fault(operation="compose", status=0, delay=1.5)
        client = self.sim.client(read_timeout=0.5)
        err = self.assertRaises(
            vexc.ValenceComposeOutcomeUnknown,
            client.compose_node,
            "late",
            PODM,
            properties=SMALL,
        )
        self.assertIn("late", str(err))
        # Never retried blindly: exactly one node appears once Valence is done.
        deadline = time.monotonic() + 10
        while not self.client.list_nodes(name="late") and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(1, len(self.client.list_nodes(name="late")))

    def test_unreachable_valence(self):
        dead = valence_client.ValenceClient(
            f"http://127.0.0.1:{redfish.free_port()}", retries=1, retry_interval=0
        )
        self.assertRaises(vexc.ValenceUnreachable, dead.list_nodes)
        self.assertRaises(
            vexc.ValenceComposeOutcomeUnknown,
            dead.compose_node,
            "n",
            PODM,
            properties=SMALL,
        )

    def test_release_fault_then_retry(self):
        node = self.client.compose_node("n1", PODM, properties=SMALL)
        self.fault(operation="release", status=500)
        self.assertRaises(
            vexc.ValenceServerError, self.client.delete_node, node["uuid"]
        )
        self.assertIsNotNone(self.client.find_node_by_name("n1"))
        self.assertTrue(self.client.release_node(node["uuid"]))

    def test_unavailable_release_is_retried(self):
        node = self.client.compose_node("n1", PODM, properties=SMALL)
        self.fault(operation="release", status=503, count=2)
        client = self.sim.client(retries=3, retry_interval=0.01)
        client.delete_node(node["uuid"])
        self.assertEqual([], client.list_nodes())

    def test_bad_fault_requests(self):
        self.assertEqual(
            400, self.raw("POST", "/admin/faults", {"operation": "boil"}).status_code
        )
        self.fault(operation="compose", count=3)
        self.assertEqual(1, len(self.raw("GET", "/admin/faults").json()))
        self.assertEqual([], self.raw("DELETE", "/admin/faults").json())


class TestConcurrency(SimulatorTestCase):
    systems = 20

    def test_fifty_composes_on_twenty_systems(self):
        def compose(i):
            try:
                return self.client.compose_node(f"c{i}", PODM, properties=SMALL)
            except vexc.ValenceNoCapacity as e:
                return e

        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(compose, range(50)))
        ok = [r for r in results if isinstance(r, dict)]
        full = [r for r in results if isinstance(r, vexc.ValenceNoCapacity)]
        self.assertEqual(20, len(ok))
        self.assertEqual(30, len(full))
        systems = {self.sim.state.nodes[n["uuid"]]["system_id"] for n in ok}
        self.assertEqual(20, len(systems))

        self.assertTrue(self.client.release_node(ok[0]["uuid"]))
        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            again = list(pool.map(compose, range(100, 110)))
        self.assertEqual(1, sum(isinstance(r, dict) for r in again))
        self.assertEqual(20, len(self.client.list_nodes()))


class TestRedfish(SimulatorTestCase):
    systems = 2
    with_redfish = True

    def test_composed_system_answers_redfish_power_through_sushy(self):
        node = self.client.compose_node("n1", PODM, properties=SMALL)
        detail = self.client.get_node(node["uuid"])
        emulator = self.sim.sim.emulator
        conn = sushy.Sushy(
            f"{emulator.url}/redfish/v1",
            auth=sushy.auth.BasicAuth(emulator.username, emulator.password),
        )
        system = conn.get_system(detail["computer_system"])
        system.reset_system(sushy.RESET_ON)
        self._wait_power(system, sushy.POWER_STATE_ON)
        self.assertEqual("on", self.client.get_node(node["uuid"])["power_state"])
        system.reset_system(sushy.RESET_FORCE_OFF)
        self._wait_power(system, sushy.POWER_STATE_OFF)
        # Through Valence's action, the same system powers on.
        self.client.reset_node(node["uuid"], "On")
        self._wait_power(system, sushy.POWER_STATE_ON)
        self.assertEqual(
            {
                nic.mac
                for nic in self.sim.state.pod.system(
                    self.sim.state.nodes[node["uuid"]]["system_id"]
                ).nics
            },
            {n["mac"] for n in detail["metadata"]["network"]},
        )

    def _wait_power(self, system, state):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            system.refresh()
            if system.power_state == state:
                return
            time.sleep(0.1)
        self.fail(f"power state stayed {system.power_state}, wanted {state}")
