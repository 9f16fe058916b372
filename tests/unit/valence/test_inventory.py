"""The operator's inventory of ExpEther hosts, and how a host is found."""

import json
import os

from mogan_valence.common import coordination
from mogan_valence.valence import expether
from mogan_valence.valence import inventory
from tests import base
from tests.unit import fake_ironic

SECRET = "s3cr3t-bmc-password"
ENTRY = {
    "eesv": "0x8cdf9d53a001",
    "mac": "8C:DF:9D:53:A0:01",
    "driver": "redfish",
    "driver_info": {
        "redfish_address": "https://bmc-1.example",
        "redfish_system_id": "/redfish/v1/Systems/1",
        "redfish_username": "admin",
        "redfish_password": SECRET,
    },
}
DETAIL = {
    "index": "0x8cdf9d53a001",
    "mac_address": "8c:df:9d:53:a0:01",
    "host_serial_number": "SN-1",
}
HOST = "aaaaaaaa-0000-4000-8000-00000000000a"
VALENCE_NODE = "bbbbbbbb-0000-4000-8000-00000000000b"
INSTANCE = "cccccccc-0000-4000-8000-00000000000c"


class TestParse(base.TestCase):
    def test_json_and_yaml(self):
        from_json = inventory.parse(json.dumps([ENTRY]))
        yaml_text = (
            "- host_serial_number: SN-2\n  driver: ipmi\n"
            "  driver_info: {ipmi_address: 10.0.0.2}\n"
        )
        from_yaml = inventory.parse(yaml_text)
        self.assertEqual("8c:df:9d:53:a0:01", from_json[0]["mac"])
        self.assertEqual("SN-2", from_yaml[0]["host_serial_number"])
        self.assertEqual([], inventory.parse(""))

    def test_bad_entries_are_named_and_secrets_never_shown(self):
        cases = {
            "names no host": [{"driver": "redfish", "driver_info": {}}],
            "driver_info": [{"mac": ENTRY["mac"], "driver": "redfish"}],
            "mac": [dict(ENTRY, mac="not-a-mac")],
            "colour": [dict(ENTRY, colour="red")],
            "same eesv": [ENTRY, dict(ENTRY, mac="8c:df:9d:53:a0:02")],
            "list of host entries": {"hosts": []},
            "object of the driver's fields": [
                dict(ENTRY, driver_info=f"https://admin:{SECRET}@bmc")
            ],
            "string of 1 to 255": [dict(ENTRY, driver=[SECRET])],
        }
        for word, data in cases.items():
            error = self.assertRaises(
                inventory.InventoryError, inventory.parse, json.dumps(data)
            )
            self.assertIn(word, str(error))
            self.assertNotIn(SECRET, str(error))
        error = self.assertRaises(inventory.InventoryError, inventory.parse, "- [")
        self.assertIn("neither JSON nor YAML", str(error))

    def test_the_file_is_read_again_when_it_changes(self):
        path = os.path.join(self.tmp_dir, "hosts.json")
        with open(path, "w") as f:
            json.dump([ENTRY], f)
        found = inventory.Inventory(path)
        self.assertEqual("redfish", found.find(None, ENTRY["mac"], None)["driver"])
        with open(path, "w") as f:
            json.dump([dict(ENTRY, driver="ipmi", mac="8c:df:9d:53:a0:09")], f)
        os.utime(path, ns=(1, 1))
        self.assertIsNone(found.find(None, ENTRY["mac"], None))
        self.assertEqual("ipmi", found.find(ENTRY["eesv"], None, None)["driver"])
        missing = inventory.Inventory(path + ".gone")
        self.assertRaises(inventory.InventoryError, missing.entries)
        self.assertEqual([], inventory.Inventory(None).entries())


