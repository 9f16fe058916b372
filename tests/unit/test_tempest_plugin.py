"""The tempest plugin: its options, how it reaches the API (Keystone or
noauth, catalog or endpoint override), and its waiters and cleanups against
a fake API (requests-mock)."""

import os

import fixtures

from oslo_config import cfg
from requests_mock.contrib import fixture as rm_fixture

from mogan_valence.tempest_plugin import config
from mogan_valence.tempest_plugin import deployment as dep
from mogan_valence.tempest_plugin import plugin
from tests import base

AUTH_URL = "http://keystone.example/identity/v3"
API = "http://cloud.example/baremetal_compute/v1"
UUID = "5f0bb5a5-7d2e-4d2d-9c5b-0d6e4b7a0a11"


def _token(catalog=True):
    body = {
        "token": {
            "methods": ["password"],
            "expires_at": "2999-01-01T00:00:00.000000Z",
            "user": {"id": "u1", "name": "alice", "domain": {"id": "default"}},
            "project": {"id": "p1", "name": "project-a", "domain": {"id": "default"}},
            "roles": [{"id": "r1", "name": "member"}],
            "catalog": [],
        }
    }
    if catalog:
        body["token"]["catalog"] = [
            {
                "type": "baremetal_compute",
                "name": "mogan",
                "endpoints": [
                    {"interface": "public", "region_id": "RegionOne", "url": API},
                    {
                        "interface": "internal",
                        "region_id": "RegionOne",
                        "url": "http://internal.example/v1",
                    },
                ],
            }
        ]
    return body


class TestPlugin(base.TestCase):
    def test_plugin_points_at_the_scenarios_and_registers_its_groups(self):
        p = plugin.MoganValenceTempestPlugin()
        test_dir, top = p.load_tests()
        self.assertTrue(
            os.path.isfile(os.path.join(test_dir, "scenario", "test_instances.py"))
        )
        self.assertTrue(os.path.isdir(os.path.join(top, "mogan_valence")))
        conf = cfg.ConfigOpts()
        p.register_opts(conf)
        conf([], default_config_files=[])
        self.assertEqual(900, conf.mogan_valence.build_timeout)
        self.assertEqual("password", conf.mogan_valence.auth_type)
        self.assertTrue(conf.service_available.mogan_valence)
        self.assertEqual(
            [
                ("mogan_valence", config.opts),
                ("service_available", [plugin.service_option]),
            ],
            p.get_opt_lists(),
        )

    def test_no_bus_options_and_passwords_are_secret(self):
        names = {o.name: o for o in config.opts}
        for gone in ("transport_url", "engine_host", "engine_topic"):
            self.assertNotIn(gone, names)
        self.assertTrue(names["password"].secret)
        self.assertTrue(names["alt_password"].secret)


class DeploymentCase(base.TestCase):
    def write_conf(self, **options):
        path = os.path.join(self.tmp_dir, "deployment.conf")
        with open(path, "w") as f:
            f.write("[mogan_valence]\n")
            for key, value in options.items():
                f.write(f"{key} = {value}\n")
        return dep.load_conf(path)

    def keystone(self, **options):
        values = dict(
            auth_url=AUTH_URL,
            username="alice",
            password="alicepw",
            project_name="project-a",
            region_name="RegionOne",
            build_timeout=2,
            build_interval=0.1,
        )
        values.update(options)
        return dep.Deployment(self.write_conf(**values))


class TestLoading(DeploymentCase):
    def test_nothing_configured(self):
        self.useFixture(fixtures.EnvironmentVariable(dep.ENV, None))
        self.assertRaises(dep.NotConfigured, dep.load_conf)

    def test_from_the_environment(self):
        path = os.path.join(self.tmp_dir, "env.conf")
        with open(path, "w") as f:
            f.write(f"[mogan_valence]\nendpoint = {API}\nauth_type = none\n")
        self.useFixture(fixtures.EnvironmentVariable(dep.ENV, path))
        self.assertEqual(API, dep.load_conf().mogan_valence.endpoint)

    def test_keystone_needs_credentials(self):
        e = self.assertRaises(
            dep.NotConfigured, dep.Deployment, self.write_conf(auth_url=AUTH_URL)
        )
        self.assertIn("username, password, project_name", str(e))

    def test_noauth_needs_an_endpoint(self):
        e = self.assertRaises(
            dep.NotConfigured, dep.Deployment, self.write_conf(auth_type="none")
        )
        self.assertIn("endpoint", str(e))

    def test_alt_credentials_make_a_second_client(self):
        d = self.keystone()
        self.assertIsNone(d.alt)
        d = self.keystone(
            alt_username="bob", alt_password="bobpw", alt_project_name="project-b"
        )
        self.assertEqual("bob", d.alt.username)


