"""Client behaviour at the HTTP edge (requests-mock): the quirks of the real
server that the simulator does not reproduce, and the retry rules."""

import requests
import requests_mock
from requests_mock.contrib import fixture as rm_fixture

from mogan_valence.valence import client as valence_client
from mogan_valence.valence import exceptions as vexc
from tests import base

URL = "http://valence.test:8181"
NODE = {
    "uuid": "65763d17-e6f7-4602-85c9-c5d1d39ae425",
    "name": "n1",
    "index": "1",
    "resource_uri": "/redfish/v1/Nodes/1",
}


def envelope(status, code, title, detail):
    return {
        "request_id": "0" * 8,
        "code": code,
        "status": status,
        "title": title,
        "detail": detail,
    }


class ClientTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.mock = self.useFixture(rm_fixture.Fixture())
        self.sleeps = []
        self.client = valence_client.ValenceClient(
            URL + "/v1/", retries=2, retry_interval=0.5, sleep=self.sleeps.append
        )


class TestDeletesAndLists(ClientTestCase):
    def test_delete_accepts_every_success_shape(self):
        node = f"{URL}/v1/nodes/{NODE['uuid']}"
        for kwargs in (
            {"status_code": 200, "json": None},
            {"status_code": 200, "json": {"code": "DELETED", "detail": "x"}},
            {"status_code": 204},
        ):
            self.mock.delete(node, **kwargs)
            self.assertIsNone(self.client.delete_node(NODE["uuid"]))

    def test_release_is_idempotent(self):
        self.mock.delete(
            f"{URL}/v1/nodes/x",
            status_code=404,
            json=envelope(
                404,
                "Not Found",
                "Resource could not be found",
                "Composed node 'x' not found in database.",
            ),
        )
        self.assertFalse(self.client.release_node("x"))

    def test_lists_bare_or_wrapped_and_timestamps_normalised(self):
        record = dict(NODE, podm_id="p", created_at="2026-01-02 03:04:05 UTC")
        self.mock.get(f"{URL}/v1/nodes", json=[record])
        listed = self.client.list_nodes()
        self.assertEqual("2026-01-02T03:04:05+00:00", listed[0]["created_at"])
        self.mock.get(f"{URL}/v1/nodes", json={"nodes": [record]})
        self.assertEqual(1, len(self.client.list_nodes()))
        self.mock.get(f"{URL}/v1/nodes", json={"oops": 1})
        self.assertRaises(vexc.ValenceServerError, self.client.list_nodes)

    def test_filters_are_query_parameters(self):
        self.mock.get(f"{URL}/v1/nodes", json=[])
        self.client.list_nodes(name="mogan-1", podm_id="p")
        self.assertEqual(
            {"name": ["mogan-1"], "podm_id": ["p"]}, self.mock.last_request.qs
        )

    def test_parse_timestamp(self):
        parse = valence_client.parse_timestamp
        self.assertEqual(
            "2026-01-02T03:04:05+00:00", parse("2026-01-02 03:04:05 UTC").isoformat()
        )
        self.assertEqual(
            "2026-01-02T03:04:05+00:00", parse("2026-01-02T03:04:05Z").isoformat()
        )
        self.assertIsNone(parse("yesterday"))
        self.assertIsNone(parse(None))


class TestErrors(ClientTestCase):
    def test_framework_error_keeps_code_title_detail_status(self):
        self.mock.post(
            f"{URL}/v1/nodes",
            status_code=500,
            json=envelope(500, "KeyError", "KeyError", "'podm_id'"),
        )
        err = self.assertRaises(
            vexc.ValenceServerError, self.client.compose, {"name": "n"}
        )
        self.assertEqual(
            (500, "KeyError", "KeyError", "'podm_id'"),
            (err.status, err.valence_code, err.title, err.detail),
        )
        self.assertIn("'podm_id'", str(err))

    def test_non_json_error(self):
        self.mock.get(
            f"{URL}/v1/flavors", status_code=502, text="<html>Bad gateway</html>"
        )
        err = self.assertRaises(vexc.ValenceServerError, self.client.list_flavors)
        self.assertIn("Bad gateway", str(err))

    def test_no_capacity_shapes(self):
        self.mock.post(
            f"{URL}/v1/nodes",
            status_code=404,
            json=envelope(404, "40400", "ExpEther Exception", "Node not available"),
        )
        self.assertRaises(vexc.ValenceNoCapacity, self.client.compose, {"name": "n"})
        self.mock.post(
            f"{URL}/v1/nodes",
            status_code=409,
            json=envelope(
                409,
                "Base.1.0.ResourcesStateMismatch",
                "Conflict during allocation",
                "whatever",
            ),
        )
        self.assertRaises(vexc.ValenceNoCapacity, self.client.compose, {"name": "n"})
        self.mock.post(
            f"{URL}/v1/nodes/manage",
            status_code=409,
            json=envelope(
                409,
                "Conflict",
                "Resource Already Exists",
                "Node '1' already managed by Valence",
            ),
        )
        err = self.assertRaises(
            vexc.ValenceConflict,
            self.client._request,
            "POST",
            "/v1/nodes/manage",
            json={},
        )
        self.assertNotIsInstance(err, vexc.ValenceNoCapacity)

    def test_stock_valence_refusing_local_drives_is_explained(self):
        self.mock.post(
            f"{URL}/v1/nodes",
            status_code=400,
            json=envelope(
                400,
                "Bad Request",
                "Validation Error",
                "... is not valid under any of the given schemas",
            ),
        )
        err = self.assertRaises(
            vexc.ValenceValidationError,
            self.client.compose_node,
            "n",
            "p",
            properties={"local_drives": [{"capacity_gib": "10"}]},
        )
        self.assertIn("local_drives", str(err))
        self.assertIn("disk_gb", str(err))

    def test_flavor_and_properties_together_are_refused_locally(self):
        self.assertRaises(
            vexc.InvalidComposition,
            self.client.compose_node,
            "n",
            "p",
            flavor_id="f",
            properties={},
        )
        self.assertEqual(0, self.mock.call_count)


