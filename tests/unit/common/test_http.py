"""The engine's HTTP session reads the environment once per endpoint and
still honours it."""

from unittest import mock

from keystoneauth1 import session as ks_session
import requests

from mogan_valence.common import http
from mogan_valence.ironic import client as ironic_client
from mogan_valence.valence import client as valence_client
from tests import base


class TestSession(base.TestCase):
    def setUp(self):
        super().setUp()
        env = {
            "http_proxy": "http://proxy.example:3128",
            "no_proxy": "ironic.internal",
            "REQUESTS_CA_BUNDLE": "/etc/ssl/bundle.pem",
        }
        patcher = mock.patch.dict("os.environ", env, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.session = http.Session()

    def settings(self, url, **kwargs):
        args = {"proxies": {}, "stream": None, "verify": None, "cert": None}
        args.update(kwargs)
        return self.session.merge_environment_settings(url, **args)

    def test_the_environment_is_honoured(self):
        got = self.settings("http://valence.example:8181/v1/nodes")
        self.assertEqual("http://proxy.example:3128", got["proxies"]["http"])
        self.assertEqual("/etc/ssl/bundle.pem", got["verify"])
        got = self.settings("http://ironic.internal:6385/v1/nodes")
        self.assertNotIn("http", got["proxies"])

    def test_the_environment_is_read_once_per_endpoint(self):
        with mock.patch.object(
            requests.Session,
            "merge_environment_settings",
            autospec=True,
            side_effect=requests.Session.merge_environment_settings,
        ) as merge:
            for path in ("nodes", "nodes/a", "ports?node=a"):
                self.settings(f"http://ironic.internal:6385/v1/{path}")
            self.settings("http://valence.example:8181/v1/nodes")
            self.settings("http://valence.example:8181/v1/nodes", verify=False)
        self.assertEqual(3, merge.call_count)

    def test_what_a_caller_changes_is_its_own(self):
        got = self.settings("http://valence.example:8181/v1/nodes")
        got["proxies"]["https"] = "http://elsewhere"
        got["verify"] = False
        again = self.settings("http://valence.example:8181/v1/nodes")
        self.assertNotIn("https", again["proxies"])
        self.assertEqual("/etc/ssl/bundle.pem", again["verify"])

    def test_explicit_proxies_and_unhashable_arguments_are_not_kept(self):
        got = self.settings(
            "http://valence.example:8181/v1/nodes",
            proxies={"http": "http://other:1"},
        )
        self.assertEqual("http://other:1", got["proxies"]["http"])
        got = self.settings("http://valence.example:8181/v1/nodes", cert=["a", "b"])
        self.assertEqual(["a", "b"], got["cert"])
        self.assertEqual({}, self.session._settings)

    def test_the_clients_use_it_with_keystoneauths_adapters(self):
        self.config(group="ironic", endpoint_override="http://ironic.internal:6385")
        self.config(group="ironic", tls_min_version="1.3")
        self.config(group="valence", url="http://valence.example:8181")
        self.config(group="valence", tls_ciphers="ECDHE+AESGCM")
        sessions = {
            "ironic": ironic_client.IronicClient.from_conf().client.http_client.session,
            "valence": valence_client.ValenceClient.from_conf().session,
            "default": valence_client.ValenceClient("http://v.example").session,
        }
        for name, session in sessions.items():
            self.assertIsInstance(session.session, http.Session, name)
            # keystoneauth owns it: it closes it when it is closed.
            self.assertIs(session.session, session._session, name)
            for scheme in ("http://", "https://"):
                adapter = session.session.get_adapter(f"{scheme}host")
                # TCP keep-alive (keystoneauth's LP#1323862).
                self.assertIsInstance(adapter, ks_session.TCPKeepAliveAdapter, name)
        adapter = sessions["ironic"].session.get_adapter("https://host")
        self.assertEqual("1.3", adapter.tls_min_version)
        adapter = sessions["valence"].session.get_adapter("https://host")
        self.assertEqual("ECDHE+AESGCM", adapter.tls_ciphers)
