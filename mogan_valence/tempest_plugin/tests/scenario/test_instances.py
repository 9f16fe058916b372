"""Scenarios an operator runs to trust a mogan-valence deployment."""

import unittest
import uuid as uuidlib

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.tempest_plugin import deployment


class DeploymentTest(unittest.TestCase):
    target: "deployment.Deployment | None" = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.target = deployment.Deployment(deployment.load_conf())
        except deployment.NotConfigured as e:
            raise unittest.SkipTest(str(e)) from e

    @property
    def d(self) -> "deployment.Deployment":
        return self.target

    def create(self, flavor: str, name: str | None = None):
        name = name or f"scenario-{uuidlib.uuid4().hex[:8]}"
        instance = self.d.api.create_instance(
            self.d.ctx, name, flavor, self.d.opts.image_source
        )
        # Registered before anything else can fail: the instance goes away.
        self.addCleanup(self.d.delete_and_wait, instance.uuid)
        return instance


class ComposedInstanceTest(DeploymentTest):
    def setUp(self):
        super().setUp()
        if not self.d.opts.composed_flavor:
            self.skipTest("[mogan_valence] composed_flavor is not set")

    def test_create_and_delete_leave_nothing_behind(self):
        instance = self.create(self.d.opts.composed_flavor)
        got = self.d.wait_for_status(instance.uuid, {states.ACTIVE, states.ERROR})
        self.assertEqual(
            states.ACTIVE, got["instance"].status, got["fault"] and got["fault"].message
        )
        self.assertTrue(got["instance"].is_composed)
        node_uuid = got["instance"].node_uuid
        if self.d.ironic:
            node = self.d.ironic.node.get(node_uuid)
            self.assertEqual("active", node.provision_state)
            self.assertEqual(instance.uuid, node.instance_uuid)
        if self.d.valence:
            self.assertEqual(
                f"mogan-{instance.uuid}", self.d.valence.get_node(node_uuid)["name"]
            )

        got = self.d.delete_and_wait(instance.uuid)
        self.assertEqual(
            states.DELETED,
            got["instance"].status,
            got["fault"] and got["fault"].message,
        )
        if self.d.ironic:
            self.assertEqual(
                [], [n for n in self.d.ironic.node.list() if n.uuid == node_uuid]
            )
        if self.d.valence:
            self.assertIsNone(
                self.d.valence.find_node_by_name(f"mogan-{instance.uuid}")
            )


class PresetInstanceTest(DeploymentTest):
    def setUp(self):
        super().setUp()
        if not self.d.opts.preset_flavor:
            self.skipTest("[mogan_valence] preset_flavor is not set")

    def test_create_and_delete(self):
        instance = self.create(self.d.opts.preset_flavor)
        got = self.d.wait_for_status(instance.uuid, {states.ACTIVE, states.ERROR})
        self.assertEqual(
            states.ACTIVE, got["instance"].status, got["fault"] and got["fault"].message
        )
        self.assertFalse(got["instance"].is_composed)
        got = self.d.delete_and_wait(instance.uuid)
        self.assertEqual(states.DELETED, got["instance"].status)
        if self.d.ironic:
            node = self.d.ironic.node.get(got["instance"].node_uuid)
            self.assertIsNone(node.instance_uuid)


class BadInputTest(DeploymentTest):
    """Refused with a message naming what is wrong, before anything happens."""

    def _nodes(self):
        return len(self.d.valence.list_nodes()) if self.d.valence else None

    def assertRefused(self, error, fn, *args, **kwargs):
        with self.assertRaises(exception.MoganValenceException) as raised:
            fn(*args, **kwargs)
        self.assertIn(error, raised.exception.message)

    def test_bad_flavors(self):
        before = self._nodes()
        name = f"bad-{uuidlib.uuid4().hex[:8]}"
        create = self.d.api.create_flavor
        for composition, error in (
            ({"cpu_cores": 4, "gpus": 2}, "'gpus'"),
            ({"cpu_cores": -1}, "'cpu_cores'"),
            ({"ram_mib": 10**12}, "'ram_mib'"),
            ({"disk_gb": 10, "disk_type": "tape"}, "'disk_type'"),
            ({"valence_flavor": "small"}, "'valence_flavor'"),
        ):
            self.assertRefused(error, create, self.d.ctx, name, composition=composition)
        self.assertRefused("resource class", create, self.d.ctx, name)
        self.assertEqual(before, self._nodes())

    def test_duplicate_flavor_name(self):
        name = f"dup-{uuidlib.uuid4().hex[:8]}"
        self.d.api.create_flavor(self.d.ctx, name, resources={"baremetal": 1})
        self.addCleanup(self.d.api.delete_flavor, self.d.ctx, name)
        self.assertRefused(
            name, self.d.api.create_flavor, self.d.ctx, name, resources={"baremetal": 1}
        )

    def test_bad_instances(self):
        before = self._nodes()
        flavor = self.d.opts.composed_flavor or self.d.opts.preset_flavor
        create = self.d.api.create_instance
        self.assertRefused(
            "no-such-flavor",
            create,
            self.d.ctx,
            "x",
            "no-such-flavor",
            "http://images/x.qcow2",
        )
        if flavor:
            self.assertRefused("image", create, self.d.ctx, "x", flavor, "")
            self.assertRefused("'ubuntu'", create, self.d.ctx, "x", flavor, "ubuntu")
            self.assertRefused(
                "name", create, self.d.ctx, "", flavor, "http://images/x.qcow2"
            )
        self.assertEqual(before, self._nodes())
