"""Scenarios an operator runs to trust a mogan-valence deployment.

They act as tenants do: through the REST API with Keystone credentials (or
noauth against the embedded stack), using flavors an admin made beforehand.
"""

import unittest

from mogan_valence.tempest_plugin import deployment as dep


class DeploymentTest(unittest.TestCase):
    #: A [mogan_valence] file for this class; None: tempest's or $ENV's.
    conf_file: str | None = None
    target: "dep.Deployment | None" = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.target = dep.Deployment(dep.load_conf(cls.conf_file))
        except dep.NotConfigured as e:
            raise unittest.SkipTest(str(e)) from e

    @property
    def d(self) -> "dep.Deployment":
        return self.target

    def create(self, client: "dep.ApiClient", flavor_name: str, **server) -> dict:
        """POST /servers; the cleanup is registered first, by name, so that
        the server goes even if the answer to the create is lost."""
        name = self.d.unique_name()
        self.addCleanup(self.d.delete_by_name, client, name)
        flavor = client.find_flavor(flavor_name)
        body = {
            "name": name,
            "image_uuid": self.d.opts.image_source,
            "flavor_uuid": flavor["uuid"],
            **server,
        }
        answer = client.request("POST", "/servers", {"server": body})
        self.assertEqual(201, answer.status_code, answer.text)
        created = answer.json()
        self.assertEqual(name, created["name"])
        self.assertEqual(dep.BUILDING, created["status"])
        return created

    def wait_active(self, client: "dep.ApiClient", uuid: str) -> dict:
        server = self.d.wait_for_status(client, uuid, {dep.ACTIVE, dep.ERROR})
        self.assertIsNotNone(server, f"server {uuid} vanished while building")
        self.assertEqual(dep.ACTIVE, server["status"], dep.fault_of(server))
        return server

    def set_power(self, client: "dep.ApiClient", uuid: str, target: str) -> dict:
        answer = client.request(
            "PUT", f"/servers/{uuid}/states/power", {"target": target}
        )
        self.assertEqual(202, answer.status_code, answer.text)
        expected = dep.POWER_ON if target == "on" else dep.POWER_OFF
        server = self.d.wait_for(
            client,
            uuid,
            {dep.GONE, expected, "fault"},
            expected,
            lambda s: "fault" if s.get("fault") else s["power_state"],
        )
        self.assertEqual(expected, server["power_state"], dep.fault_of(server))
        self.assertEqual(dep.ACTIVE, server["status"])
        return server

    def lifecycle(self, flavor_name: str, composed: bool) -> None:
        """create -> ACTIVE -> show -> power off -> power on -> delete."""
        client = self.d.primary
        metadata = {"scenario": self.id().rsplit(".", 1)[-1][:64]}
        created = self.create(client, flavor_name, metadata=metadata)
        uuid = created["uuid"]
        self.wait_active(client, uuid)

        shown = client.get_server(uuid)
        self.assertEqual(dep.ACTIVE, shown["status"])
        self.assertEqual(dep.POWER_ON, shown["power_state"])
        self.assertEqual(composed, shown["composed"])
        self.assertEqual(created["flavor_uuid"], shown["flavor_uuid"])
        self.assertEqual(self.d.opts.image_source, shown["image_uuid"])
        self.assertEqual(metadata, shown["metadata"])
        self.assertNotIn("fault", shown)
        self.assertIn(uuid, [s["uuid"] for s in client.list_servers(detail=True)])
        node_uuid = self.node_of(uuid)

        self.set_power(client, uuid, "off")
        if self.d.ironic and node_uuid:
            self.assertEqual(
                dep.POWER_OFF, self.d.ironic.node.get(node_uuid).power_state
            )
        self.set_power(client, uuid, "on")

        gone = self.d.delete_and_wait(client, uuid)
        self.assertIsNone(gone, dep.fault_of(gone))
        self.assertNotIn(uuid, [s["uuid"] for s in client.list_servers()])
        if node_uuid:
            self.check_released(uuid, node_uuid, composed)

    def node_of(self, uuid: str) -> str | None:
        """The Ironic node of an ACTIVE server (Ironic is asked, when
        configured: the API does not show nodes to tenants)."""
        if not self.d.ironic:
            return None
        nodes = [n for n in self.d.ironic.node.list(fields=["uuid", "instance_uuid"])]
        found = [n.uuid for n in nodes if n.instance_uuid == uuid]
        self.assertEqual(1, len(found), f"Ironic nodes of server {uuid}: {found}")
        node = self.d.ironic.node.get(found[0])
        self.assertEqual("active", node.provision_state)
        if (
            self.d.valence
            and node.resource_class == self.d.opts.composed_resource_class
        ):
            self.assertEqual(
                f"mogan-{uuid}", self.d.valence.get_node(node.uuid)["name"]
            )
        return node.uuid

    def check_released(self, uuid: str, node_uuid: str, composed: bool) -> None:
        if composed:
            self.assertEqual(
                [], [n for n in self.d.ironic.node.list() if n.uuid == node_uuid]
            )
            if self.d.valence:
                self.assertIsNone(self.d.valence.find_node_by_name(f"mogan-{uuid}"))
        else:
            self.assertIsNone(self.d.ironic.node.get(node_uuid).instance_uuid)