class TestRetries(ClientTestCase):
    def test_get_is_retried_on_503_with_backoff(self):
        self.mock.get(
            f"{URL}/v1/flavors",
            [
                {
                    "status_code": 503,
                    "json": envelope(
                        503, "Service Unavailable", "Connection Error", "etcd"
                    ),
                },
                {"status_code": 503, "json": {}},
                {"status_code": 200, "json": []},
            ],
        )
        self.assertEqual([], self.client.list_flavors())
        self.assertEqual(3, self.mock.call_count)
        self.assertEqual([0.5, 1.0], self.sleeps)

    def test_get_gives_up_after_the_retries(self):
        self.mock.get(f"{URL}/v1/flavors", status_code=503, json={})
        self.assertRaises(vexc.ValenceServiceUnavailable, self.client.list_flavors)
        self.assertEqual(3, self.mock.call_count)

    def test_delete_is_retried_on_connection_errors(self):
        self.mock.delete(
            f"{URL}/v1/nodes/x",
            [
                {"exc": requests.exceptions.ConnectionError},
                {"status_code": 200, "json": None},
            ],
        )
        self.client.delete_node("x")
        self.assertEqual(2, self.mock.call_count)

    def test_500_is_not_retried(self):
        self.mock.get(f"{URL}/v1/flavors", status_code=500, json={})
        self.assertRaises(vexc.ValenceServerError, self.client.list_flavors)
        self.assertEqual(1, self.mock.call_count)

    def test_compose_is_never_retried(self):
        self.mock.post(f"{URL}/v1/nodes", status_code=503, json={})
        self.assertRaises(
            vexc.ValenceServiceUnavailable,
            self.client.compose,
            {"name": "n", "podm_id": "p"},
        )
        self.assertEqual(1, self.mock.call_count)

    def test_compose_without_answer_looks_up_by_name(self):
        self.mock.post(f"{URL}/v1/nodes", exc=requests.exceptions.ReadTimeout)
        self.mock.get(f"{URL}/v1/nodes", json=[dict(NODE, podm_id="p")])
        node = self.client.compose({"name": "n1", "podm_id": "p"})
        self.assertEqual(NODE["uuid"], node["uuid"])
        self.assertEqual(1, sum(r.method == "POST" for r in self.mock.request_history))
        self.assertEqual({"name": ["n1"], "podm_id": ["p"]}, self.mock.last_request.qs)

    def test_two_nodes_with_one_name_is_a_conflict(self):
        self.mock.get(f"{URL}/v1/nodes", json=[NODE, dict(NODE, uuid="other")])
        self.assertRaises(vexc.ValenceConflict, self.client.find_node_by_name, "n1")


class TestFromConf(base.TestCase):
    def test_no_auth_session_from_config(self):
        self.config(
            group="valence",
            url="http://valence.test:8181",
            read_timeout=7.0,
            connect_timeout=2.0,
            retries=5,
        )
        client = valence_client.ValenceClient.from_conf()
        self.assertIsNone(client.session.auth)
        self.assertEqual((2.0, 7.0), client.timeout)
        self.assertEqual(5, client.retries)
        with requests_mock.Mocker() as m:
            m.get("http://valence.test:8181/v1/flavors", json=[])
            client.list_flavors()
            self.assertNotIn("X-Auth-Token", m.last_request.headers)
