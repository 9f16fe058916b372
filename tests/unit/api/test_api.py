"""The REST API in process, over the real engine manager (Ironic stubbed at
its edge), as several identities see it.

Keystone's auth_token is replaced here by a middleware that sets the
identity headers auth_token would set from a verified token; the
functional tests run the real Keystone.
"""

import json

from werkzeug import test as wz_test

from mogan_valence.api import app as app_mod
from mogan_valence.api import policy
from mogan_valence.common import states
from mogan_valence.objects import instance as instance_obj
from tests.unit.engine import base as engine_base

PROJECT_A = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa"
PROJECT_B = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb"
IMAGE = "http://images.example.com/img.qcow2"

IDENTITIES = {
    "admin": (PROJECT_A, "admin,member,reader"),
    "member_a": (PROJECT_A, "member,reader"),
    "reader_a": (PROJECT_A, "reader"),
    "member_b": (PROJECT_B, "member,reader"),
}


class Identity:
    """What auth_token leaves in the environ for a verified token."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        who = environ.pop("HTTP_X_TEST_IDENTITY", None)
        for key in [k for k in environ if k.startswith("HTTP_X_")]:
            del environ[key]  # auth_token strips what a caller sent
        if who:
            project, roles = IDENTITIES[who]
            environ.update(
                HTTP_X_IDENTITY_STATUS="Confirmed",
                HTTP_X_USER_ID=f"user-{who}",
                HTTP_X_PROJECT_ID=project,
                HTTP_X_ROLES=roles,
            )
        return self.app(environ, start_response)


def _policy_ready(test) -> None:
    """oslo.policy looks its file up through a parsed configuration."""
    conf = engine_base.base.CONF
    if conf._args is None:
        conf([], project="mogan-valence-test", default_config_files=[])
    policy.reset()
    test.addCleanup(policy.reset)


class ApiTestCase(engine_base.EngineTestCase):
    def setUp(self):
        super().setUp()
        _policy_ready(self)
        flask_app = app_mod.build_flask_app(engine_base.base.CONF, self.manager)
        flask_app.wsgi_app = Identity(flask_app.wsgi_app)
        self.client = wz_test.Client(flask_app)

    def call(self, who, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if who:
            headers["X-Test-Identity"] = who
        response = self.client.open(
            path,
            method=method,
            headers=headers,
            data=json.dumps(body) if body is not None else None,
            content_type="application/json" if body is not None else None,
        )
        data = response.get_data(as_text=True)
        return response, (json.loads(data) if data else None)

    def fault(self, body) -> str:
        return json.loads(body["error_message"])["faultstring"]

    def public_flavor(self):
        response, body = self.call(
            "admin",
            "POST",
            "/v1/flavors",
            {
                "name": "gold",
                "description": None,
                "is_public": True,
                "disabled": False,
                "resources": {"baremetal": "1"},
            },
        )
        self.assertEqual(201, response.status_code, body)
        return body

    def server(self, who="member_a", flavor=None, **extra):
        flavor = flavor or self.public_flavor()["uuid"]
        response, body = self.call(
            who,
            "POST",
            "/v1/servers",
            {
                "server": {
                    "name": "s1",
                    "image_uuid": IMAGE,
                    "flavor_uuid": flavor,
                    "networks": [{"net_id": "c1940655-8b8e-4370-b8f9-03ba1daeca31"}],
                    "min_count": 1,
                    "max_count": 1,
                    **extra,
                }
            },
        )
        self.assertEqual(201, response.status_code, body)
        self.manager.wait_idle(30)
        return body


class TestEnvelope(ApiTestCase):
    def test_unknown_and_non_uuid_ids_are_404_in_moganclients_envelope(self):
        for path in ("/v1/servers/web-1", "/v1/servers/12345", "/v1/flavors/gold"):
            response, body = self.call("member_a", "GET", path)
            self.assertEqual(404, response.status_code, path)
            fault = json.loads(body["error_message"])
            self.assertEqual("Client", fault["faultcode"])
            self.assertIn("could not be found", fault["faultstring"])
        response, body = self.call("member_a", "GET", "/v1/nowhere")
        self.assertEqual(404, response.status_code)
        self.assertIn("faultstring", json.loads(body["error_message"]))

    def test_an_unexpected_error_is_500_without_a_traceback(self):
        self.manager._manager.delete_instance = None  # TypeError when called
        server = self.server()
        response, body = self.call(
            "member_a", "DELETE", f"/v1/servers/{server['uuid']}"
        )
        self.assertEqual(500, response.status_code)
        self.assertNotIn("Traceback", json.dumps(body))
        self.assertEqual("The server could not complete the request.", self.fault(body))

    def test_version_documents(self):
        response, body = self.call(None, "GET", "/")
        self.assertEqual(200, response.status_code)
        self.assertEqual("v1", body["default_version"]["id"])
        response, body = self.call(None, "GET", "/v1")
        self.assertEqual("v1", body["id"])
        self.assertIn("servers", body)


class TestFlavors(ApiTestCase):
    def test_what_osc_sends_is_accepted(self):
        flavor = self.public_flavor()
        self.assertEqual({"baremetal": 1}, flavor["resources"])
        self.assertIsNone(flavor["description"])
        response, body = self.call(
            "admin",
            "POST",
            "/v1/flavors",
            {"name": "off", "disabled": "True", "resources": {"baremetal": 1}},
        )
        self.assertEqual(201, response.status_code, body)
        self.assertTrue(body["disabled"])
        self.assertTrue(
            response.headers["Location"].endswith(f"/v1/flavors/{body['uuid']}")
        )

    def test_bad_bodies_name_the_field_and_create_nothing(self):
        before = self.call("admin", "GET", "/v1/flavors")[1]["flavors"]
        cases = {
            "colour": {"name": "x", "colour": "red", "resources": {"baremetal": 1}},
            "flavor.name": {"name": "n" * 256, "resources": {"baremetal": 1}},
            "flavor.resources.baremetal": {
                "name": "x",
                "resources": {"baremetal": "2"},
            },
            "flavor.is_public": {"name": "x", "is_public": "maybe"},
        }
        for field, body in cases.items():
            response, answer = self.call("admin", "POST", "/v1/flavors", body)
            self.assertEqual(400, response.status_code, field)
            self.assertIn(field.split(".")[-1], self.fault(answer))
        self.assertEqual(before, self.call("admin", "GET", "/v1/flavors")[1]["flavors"])

    def test_only_admins_change_flavors(self):
        flavor = self.public_flavor()
        path = f"/v1/flavors/{flavor['uuid']}"
        response, _ = self.call("member_a", "POST", "/v1/flavors", {"name": "x"})
        self.assertEqual(403, response.status_code)
        ops = [{"op": "replace", "path": "/name", "value": "platinum"}]
        self.assertEqual(403, self.call("member_a", "PATCH", path, ops)[0].status_code)
        self.assertEqual(403, self.call("member_a", "DELETE", path)[0].status_code)
        response, body = self.call("admin", "PATCH", path, ops)
        self.assertEqual(200, response.status_code, body)
        self.assertEqual("platinum", body["name"])
        bad = [{"op": "replace", "path": "/resources", "value": {}}]
        response, body = self.call("admin", "PATCH", path, bad)
        self.assertEqual(400, response.status_code)
        self.assertIn("/resources", self.fault(body))

    def test_a_private_flavor_exists_only_for_projects_on_its_access_list(self):
        response, private = self.call(
            "admin",
            "POST",
            "/v1/flavors",
            {"name": "secret", "is_public": False, "resources": {"baremetal": 1}},
        )
        path = f"/v1/flavors/{private['uuid']}"
        for who in ("member_a", "member_b"):
            self.assertEqual(404, self.call(who, "GET", path)[0].status_code)
            listed = self.call(who, "GET", "/v1/flavors")[1]["flavors"]
            self.assertNotIn("secret", [f["name"] for f in listed])
        # Nor can a server be made of it.
        response, body = self.call(
            "member_a",
            "POST",
            "/v1/servers",
            {
                "server": {
                    "name": "s",
                    "image_uuid": IMAGE,
                    "flavor_uuid": private["uuid"],
                }
            },
        )
        self.assertEqual(400, response.status_code)
        self.assertIn("could not be found", self.fault(body))
        response, _ = self.call(
            "admin", "POST", f"{path}/access", {"tenant_id": PROJECT_A}
        )
        self.assertEqual(204, response.status_code)
        self.assertEqual(200, self.call("member_a", "GET", path)[0].status_code)
        self.assertEqual(404, self.call("member_b", "GET", path)[0].status_code)
        self.assertEqual(
            {"flavor_access": [PROJECT_A]},
            self.call("admin", "GET", f"{path}/access")[1],
        )
        self.assertEqual(
            204,
            self.call("admin", "DELETE", f"{path}/access/{PROJECT_A}")[0].status_code,
        )
        self.assertEqual(404, self.call("member_a", "GET", path)[0].status_code)

    def test_a_flavor_in_use_is_not_deleted(self):
        server = self.server()
        response, body = self.call(
            "admin", "DELETE", f"/v1/flavors/{server['flavor_uuid']}"
        )
        self.assertEqual(409, response.status_code)
        self.assertIn("is used by", self.fault(body))


class TestServers(ApiTestCase):
    def test_create_show_list_delete(self):
        created = self.server(metadata={"k": "v"}, partitions={"root_gb": "10"})
        self.assertEqual(states.BUILDING, created["status"])
        for key in ("metadata", "partitions", "addresses", "image_uuid", "flavor_uuid"):
            self.assertIn(key, created)
        path = f"/v1/servers/{created['uuid']}"
        response, shown = self.call("member_a", "GET", path)
        self.assertEqual(states.ACTIVE, shown["status"])
        self.assertEqual({"k": "v"}, shown["metadata"])
        self.assertEqual({}, shown["addresses"])
        self.assertEqual(PROJECT_A, shown["project_id"])
        short = self.call("reader_a", "GET", "/v1/servers")[1]["servers"]
        self.assertEqual([created["uuid"]], [s["uuid"] for s in short])
        self.assertNotIn("image_uuid", short[0])
        detail = self.call("reader_a", "GET", "/v1/servers/detail")[1]["servers"]
        self.assertEqual(IMAGE, detail[0]["image_uuid"])
        states_body = self.call("reader_a", "GET", f"{path}/states")[1]
        self.assertEqual(states.POWER_ON, states_body["power_state"])
        self.assertEqual(204, self.call("member_a", "DELETE", path)[0].status_code)
        self.manager.wait_idle(30)
        self.assertEqual(404, self.call("member_a", "GET", path)[0].status_code)

    def test_another_project_sees_nothing_and_changes_nothing(self):
        created = self.server()
        path = f"/v1/servers/{created['uuid']}"
        for method in ("GET", "DELETE"):
            response, body = self.call("member_b", method, path)
            self.assertEqual(404, response.status_code, method)
        self.assertEqual(
            404, self.call("member_b", "GET", f"{path}/states")[0].status_code
        )
        self.assertEqual([], self.call("member_b", "GET", "/v1/servers")[1]["servers"])
        self.assertEqual(
            [], self.call("member_b", "GET", "/v1/servers/detail")[1]["servers"]
        )
        response, _ = self.call("member_b", "GET", "/v1/servers?all_tenants=True")
        self.assertEqual(403, response.status_code)
        instance = instance_obj.Instance.get(None, created["uuid"])
        self.assertEqual(states.ACTIVE, instance.status)
        everyone = self.call("admin", "GET", "/v1/servers?all_tenants=True")[1]
        self.assertEqual([created["uuid"]], [s["uuid"] for s in everyone["servers"]])

    def test_a_reader_cannot_create_or_delete(self):
        created = self.server()
        response, _ = self.call("reader_a", "DELETE", f"/v1/servers/{created['uuid']}")
        self.assertEqual(403, response.status_code)
        response, _ = self.call(
            "reader_a",
            "POST",
            "/v1/servers",
            {
                "server": {
                    "name": "s",
                    "image_uuid": IMAGE,
                    "flavor_uuid": created["flavor_uuid"],
                }
            },
        )
        self.assertEqual(403, response.status_code)

    def test_image_sources_a_tenant_may_not_use_are_refused(self):
        flavor = self.public_flavor()["uuid"]
        for image in (
            "file:///etc/shadow",
            "http://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:6385/v1/nodes",
            "http://[::1]/x",
            "ftp://example.com/x.img",
        ):
            response, body = self.call(
                "member_a",
                "POST",
                "/v1/servers",
                {"server": {"name": "s", "image_uuid": image, "flavor_uuid": flavor}},
            )
            self.assertEqual(400, response.status_code, image)
            self.assertIn("image_uuid", self.fault(body))
        self.assertEqual([], instance_obj.Instance.list(None))

    def test_bad_bodies_name_the_field_and_create_nothing(self):
        flavor = self.public_flavor()["uuid"]
        good = {"name": "s", "image_uuid": IMAGE, "flavor_uuid": flavor}
        cases = {
            "bogus": dict(good, bogus=1),
            "name": dict(good, name="n" * 256),
            "image_uuid": dict(good, image_uuid="http://e.com/" + "x" * 250),
            "min_count": dict(good, min_count=2),
            "key_name": dict(good, key_name="mine"),
            "root_gb": dict(good, partitions={"root_gb": "ten"}),
        }
        for field, server in cases.items():
            response, body = self.call(
                "member_a", "POST", "/v1/servers", {"server": server}
            )
            self.assertEqual(400, response.status_code, field)
            self.assertIn(field, self.fault(body))
        response, body = self.call("member_a", "POST", "/v1/servers", {"nope": {}})
        self.assertEqual(400, response.status_code)
        self.assertEqual([], instance_obj.Instance.list(None))

    def test_pages(self):
        flavor = self.public_flavor()["uuid"]
        uuids = [self.server(flavor=flavor)["uuid"] for _ in range(3)]
        first = self.call("member_a", "GET", "/v1/servers?limit=2")[1]["servers"]
        self.assertEqual(uuids[:2], [s["uuid"] for s in first])
        rest = self.call("member_a", "GET", f"/v1/servers?limit=2&marker={uuids[1]}")[1]
        self.assertEqual(uuids[2:], [s["uuid"] for s in rest["servers"]])
        response, body = self.call("member_a", "GET", "/v1/servers?limit=0")
        self.assertEqual(400, response.status_code)
        # Another project's server is no marker of this project's list.
        response, _ = self.call("member_b", "GET", f"/v1/servers?marker={uuids[0]}")
        self.assertEqual(400, response.status_code)


class TestNoAuthPipeline(engine_base.EngineTestCase):
    def test_every_answer_carries_a_request_id_and_noauth_is_admin(self):
        _policy_ready(self)
        pipeline = app_mod.build_wsgi_app(engine_base.base.CONF, self.manager)
        client = wz_test.Client(pipeline)
        for path in ("/", "/v1/flavors", "/v1/servers/nope"):
            response = client.get(path, headers={"X-Roles": "reader"})
            self.assertTrue(response.headers["Openstack-Request-Id"].startswith("req-"))
        response = client.post(
            "/v1/flavors", json={"name": "x", "resources": {"baremetal": 1}}
        )
        self.assertEqual(201, response.status_code, response.get_data(as_text=True))


class TestPower(ApiTestCase):
    def test_power_off_and_on(self):
        created = self.server()
        path = f"/v1/servers/{created['uuid']}/states/power"
        for target, power_state in (("off", "power off"), ("on", "power on")):
            response, _ = self.call("member_a", "PUT", path, {"target": target})
            self.assertEqual(202, response.status_code)
            self.manager.wait_idle(30)
            states_body = self.call("member_a", "GET", path.rsplit("/", 1)[0])[1]
            self.assertEqual(power_state, states_body["power_state"])

    def test_a_failed_power_action_is_a_fault_and_changes_nothing_else(self):
        from mogan_valence.ironic import exceptions as ironic_exc

        created = self.server()
        self.ironic.fail_next["set_power"] = ironic_exc.IronicError(reason="BMC gone")
        path = f"/v1/servers/{created['uuid']}"
        response, _ = self.call(
            "member_a", "PUT", f"{path}/states/power", {"target": "off"}
        )
        self.assertEqual(202, response.status_code)
        self.manager.wait_idle(30)
        shown = self.call("member_a", "GET", path)[1]
        self.assertEqual(states.ACTIVE, shown["status"])
        self.assertEqual(states.POWER_ON, shown["power_state"])
        self.assertTrue(shown["fault"]["message"].startswith("power off: "))
        self.assertIn("BMC gone", shown["fault"]["message"])

    def test_who_may_power_what(self):
        created = self.server()
        path = f"/v1/servers/{created['uuid']}/states/power"
        self.assertEqual(
            404, self.call("member_b", "PUT", path, {"target": "off"})[0].status_code
        )
        self.assertEqual(
            403, self.call("reader_a", "PUT", path, {"target": "off"})[0].status_code
        )
        response, body = self.call("member_a", "PUT", path, {"target": "sideways"})
        self.assertEqual(400, response.status_code)
        self.assertIn("target", self.fault(body))


class TestForcedRelease(ApiTestCase):
    def test_only_admins_force_a_release_and_it_reaches_the_engine(self):
        created = self.server()
        path = f"/v1/servers/{created['uuid']}"
        calls = []
        real = self.manager._manager.delete_instance

        def recording(ctx, instance, force_release=False):
            calls.append(force_release)
            return real(ctx, instance, force_release=force_release)

        self.manager._manager.delete_instance = recording
        response, body = self.call("member_a", "DELETE", f"{path}?force_release=true")
        self.assertEqual(403, response.status_code, body)
        self.assertIn("mogan:server:force_release", self.fault(body))
        response, body = self.call("admin", "DELETE", f"{path}?force_release=maybe")
        self.assertEqual(400, response.status_code, body)
        self.assertIn("force_release", self.fault(body))
        self.assertEqual([], calls)
        response, _ = self.call("admin", "DELETE", f"{path}?force_release=true")
        self.assertEqual(204, response.status_code)
        self.assertEqual([True], calls)
        self.manager.wait_idle(30)