class TestTalkingToTheApi(DeploymentCase):
    def setUp(self):
        super().setUp()
        self.http = self.useFixture(rm_fixture.Fixture())

    def test_keystone_token_and_catalog(self):
        self.http.post(
            f"{AUTH_URL}/auth/tokens",
            json=_token(),
            headers={"X-Subject-Token": "tok-alice"},
            status_code=201,
        )
        self.http.get(f"{API}/servers", json={"servers": []})
        d = self.keystone()
        self.assertEqual([], d.primary.list_servers())
        request = self.http.request_history[-1]
        self.assertEqual("tok-alice", request.headers["X-Auth-Token"])
        self.assertEqual(f"{API}/servers", request.url)
        auth = self.http.request_history[0].json()["auth"]
        self.assertEqual("alice", auth["identity"]["password"]["user"]["name"])
        self.assertEqual("project-a", auth["scope"]["project"]["name"])

    def test_endpoint_override_wins_over_the_catalog(self):
        self.http.post(
            f"{AUTH_URL}/auth/tokens",
            json=_token(catalog=False),
            headers={"X-Subject-Token": "tok"},
            status_code=201,
        )
        self.http.get("http://other.example/v1/servers", json={"servers": []})
        d = self.keystone(endpoint="http://other.example/v1")
        self.assertEqual([], d.primary.list_servers())

    def test_noauth_goes_to_the_endpoint_without_keystone(self):
        self.http.get(f"{API}/flavors", json={"flavors": [{"uuid": "f", "name": "x"}]})
        d = dep.Deployment(self.write_conf(auth_type="none", endpoint=API))
        self.assertEqual("f", d.primary.find_flavor("x")["uuid"])
        self.assertEqual(1, len(self.http.request_history))
        e = self.assertRaises(AssertionError, d.primary.find_flavor, "y")
        self.assertIn("0 flavors named 'y'", str(e))

    def _noauth(self, **options):
        return dep.Deployment(
            self.write_conf(
                auth_type="none",
                endpoint=API,
                build_timeout=2,
                build_interval=0.1,
                **options,
            )
        )

    def test_delete_and_wait_waits_for_the_create_then_for_404(self):
        server = {"uuid": UUID, "name": "s", "power_state": "power on"}
        self.http.get(
            f"{API}/servers/{UUID}",
            [
                {"json": dict(server, status="building")},
                {"json": dict(server, status="building")},
                {"json": dict(server, status="active")},
                {"json": dict(server, status="deleting")},
                {"status_code": 404, "json": {}},
            ],
        )
        self.http.delete(f"{API}/servers/{UUID}", status_code=204)
        d = self._noauth()
        self.assertIsNone(d.delete_and_wait(d.primary, UUID))
        methods = [r.method for r in self.http.request_history]
        self.assertEqual(["GET", "GET", "GET", "DELETE", "GET", "GET"], methods)

    def test_a_failed_teardown_returns_the_server_with_its_new_fault(self):
        old = {"message": "deploy failed", "created_at": "2024-01-01T00:00:00"}
        new = {"message": "undeploy failed", "created_at": "2024-01-01T00:01:00"}
        server = {"uuid": UUID, "name": "s", "power_state": None}
        self.http.get(
            f"{API}/servers/{UUID}",
            [
                {"json": dict(server, status="error", fault=old)},
                {"json": dict(server, status="error", fault=old)},
                {"json": dict(server, status="error", fault=new)},
            ],
        )
        self.http.delete(f"{API}/servers/{UUID}", status_code=204)
        d = self._noauth()
        got = d.delete_and_wait(d.primary, UUID)
        self.assertEqual("undeploy failed", got["fault"]["message"])

    def test_waits_end_at_build_timeout(self):
        self.http.get(
            f"{API}/servers/{UUID}",
            json={"uuid": UUID, "status": "building", "power_state": None},
        )
        d = self._noauth()
        e = self.assertRaises(
            AssertionError, d.wait_for_status, d.primary, UUID, {"active"}
        )
        self.assertIn("after 2s", str(e))
        self.assertIn(f"server {UUID} to be active", str(e))
        self.assertIn("last status: building", str(e))

    def test_delete_by_name_deletes_only_that_name(self):
        self.http.get(
            f"{API}/servers",
            json={
                "servers": [{"uuid": UUID, "name": "mine"}, {"uuid": "x", "name": "o"}]
            },
        )
        self.http.get(f"{API}/servers/{UUID}", status_code=404, json={})
        d = self._noauth()
        d.delete_by_name(d.primary, "mine")
        d.delete_by_name(d.primary, "nothing")
        urls = [r.url for r in self.http.request_history]
        self.assertNotIn(f"{API}/servers/x", urls)
        self.assertIn(f"{API}/servers/{UUID}", urls)

    def test_errors_name_the_call(self):
        self.http.get(f"{API}/servers", status_code=500, text="boom")
        d = self._noauth()
        e = self.assertRaises(AssertionError, d.primary.list_servers)
        self.assertIn("GET /servers: HTTP 500", str(e))
