"""The real IronicClient wrapper over python-ironicclient, against a small
Ironic REST API on requests-mock: which requests a step sends, from every
state a kill can leave it in."""

import json
import logging
import re

import fixtures
import requests_mock
from requests_mock.contrib import fixture as rm_fixture
from ironicclient import client as ironic_client
from keystoneauth1 import session as ks_session

from mogan_valence.ironic import client as ironic_mod
from mogan_valence.ironic import exceptions as exc
from tests import base

ENDPOINT = "http://ironic.test"
NODE = "aaaaaaaa-0000-4000-8000-000000000001"
OTHER = "bbbbbbbb-0000-4000-8000-000000000002"
INSTANCE = "11111111-0000-4000-8000-000000000001"
JSON = {"Content-Type": "application/json"}

# Where a provision verb takes a node when it settles.
_VERB_ENDS = {"manage": "manageable", "provide": "available", "active": "active"}


class IronicApi:
    """The few Ironic endpoints the wrapper uses, with node state.

    ``node["_then"]`` is a list of (provision_state, target) a node goes
    through, one per GET after the current answer: a transition in progress.
    """

    def __init__(self, mocker: requests_mock.Mocker):
        self.nodes: dict[str, dict] = {}
        self.ports: list[dict] = []
        self.allocations: dict[str, dict] = {}
        node_url = re.compile(rf"^{ENDPOINT}/v1/nodes/(?P<uuid>[0-9a-f-]+)(\?.*)?$")
        mocker.get(node_url, json=self._get_node, headers=JSON)
        mocker.patch(node_url, json=self._patch_node, headers=JSON)
        mocker.put(
            re.compile(rf"^{ENDPOINT}/v1/nodes/[0-9a-f-]+/states/provision$"),
            text=self._set_provision,
            status_code=202,
        )
        mocker.post(f"{ENDPOINT}/v1/nodes", json=self._create_node, headers=JSON)
        mocker.get(
            re.compile(rf"^{ENDPOINT}/v1/ports(/detail)?(\?.*)?$"),
            json=self._list_ports,
            headers=JSON,
        )
        mocker.post(f"{ENDPOINT}/v1/ports", json=self._create_port, headers=JSON)
        alloc_url = re.compile(rf"^{ENDPOINT}/v1/allocations/(?P<uuid>[0-9a-f-]+)$")
        mocker.get(alloc_url, json=self._get_allocation, headers=JSON)
        mocker.delete(alloc_url, text=self._delete_allocation, status_code=204)
        mocker.post(
            f"{ENDPOINT}/v1/allocations", json=self._create_allocation, headers=JSON
        )
        # last_error of the next allocations to fail, in order.
        self.allocation_errors: list[str] = []
        self.mocker = mocker

    def add_node(self, uuid=NODE, state="available", target=None, **fields):
        self.nodes[uuid] = {
            "uuid": uuid,
            "name": None,
            "provision_state": state,
            "target_provision_state": target,
            "instance_uuid": None,
            "allocation_uuid": None,
            "maintenance": False,
            "retired": False,
            "last_error": None,
            "extra": {},
            "properties": {},
            "_then": [],
            **fields,
        }
        return self.nodes[uuid]

    def requests(self, method=None, suffix=None):
        """(method, path, body) of each request sent, in order."""
        found = []
        for r in self.mocker.request_history:
            if method and r.method != method:
                continue
            if suffix and not r.path.endswith(suffix):
                continue
            found.append((r.method, r.path, r.json() if r.body else None))
        return found

    def provision_verbs(self):
        return [body["target"] for _, _, body in self.requests("PUT", "/provision")]

    @staticmethod
    def _public(node):
        answer = {k: v for k, v in node.items() if not k.startswith("_")}
        if "driver_info" in answer:
            # As Ironic does: secrets never come back in an answer.
            answer["driver_info"] = {
                k: "******" if "password" in k else v
                for k, v in answer["driver_info"].items()
            }
        return answer

    def _get_node(self, request, context):
        uuid = request.path.rsplit("/", 1)[1]
        node = self.nodes.get(uuid)
        if node is None:
            context.status_code = 404
            return {"error_message": json.dumps({"faultstring": "not found"})}
        answer = self._public(node)
        if node["_then"]:
            node["provision_state"], node["target_provision_state"] = node["_then"].pop(
                0
            )
        return answer

    def _patch_node(self, request, context):
        node = self.nodes[request.path.rsplit("/", 1)[1]]
        for op in request.json():
            *parents, key = op["path"].lstrip("/").split("/")
            target = node
            for parent in parents:
                target = target.setdefault(parent, {})
            if op["op"] == "remove" and parents:
                target.pop(key, None)  # a key of extra, properties, ...
            elif op["op"] == "remove":
                target[key] = None  # a field of the node
            else:
                target[key] = op["value"]
        return self._public(node)

    def _set_provision(self, request, context):
        node = self.nodes[request.path.split("/")[3]]
        verb = request.json()["target"]
        if verb == "deleted":
            end = "manageable" if node["retired"] else "available"
        else:
            end = _VERB_ENDS[verb]
        node["provision_state"], node["target_provision_state"] = end, None
        return ""

    def _create_node(self, request, context):
        body = request.json()
        node = self.add_node(body.pop("uuid"), state="enroll", **body)
        context.status_code = 201
        return self._public(node)

    def _list_ports(self, request, context):
        address = request.qs.get("address", [None])[0]
        return {
            "ports": [
                p for p in self.ports if address is None or p["address"] == address
            ]
        }

    def _create_port(self, request, context):
        port = dict(request.json(), uuid=f"p-{len(self.ports)}")
        self.ports.append(port)
        context.status_code = 201
        return port

    def _get_allocation(self, request, context):
        allocation = self.allocations.get(request.path.rsplit("/", 1)[1])
        if allocation is None:
            context.status_code = 404
            return {"error_message": json.dumps({"faultstring": "not found"})}
        return allocation

    def _delete_allocation(self, request, context):
        self.allocations.pop(request.path.rsplit("/", 1)[1], None)
        return ""

    def _create_allocation(self, request, context):
        body = request.json()
        error = self.allocation_errors.pop(0) if self.allocation_errors else None
        allocation = {
            "uuid": body["uuid"],
            "state": "error" if error else "active",
            "node_uuid": None if error else NODE,
            "last_error": error,
        }
        self.allocations[body["uuid"]] = allocation
        context.status_code = 201
        return allocation


class IronicClientTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.config(
            group="engine",
            poll_interval_min=0.01,
            poll_interval_max=0.01,
            node_action_timeout=5,
            undeploy_timeout=5,
        )
        mocker = self.useFixture(rm_fixture.Fixture())
        self.api = IronicApi(mocker)
        client = ironic_client.get_client(
            "1",
            session=ks_session.Session(),
            endpoint=ENDPOINT,
            os_ironic_api_version="1.81",
        )
        self.ironic = ironic_mod.IronicClient(client, base.CONF)


class TestMakeAvailable(IronicClientTestCase):
    """Enrollment resumed after a kill takes the node on from where it is."""

    def test_from_enroll_manages_then_provides(self):
        self.api.add_node(state="enroll")
        node = self.ironic.make_available(NODE)
        self.assertEqual("available", node["provision_state"])
        self.assertEqual(["manage", "provide"], self.api.provision_verbs())

    def test_while_verifying_waits_then_only_provides(self):
        node = self.api.add_node(state="verifying", target="manageable")
        node["_then"] = [("verifying", "manageable"), ("manageable", None)]
        node = self.ironic.make_available(NODE)
        self.assertEqual("available", node["provision_state"])
        self.assertEqual(["provide"], self.api.provision_verbs())

    def test_from_manageable_only_provides(self):
        self.api.add_node(state="manageable")
        self.ironic.make_available(NODE)
        self.assertEqual(["provide"], self.api.provision_verbs())

    def test_while_cleaning_towards_available_only_waits(self):
        node = self.api.add_node(state="cleaning", target="available")
        node["_then"] = [("clean wait", "available"), ("available", None)]
        node = self.ironic.make_available(NODE)
        self.assertEqual("available", node["provision_state"])
        self.assertEqual([], self.api.provision_verbs())

    def test_already_available_sends_nothing(self):
        self.api.add_node(state="available")
        self.ironic.make_available(NODE)
        self.assertEqual([], self.api.provision_verbs())
        self.assertEqual([], self.api.requests("PATCH"))

    def test_a_failed_clean_is_reported_not_provided_again(self):
        self.api.add_node(state="clean failed", target="available")
        self.assertRaises(exc.CleanFailed, self.ironic.make_available, NODE)
        self.assertEqual([], self.api.provision_verbs())


