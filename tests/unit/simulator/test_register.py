from mogan_valence.simulator import register
from tests import base

DETAIL = {
    "name": "mogan-1",
    "computer_system": "/redfish/v1/Systems/abc",
    "metadata": {
        "network": [{"mac": "52:54:00:00:00:01"}, {"mac": "52:54:00:00:00:02"}]
    },
}
PODM = {
    "url": "http://127.0.0.1:8000",
    "authentication": [
        {"type": "basic", "auth_items": {"username": "admin", "password": "pw"}}
    ],
}


class TestNodeParams(base.TestCase):
    def test_redfish_node_for_the_pod_manager(self):
        node, port = register.node_params(DETAIL, PODM, {})
        self.assertEqual(
            {
                "driver": "redfish",
                "name": "mogan-1",
                "driver_info": {
                    "redfish_address": "http://127.0.0.1:8000",
                    "redfish_username": "admin",
                    "redfish_password": "pw",
                    "redfish_system_id": "/redfish/v1/Systems/abc",
                },
            },
            node,
        )
        self.assertEqual({"address": "52:54:00:00:00:01"}, port)

    def test_request_is_merged_over_and_passed_on(self):
        node, _ = register.node_params(
            DETAIL,
            PODM,
            {
                "driver": "fake-hardware",
                "driver_info": {"redfish_verify_ca": False, "redfish_username": "u"},
                "extra": {"a": 1},
            },
        )
        self.assertEqual("fake-hardware", node["driver"])
        self.assertEqual({"a": 1}, node["extra"])
        self.assertEqual("u", node["driver_info"]["redfish_username"])
        self.assertFalse(node["driver_info"]["redfish_verify_ca"])
        self.assertEqual("pw", node["driver_info"]["redfish_password"])

    def test_no_nic_no_port(self):
        _, port = register.node_params(dict(DETAIL, metadata={}), PODM, {})
        self.assertEqual({}, port)