class TestHosts(base.TestCase):
    def setUp(self):
        super().setUp()
        self.config(group="valence", enroll_driver="redfish")
        self.ironic = fake_ironic.FakeIronic({HOST: "baremetal"})
        self.path = os.path.join(self.tmp_dir, "hosts.json")
        with open(self.path, "w") as f:
            json.dump([], f)

    def hosts(self, path=None):
        return expether.Hosts(
            base.CONF, self.ironic, inventory.Inventory(path or self.path)
        )

    def test_an_ironic_node_with_the_eesv_mac_is_borrowed(self):
        self.ironic.nodes[HOST]["ports"] = [DETAIL["mac_address"].upper()]
        host = self.hosts().find(VALENCE_NODE, INSTANCE, DETAIL)
        self.assertEqual(HOST, host.node["uuid"])
        self.assertIsNone(host.driver)

    def test_a_host_in_use_or_not_available_is_refused_saying_why(self):
        self.ironic.nodes[HOST]["ports"] = [DETAIL["mac_address"]]
        self.ironic.nodes[HOST]["instance_uuid"] = "another-instance"
        error = self.assertRaises(
            expether.UnmanageableHost, self.hosts().find, VALENCE_NODE, INSTANCE, DETAIL
        )
        self.assertIn("in use by instance another-instance", str(error))
        self.ironic.nodes[HOST]["instance_uuid"] = None
        self.ironic.nodes[HOST]["provision_state"] = "active"
        error = self.assertRaises(
            expether.UnmanageableHost, self.hosts().find, VALENCE_NODE, INSTANCE, DETAIL
        )
        self.assertIn("'active', not 'available'", str(error))
        # Its own instance's earlier try borrowed it: fine in any state.
        self.ironic.nodes[HOST]["instance_uuid"] = INSTANCE
        self.assertEqual(
            HOST, self.hosts().find(VALENCE_NODE, INSTANCE, DETAIL).node["uuid"]
        )

    def test_else_the_inventory_names_its_driver(self):
        with open(self.path, "w") as f:
            entry = {k: v for k, v in ENTRY.items() if k not in ("mac", "eesv")}
            json.dump([dict(entry, host_serial_number="SN-1")], f)
        host = self.hosts().find(VALENCE_NODE, INSTANCE, DETAIL)
        self.assertIsNone(host.node)
        self.assertEqual("redfish", host.driver["driver"])
        self.assertEqual(SECRET, host.driver["driver_info"]["redfish_password"])

    def test_a_node_made_from_the_inventory_is_made_again_not_borrowed(self):
        with open(self.path, "w") as f:
            json.dump([ENTRY], f)
        self.ironic.create_node(VALENCE_NODE, driver="redfish")
        self.ironic.create_port(VALENCE_NODE, DETAIL["mac_address"])
        host = self.hosts().find(VALENCE_NODE, INSTANCE, DETAIL)
        self.assertIsNone(host.node)
        self.assertEqual("redfish", host.driver["driver"])

    def test_no_way_to_manage_it_names_what_is_missing(self):
        error = self.assertRaises(
            expether.UnmanageableHost, self.hosts().find, VALENCE_NODE, INSTANCE, DETAIL
        )
        for word in (DETAIL["index"], DETAIL["mac_address"], "SN-1", self.path):
            self.assertIn(word, str(error))
        self.config(group="valence", enroll_driver="fake-hardware")
        host = self.hosts().find(VALENCE_NODE, INSTANCE, DETAIL)
        self.assertEqual("fake-hardware", host.driver["driver"])


class TestComposeSlots(base.TestCase):
    class Valence:
        def __init__(self, driver):
            self.driver = driver
            self.reads = 0

        def get_pod_manager(self, podm_id):
            self.reads += 1
            return {"uuid": podm_id, "driver": self.driver}

    def slots(self, driver, **conf):
        if conf:
            self.config(group="valence", **conf)
        valence = self.Valence(driver)
        return expether.PodManagers(base.CONF, valence), valence

    @staticmethod
    def free(pods, podm_id, limit) -> bool:
        """Whether a compose on ``podm_id`` could start now (of ``limit``)."""
        try:
            with pods.coordination.slot(f"compose-{podm_id}", limit, timeout=0):
                return True
        except coordination.CoordinationError:
            return False

    def test_expether_composes_one_at_a_time_by_default(self):
        pods, valence = self.slots("expether")
        self.assertEqual(expether.EXPETHER, pods.shape("p"))
        with pods.compose_slot("p"):
            self.assertFalse(self.free(pods, "p", 1))
        self.assertTrue(self.free(pods, "p", 1))
        self.assertEqual(1, valence.reads)  # the shape is read once

    def test_rsd_has_no_limit_unless_configured(self):
        pods, _ = self.slots("redfishv1")
        self.assertEqual(expether.RSD, pods.shape("p"))
        with pods.compose_slot("p"), pods.compose_slot("p"):
            self.assertTrue(self.free(pods, "p", 1))  # no slot was taken
        pods, _ = self.slots("redfishv1", max_concurrent_composes=2)
        with pods.compose_slot("q"):
            with pods.compose_slot("q"):
                self.assertFalse(self.free(pods, "q", 2))
            self.assertTrue(self.free(pods, "q", 2))
        pods, _ = self.slots("expether", max_concurrent_composes=0)
        with pods.compose_slot("r"), pods.compose_slot("r"):
            self.assertTrue(self.free(pods, "r", 1))

    def test_slots_are_the_engine_coordinators(self):
        shared = coordination.LocalCoordinator()
        one = expether.PodManagers(base.CONF, self.Valence("expether"), shared)
        two = expether.PodManagers(base.CONF, self.Valence("expether"), shared)
        with one.compose_slot("p"):
            self.assertFalse(self.free(two, "p", 1))
