"""Client behaviour at the HTTP edge (requests-mock): the quirks of the real
server that the simulator does not reproduce, and the retry rules."""

import base64
import logging

import fixtures
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

    def test_get_and_delete_are_retried_on_valence_database_outage(self):
        etcd_down = {
            "status_code": 500,
            "json": envelope(
                500,
                "EtcdConnectionFailed",
                "EtcdConnectionFailed",
                "Connection to etcd failed due to MaxRetryError(...)",
            ),
        }
        self.mock.get(
            f"{URL}/v1/nodes", [etcd_down, etcd_down, {"status_code": 200, "json": []}]
        )
        self.assertEqual([], self.client.list_nodes())
        self.assertEqual(3, self.mock.call_count)
        self.assertEqual([0.5, 1.0], self.sleeps)
        self.mock.delete(
            f"{URL}/v1/nodes/x", [etcd_down, {"status_code": 200, "json": None}]
        )
        self.client.delete_node("x")
        self.assertEqual(5, self.mock.call_count)

    def test_database_outage_detected_in_title_or_detail_too(self):
        for body in (
            envelope(500, "X", "EtcdConnectionFailed", "x"),
            envelope(500, "X", "Y", "etcd.EtcdConnectionFailed: no etcd"),
        ):
            self.mock.get(
                f"{URL}/v1/flavors",
                [{"status_code": 500, "json": body}, {"status_code": 200, "json": []}],
            )
            self.assertEqual([], self.client.list_flavors())
        self.assertEqual(4, self.mock.call_count)

    def test_database_outage_gives_up_as_unavailable(self):
        self.mock.get(
            f"{URL}/v1/flavors",
            status_code=500,
            json=envelope(500, "EtcdConnectionFailed", "EtcdConnectionFailed", "x"),
        )
        err = self.assertRaises(
            vexc.ValenceServiceUnavailable, self.client.list_flavors
        )
        self.assertEqual(3, self.mock.call_count)
        self.assertEqual("EtcdConnectionFailed", err.valence_code)

    def test_compose_is_never_retried_on_database_outage(self):
        self.mock.post(
            f"{URL}/v1/nodes",
            status_code=500,
            json=envelope(500, "EtcdConnectionFailed", "EtcdConnectionFailed", "x"),
        )
        self.assertRaises(
            vexc.ValenceServiceUnavailable,
            self.client.compose,
            {"name": "n", "podm_id": "p"},
        )
        self.assertEqual(1, self.mock.call_count)
        self.assertEqual([], self.sleeps)


OLD = "11111111-1111-4111-8111-111111111111"
MID = "22222222-2222-4222-8222-222222222222"
MID2 = "33333333-3333-4333-8333-333333333333"
UNDATED = "00000000-0000-4000-8000-000000000000"


class TestDuplicateNames(ClientTestCase):
    def setUp(self):
        super().setUp()
        # The list answer has no timestamps (as Valence's); details do.
        listed = [
            dict(NODE, uuid=u, podm_id="p") for u in (UNDATED, MID2, OLD, MID)
        ] + [dict(NODE, uuid="other-name", name="n10", podm_id="p")]
        self.mock.get(f"{URL}/v1/nodes", json=listed)
        for node_uuid, created in (
            (OLD, "2026-01-01 10:00:00 UTC"),
            (MID, "2026-01-01 11:00:00 UTC"),
            (MID2, "2026-01-01 11:00:00 UTC"),
            (UNDATED, None),
        ):
            self.mock.get(
                f"{URL}/v1/nodes/{node_uuid}",
                json=dict(NODE, uuid=node_uuid, created_at=created),
            )

    def test_every_node_of_the_name_oldest_first(self):
        nodes = self.client.find_nodes_by_name("n1", "p")
        # Same age: by uuid; unknown age: last; another name: not at all.
        self.assertEqual([OLD, MID, MID2, UNDATED], [n["uuid"] for n in nodes])
        self.assertEqual("2026-01-01T10:00:00+00:00", nodes[0]["created_at"])

    def test_find_node_by_name_is_the_oldest(self):
        self.assertEqual(OLD, self.client.find_node_by_name("n1")["uuid"])

    def test_a_node_released_meanwhile_is_left_out(self):
        self.mock.get(
            f"{URL}/v1/nodes/{OLD}",
            status_code=404,
            json=envelope(404, "Not Found", "Resource could not be found", "gone"),
        )
        self.assertEqual(
            [MID, MID2, UNDATED],
            [n["uuid"] for n in self.client.find_nodes_by_name("n1")],
        )

    def test_one_node_needs_no_detail(self):
        self.mock.get(f"{URL}/v1/nodes", json=[NODE])
        self.assertEqual(
            [NODE["uuid"]], [n["uuid"] for n in self.client.find_nodes_by_name("n1")]
        )
        self.assertEqual(1, self.mock.call_count)