class ComposedInstanceTest(DeploymentTest):
    def setUp(self):
        super().setUp()
        if not self.d.opts.composed_flavor:
            self.skipTest("[mogan_valence] composed_flavor is not set")

    def test_create_power_and_delete_leave_nothing_behind(self):
        self.lifecycle(self.d.opts.composed_flavor, composed=True)


class PresetInstanceTest(DeploymentTest):
    def setUp(self):
        super().setUp()
        if not self.d.opts.preset_flavor:
            self.skipTest("[mogan_valence] preset_flavor is not set")

    def test_create_power_and_delete(self):
        self.lifecycle(self.d.opts.preset_flavor, composed=False)


class TenantIsolationTest(DeploymentTest):
    """Another project's user neither sees nor touches a server: 404."""

    def setUp(self):
        super().setUp()
        if self.d.alt is None:
            self.skipTest("[mogan_valence] alt_username is not set")
        self.flavor = self.d.opts.preset_flavor or self.d.opts.composed_flavor
        if not self.flavor:
            self.skipTest(
                "[mogan_valence] has neither preset_flavor nor composed_flavor"
            )

    def test_other_project_gets_404(self):
        owner, other = self.d.primary, self.d.alt
        uuid = self.create(owner, self.flavor)["uuid"]
        for method, path, body in (
            ("GET", f"/servers/{uuid}", None),
            ("GET", f"/servers/{uuid}/states", None),
            ("PUT", f"/servers/{uuid}/states/power", {"target": "off"}),
            ("DELETE", f"/servers/{uuid}", None),
        ):
            answer = other.request(method, path, body)
            self.assertEqual(404, answer.status_code, f"{method} {path}: {answer.text}")
        for detail in (False, True):
            self.assertNotIn(
                uuid, [s["uuid"] for s in other.list_servers(detail=detail)]
            )
        # Asking for every project is an admin's call.
        answer = other.request("GET", "/servers?all_tenants=True")
        self.assertEqual(403, answer.status_code, answer.text)
        # The owner's server went on, untouched.
        server = self.wait_active(owner, uuid)
        self.assertEqual(dep.POWER_ON, server["power_state"])


class BadInputTest(DeploymentTest):
    """Refused with a 400 naming what is wrong, before anything happens."""

    def _nodes(self):
        return len(self.d.valence.list_nodes()) if self.d.valence else None

    def assertRefused(self, client, path, body, *words):
        answer = client.request("POST", path, body)
        self.assertEqual(400, answer.status_code, f"{body}: {answer.text}")
        for word in words:
            self.assertIn(word, answer.text, body)

    def test_bad_servers(self):
        client = self.d.primary
        flavor_name = self.d.opts.composed_flavor or self.d.opts.preset_flavor
        if not flavor_name:
            self.skipTest(
                "[mogan_valence] has neither preset_flavor nor composed_flavor"
            )
        before = self._nodes()
        flavor = client.find_flavor(flavor_name)["uuid"]
        image = self.d.opts.image_source

        def server(**changes):
            body = {"name": "bad", "image_uuid": image, "flavor_uuid": flavor}
            body.update(changes)
            return {"server": {k: v for k, v in body.items() if v is not None}}

        missing = "00000000-0000-4000-8000-00000000dead"
        self.assertRefused(client, "/servers", server(flavor_uuid=missing), missing)
        self.assertRefused(client, "/servers", server(image_uuid=None), "image_uuid")
        self.assertRefused(
            client, "/servers", server(image_uuid="ubuntu"), "image_uuid"
        )
        self.assertRefused(
            client, "/servers", server(image_uuid="file:///etc/shadow"), "file"
        )
        self.assertRefused(client, "/servers", server(name=""), "name")
        self.assertRefused(client, "/servers", server(key_name="k"), "key_name")
        self.assertRefused(client, "/servers", {"servers": {}}, "server")
        self.assertNotIn("bad", [s["name"] for s in client.list_servers()])
        self.assertEqual(before, self._nodes())

    def test_bad_flavors(self):
        client = self.d.admin or self.d.primary
        before = self._nodes()
        name = self.d.unique_name("bad")
        if self.d.admin is not None:
            # A project member may not create flavors at all.
            answer = self.d.primary.request("POST", "/flavors", {"name": name})
            self.assertEqual(403, answer.status_code, answer.text)
        for composition, error in (
            ({"cpu_cores": 4, "gpus": 2}, "gpus"),
            ({"cpu_cores": -1}, "cpu_cores"),
            ({"ram_mib": 10**12}, "ram_mib"),
            ({"disk_gb": 10, "disk_type": "tape"}, "disk_type"),
            ({"valence_flavor": "small"}, "valence_flavor"),
        ):
            body = {"name": name, "composition": composition}
            if client.request("POST", "/flavors", body).status_code == 403:
                self.skipTest(f"{client.username} may not create flavors (admins)")
            self.assertRefused(client, "/flavors", body, error)
        self.assertNotIn(name, [f["name"] for f in self._flavors(client)])
        self.assertEqual(before, self._nodes())

    @staticmethod
    def _flavors(client):
        return client.request("GET", "/flavors").json()["flavors"]