class TestLookBeforeCreate(IronicClientTestCase):
    """A re-run enrollment finds what it made instead of paying
    ironicclient's ten seconds of 409 retries."""

    def test_existing_node_is_used_without_a_post(self):
        self.api.add_node(state="manageable")
        node = self.ironic.create_node(NODE, driver="fake-hardware")
        self.assertEqual(NODE, node["uuid"])
        self.assertEqual([], self.api.requests("POST"))

    def test_missing_node_is_created_once(self):
        node = self.ironic.create_node(NODE, driver="fake-hardware")
        self.assertEqual("enroll", node["provision_state"])
        posts = self.api.requests("POST", "/v1/nodes")
        self.assertEqual(1, len(posts))
        self.assertEqual(NODE, posts[0][2]["uuid"])
        # The POST's answer is the node: only the look before it reads.
        self.assertEqual(1, len(self.api.requests("GET")))

    def test_claimed_node_is_unclaimed_and_deleted_after_one_read(self):
        self.api.add_node(state="manageable", instance_uuid=INSTANCE)
        self.api.mocker.delete(f"{ENDPOINT}/v1/nodes/{NODE}", status_code=204, text="")
        self.assertTrue(self.ironic.delete_node(NODE))
        self.assertEqual(1, len(self.api.requests("GET")))
        self.assertEqual(
            [[{"op": "remove", "path": "/instance_uuid"}]],
            [body for _, _, body in self.api.requests("PATCH")],
        )
        self.assertEqual(1, len(self.api.requests("DELETE")))

    def test_bmc_password_never_reaches_the_logs(self):
        logger = logging.getLogger("keystoneauth")
        self.addCleanup(logger.setLevel, logger.level)
        logger.setLevel(logging.DEBUG)
        logs = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        self.ironic.create_node(
            NODE,
            driver="redfish",
            driver_info={
                "redfish_address": "https://bmc",
                "redfish_username": "admin",
                "redfish_password": "s3cr3t-bmc",
            },
        )
        # The password did reach Ironic...
        post = self.api.requests("POST", "/v1/nodes")[0]
        self.assertEqual("s3cr3t-bmc", post[2]["driver_info"]["redfish_password"])
        # ...and keystoneauth did log at DEBUG (the test is live)...
        self.assertIn("/v1/nodes", logs.output)
        # ...but never the body.
        self.assertNotIn("s3cr3t-bmc", logs.output)

    def test_existing_port_of_this_node_is_not_created_again(self):
        self.api.add_node(state="enroll")
        self.api.ports.append(
            {"uuid": "p-0", "address": "aa:bb:cc:dd:ee:ff", "node_uuid": NODE}
        )
        self.ironic.create_port(NODE, "aa:bb:cc:dd:ee:ff")
        self.assertEqual([], self.api.requests("POST"))

    def test_missing_port_is_created(self):
        self.api.add_node(state="enroll")
        self.ironic.create_port(NODE, "aa:bb:cc:dd:ee:ff")
        self.assertEqual(1, len(self.api.requests("POST", "/v1/ports")))

    def test_a_mac_of_another_node_is_refused_without_a_post(self):
        self.api.ports.append(
            {"uuid": "p-0", "address": "aa:bb:cc:dd:ee:ff", "node_uuid": OTHER}
        )
        self.assertRaises(
            exc.IronicError, self.ironic.create_port, NODE, "aa:bb:cc:dd:ee:ff"
        )
        self.assertEqual([], self.api.requests("POST"))

    def test_existing_active_allocation_is_reused(self):
        self.api.allocations[INSTANCE] = {
            "uuid": INSTANCE,
            "state": "active",
            "node_uuid": NODE,
            "last_error": None,
        }
        node_uuid, allocation = self.ironic.allocate(INSTANCE, "baremetal")
        self.assertEqual((NODE, INSTANCE), (node_uuid, allocation))
        self.assertEqual([], self.api.requests("POST"))

    def test_missing_allocation_is_created(self):
        node_uuid, _ = self.ironic.allocate(INSTANCE, "baremetal")
        self.assertEqual(NODE, node_uuid)
        self.assertEqual(1, len(self.api.requests("POST", "/v1/allocations")))

    def test_an_allocation_failed_inside_ironic_is_tried_again(self):
        self.useFixture(fixtures.MockPatch("time.sleep"))
        self.api.allocation_errors = [
            "Unexpected exception during allocation: (sqlite3.OperationalError) "
            "database is locked"
        ]
        node_uuid, _ = self.ironic.allocate(INSTANCE, "baremetal")
        self.assertEqual(NODE, node_uuid)
        self.assertEqual(2, len(self.api.requests("POST", "/v1/allocations")))

    def test_an_allocation_that_keeps_failing_inside_ironic_gives_up(self):
        self.useFixture(fixtures.MockPatch("time.sleep"))
        self.api.allocation_errors = ["Unexpected exception during allocation: x"] * 3
        self.assertRaises(
            exc.AllocationFailed, self.ironic.allocate, INSTANCE, "baremetal"
        )
        self.assertEqual(3, len(self.api.requests("POST", "/v1/allocations")))
        self.assertEqual({}, self.api.allocations)

    def test_no_node_is_not_tried_again(self):
        self.api.allocation_errors = ["No available nodes match the resource class"]
        self.assertRaises(exc.NoValidNode, self.ironic.allocate, INSTANCE, "baremetal")
        self.assertEqual(1, len(self.api.requests("POST", "/v1/allocations")))


