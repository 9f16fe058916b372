"""The simulator's Valence API where it must match the real server: duplicate
names, Valence's own database outage through the fault switch, the flavor
schema, and what the RSD backend has of the ExpEther additions."""

import requests

from mogan_valence.simulator import state as sim_state
from mogan_valence.valence import exceptions as vexc
from tests import base
from tests import fixtures as mv_fixtures

PODM = mv_fixtures.PODM_ID


class SimulatorApiTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.sim = self.useFixture(
            mv_fixtures.Simulator(self.tmp_dir + "/sim", systems=4)
        )
        self.client = self.sim.client()

    def fault(self, **body):
        response = requests.post(f"{self.sim.url}/admin/faults", json=body, timeout=10)
        self.assertEqual(200, response.status_code, response.text)
        return response.json()


class TestDuplicateNames(SimulatorApiTestCase):
    def test_two_composes_with_one_name_make_two_nodes(self):
        first = self.client.compose_node("twin", PODM, properties={})
        second = self.client.compose_node("twin", PODM, properties={})
        self.assertNotEqual(first["uuid"], second["uuid"])
        found = self.client.find_nodes_by_name("twin", PODM)
        self.assertEqual({first["uuid"], second["uuid"]}, {n["uuid"] for n in found})
        # Oldest first; equal timestamps (one-second resolution) by uuid.
        self.assertEqual(
            sorted(found, key=lambda n: (n["created_at"], n["uuid"])), found
        )
        self.assertEqual(
            found[0]["uuid"], self.client.find_node_by_name("twin")["uuid"]
        )


class TestDatabaseOutage(SimulatorApiTestCase):
    def test_fault_answers_what_valence_answers(self):
        self.fault(operation="list", code=sim_state.ETCD_CONNECTION_FAILED)
        response = requests.get(f"{self.sim.url}/v1/nodes", timeout=10)
        self.assertEqual(500, response.status_code)
        body = response.json()
        self.assertEqual(
            ("EtcdConnectionFailed", "EtcdConnectionFailed", 500),
            (body["code"], body["title"], body["status"]),
        )
        self.assertIn("Connection to etcd failed", body["detail"])

    def test_client_retries_lists_and_gets_through_it(self):
        node = self.client.compose_node("n1", PODM, properties={})
        client = self.sim.client(retries=2, retry_interval=0)
        self.fault(operation="list", code="EtcdConnectionFailed", count=2)
        self.assertEqual([node["uuid"]], [n["uuid"] for n in client.list_nodes()])
        self.fault(operation="get", code="EtcdConnectionFailed")
        self.assertEqual(node["uuid"], client.get_node(node["uuid"])["uuid"])
        self.fault(operation="get", code="EtcdConnectionFailed", count=5)
        self.assertRaises(vexc.ValenceServiceUnavailable, client.get_node, node["uuid"])

    def test_code_must_be_a_string(self):
        response = requests.post(
            f"{self.sim.url}/admin/faults",
            json={"operation": "list", "code": 5},
            timeout=10,
        )
        self.assertEqual(400, response.status_code)


class TestRsdBackend(SimulatorApiTestCase):
    def test_pod_manager_is_redfishv1_with_a_null_status(self):
        [podm] = requests.get(f"{self.sim.url}/v1/pod_managers", timeout=10).json()
        self.assertEqual(("redfishv1", None), (podm["driver"], podm["status"]))

    def test_flavor_with_local_drives_is_refused_but_compose_keeps_it(self):
        drives = {"local_drives": [{"capacity_gib": "100", "type": "SSD"}]}
        for properties in (drives, {"network": {}}, {"memory": {"capacity_mib": 8}}):
            response = requests.post(
                f"{self.sim.url}/v1/flavors",
                json={"name": "f", "properties": properties},
                timeout=10,
            )
            self.assertEqual(400, response.status_code, response.text)
            self.assertEqual(
                ("Bad Request", "Validation Error"),
                (response.json()["code"], response.json()["title"]),
            )
        self.assertEqual([], self.client.list_flavors())
        # The RSD 2.x extension of compose, which the engine's disks use.
        node = self.client.compose_node("n1", PODM, properties=drives)
        self.assertEqual(
            [{"capacity_gib": 960, "type": "SSD"}],
            self.client.get_node(node["uuid"])["metadata"]["local_drives"],
        )

    def test_no_devices_and_no_double_allocation(self):
        self.assertEqual(
            [], requests.get(f"{self.sim.url}/v1/devices", timeout=10).json()
        )
        response = requests.get(f"{self.sim.url}/v1/devices/nope", timeout=10)
        self.assertEqual(404, response.status_code)
        response = requests.post(
            f"{self.sim.url}/admin/faults",
            json={"operation": "compose", "double_allocate": True},
            timeout=10,
        )
        self.assertEqual(400, response.status_code)
        self.assertIn("--backend expether", response.json()["detail"])

    def test_admin_hosts_lists_the_systems(self):
        hosts = requests.get(f"{self.sim.url}/admin/hosts", timeout=10).json()
        self.assertEqual(4, len(hosts))
        self.assertEqual(
            {
                "system",
                "mac",
                "redfish_system_id",
                "redfish_address",
                "redfish_username",
                "redfish_password",
            },
            set(hosts[0]),
        )