class TestWaitForNodesByName(ClientTestCase):
    def setUp(self):
        super().setUp()
        self.now = 0.0

        def sleep(seconds):
            self.sleeps.append(seconds)
            self.now += seconds

        self.client = valence_client.ValenceClient(
            URL, retries=0, sleep=sleep, clock=lambda: self.now
        )

    def test_keeps_looking_until_the_node_appears(self):
        self.mock.get(
            f"{URL}/v1/nodes",
            [{"json": []}, {"json": []}, {"json": [dict(NODE, podm_id="p")]}],
        )
        nodes = self.client.wait_for_nodes_by_name("n1", "p", window=10)
        self.assertEqual([NODE["uuid"]], [n["uuid"] for n in nodes])
        self.assertEqual(3, self.mock.call_count)
        self.assertEqual({"name": ["n1"], "podm_id": ["p"]}, self.mock.last_request.qs)
        # Back-off: each wait longer than the one before.
        self.assertEqual(2, len(self.sleeps))
        self.assertLess(self.sleeps[0], self.sleeps[1])

    def test_nothing_within_the_window(self):
        self.mock.get(f"{URL}/v1/nodes", json=[])
        self.assertEqual([], self.client.wait_for_nodes_by_name("n1", window=5))
        self.assertGreater(self.mock.call_count, 2)
        self.assertLessEqual(sum(self.sleeps), 5)
        self.assertAlmostEqual(5, sum(self.sleeps))

    def test_window_zero_looks_once(self):
        self.mock.get(f"{URL}/v1/nodes", json=[])
        self.assertEqual([], self.client.wait_for_nodes_by_name("n1", window=0))
        self.assertEqual(1, self.mock.call_count)
        self.assertEqual([], self.sleeps)

    def test_a_failed_look_is_not_an_answer(self):
        failing = {"status_code": 500, "json": envelope(500, "KeyError", "K", "x")}
        self.mock.get(f"{URL}/v1/nodes", [failing, {"json": [dict(NODE, podm_id="p")]}])
        nodes = self.client.wait_for_nodes_by_name("n1", window=5)
        self.assertEqual(1, len(nodes))
        # If the last look failed, it raises instead of saying "none".
        self.mock.get(f"{URL}/v1/nodes", **failing)
        self.assertRaises(
            vexc.ValenceServerError, self.client.wait_for_nodes_by_name, "n1", window=1
        )

    def test_default_window_from_config(self):
        self.config(group="valence", url=URL, compose_lookup_window=0)
        client = valence_client.ValenceClient.from_conf()
        self.assertEqual(0, client.compose_lookup_window)
        self.mock.get(f"{URL}/v1/nodes", json=[])
        self.assertEqual([], client.wait_for_nodes_by_name("n1"))
        self.assertEqual(1, self.mock.call_count)


class TestCredentialsInUrl(base.TestCase):
    def setUp(self):
        super().setUp()
        self.mock = self.useFixture(rm_fixture.Fixture())
        self.client = valence_client.ValenceClient(
            "http://admin:s3cr%40t@valence.test:8181/v1", retries=0
        )

    def test_sent_as_basic_auth_never_in_the_url(self):
        self.assertEqual(URL, self.client.url)
        self.mock.get(f"{URL}/v1/flavors", json=[])
        self.client.list_flavors()
        self.assertEqual(
            "Basic " + base64.b64encode(b"admin:s3cr@t").decode(),
            self.mock.last_request.headers["Authorization"],
        )

    def test_no_password_in_errors(self):
        self.mock.get(f"{URL}/v1/flavors", exc=requests.exceptions.ConnectionError)
        err = self.assertRaises(vexc.ValenceUnreachable, self.client.list_flavors)
        self.assertNotIn("s3cr", str(err))
        self.assertNotIn("s3cr", err.url)
        self.mock.get(
            f"{URL}/v1/pod_managers/x",
            status_code=500,
            json=envelope(
                500,
                "MissingSchema",
                "MissingSchema",
                "Invalid URL 'podm://root:calvin@10.0.0.5/redfish/v1/'",
            ),
        )
        err = self.assertRaises(
            vexc.ValenceServerError, self.client.get_pod_manager, "x"
        )
        self.assertNotIn("calvin", str(err))
        self.assertNotIn("calvin", err.detail)
        self.assertIn("podm://root:***@10.0.0.5", err.detail)

    def test_logs_have_no_password(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        self.mock.get(
            f"{URL}/v1/flavors",
            [{"status_code": 503, "json": {}}, {"status_code": 200, "json": []}],
        )
        client = valence_client.ValenceClient(
            "http://admin:s3cret@valence.test:8181", retries=1, sleep=lambda s: None
        )
        client.list_flavors()
        self.assertIn("retrying", logs.output)
        self.assertNotIn("s3cret", logs.output)


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