class TestUndeployRetires(IronicClientTestCase):
    def test_retire_marks_the_node_retired_before_the_teardown(self):
        self.api.add_node(state="active")
        node = self.ironic.undeploy(NODE, retire=True)
        sent = [
            (method, body)
            for method, path, body in self.api.requests()
            if method in ("PATCH", "PUT")
        ]
        self.assertEqual("PATCH", sent[0][0])
        self.assertIn({"op": "replace", "path": "/retired", "value": True}, sent[0][1])
        self.assertEqual(("PUT", {"target": "deleted"}), sent[1])
        # Cleaning of a retired node ends in manageable: never schedulable.
        self.assertEqual("manageable", node["provision_state"])

    def test_without_retire_the_node_goes_back_to_the_pool(self):
        self.api.add_node(state="active")
        node = self.ironic.undeploy(NODE)
        self.assertEqual([], self.api.requests("PATCH"))
        self.assertEqual(["deleted"], self.api.provision_verbs())
        self.assertEqual("available", node["provision_state"])

    def test_a_failed_clean_stops_the_teardown_unless_forced(self):
        self.api.add_node(state="clean failed", target="available")
        self.assertRaises(exc.CleanFailed, self.ironic.undeploy, NODE, retire=True)
        self.assertEqual([], self.api.provision_verbs())
        self.ironic.undeploy(NODE, retire=True, force=True)
        self.assertEqual([], self.api.provision_verbs())

    def test_a_node_whose_clean_failed_is_marked_and_manage_does_not_clear_it(self):
        self.api.add_node(state="clean failed")
        self.assertRaises(exc.CleanFailed, self.ironic.undeploy, NODE, retire=True)
        self.assertTrue(self.api.nodes[NODE]["extra"][ironic_mod.NEEDS_CLEAN_KEY])
        # An operator's 'manage' alone: still unclean for the engine.
        self.api.nodes[NODE]["provision_state"] = "manageable"
        self.assertRaises(exc.CleanFailed, self.ironic.undeploy, NODE, retire=True)
        # The operator cleaned it and removed the mark.
        del self.api.nodes[NODE]["extra"][ironic_mod.NEEDS_CLEAN_KEY]
        self.assertEqual("manageable", self.ironic.undeploy(NODE)["provision_state"])

    def test_a_node_another_instance_holds_now_is_never_torn_down(self):
        self.api.add_node(state="active", instance_uuid="other-instance")
        self.assertIsNone(self.ironic.undeploy(NODE, instance_uuid="this-instance"))
        self.assertEqual([], self.api.provision_verbs())
        self.assertEqual([], self.api.requests("PATCH"))
        # Its own instance's teardown goes ahead.
        self.ironic.undeploy(NODE, instance_uuid="other-instance")
        self.assertEqual(["deleted"], self.api.provision_verbs())


class TestReturnToPool(IronicClientTestCase):
    def test_the_mark_goes_last_once_the_node_is_available(self):
        self.api.add_node(
            state="manageable",
            instance_uuid="i-1",
            retired=True,
            extra={"mogan_valence": {"adopted": True}, "other": 1},
            properties={"cpus": 8, "devices": ["GPU"]},
        )
        node = self.ironic.return_to_pool(
            NODE, "mogan_valence", property_keys=("devices",)
        )
        patches = [body for method, path, body in self.api.requests("PATCH")]
        paths = [[op["path"] for op in ops] for ops in patches]
        self.assertEqual(
            [
                ["/instance_uuid", "/retired"],
                ["/extra/mogan_valence", "/properties/devices"],
            ],
            paths,
        )
        self.assertEqual(["provide"], self.api.provision_verbs())
        self.assertEqual("available", node["provision_state"])
        self.assertEqual({"other": 1}, node["extra"])
        self.assertEqual({"cpus": 8}, node["properties"])

    def test_a_failed_clean_keeps_the_mark(self):
        self.api.add_node(
            state="clean failed",
            instance_uuid="i-1",
            extra={"mogan_valence": {"adopted": True}},
        )
        self.assertRaises(
            exc.CleanFailed, self.ironic.return_to_pool, NODE, "mogan_valence"
        )
        self.assertIn("mogan_valence", self.api.nodes[NODE]["extra"])
