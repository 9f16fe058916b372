"""The reconciler against the simulator and an in-memory Ironic, with a
hand-made leak of each kind and nodes that are not ours."""

import datetime

from oslo_utils import uuidutils

from mogan_valence.common import states
from mogan_valence.objects import instance as instance_obj
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import enrollment
from mogan_valence.valence import reconciler
from tests import fixtures as mv_fixtures
from tests.unit import fake_ironic
from tests.unit.engine import base as engine_base

PODM = mv_fixtures.PODM_ID
HOUR = datetime.timedelta(hours=1)


class TestReconciler(engine_base.EngineTestCase):
    nodes = {}

    def setUp(self):
        super().setUp()
        self.sim = self.useFixture(
            mv_fixtures.Simulator(self.tmp_dir + "/sim", systems=8)
        )
        self.valence = valence_client.ValenceClient(self.sim.url, retries=0)
        self.ironic = fake_ironic.FakeIronic()
        self.config(group="valence", reconcile_grace_period=600)
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.worker = reconciler.Reconciler(
            engine_base.base.CONF, self.ironic, self.valence, now=lambda: self.now
        )

    def instance(self, status, node_uuid=None):
        inst = instance_obj.Instance(
            name="i", status=status, node_uuid=node_uuid, composed=True
        )
        inst.create(self.ctx)
        return inst.uuid

    def compose(self, instance_uuid, name=None):
        return self.valence.compose_node(
            name or f"mogan-{instance_uuid}", PODM, properties={}
        )["uuid"]

    def enroll(self, node_uuid, instance_uuid, ours=True):
        extra = {enrollment.EXTRA_KEY: {"instance_uuid": instance_uuid}} if ours else {}
        self.ironic.create_node(node_uuid, extra=extra, created_at=self.now.isoformat())

    def later(self):
        self.now += HOUR

    def test_every_kind_of_leak_and_only_leaks(self):
        # Leaks
        gone = uuidutils.generate_uuid()
        gone_node = self.compose(gone)
        deleted = self.instance(states.DELETED)
        deleted_node = self.compose(deleted)
        self.enroll(deleted_node, deleted)
        errored = self.instance(states.ERROR)
        errored_node = self.compose(errored)
        self.enroll(errored_node, errored)
        ironic_only = uuidutils.generate_uuid()
        self.enroll(ironic_only, gone)
        # Not leaks
        active = self.instance(states.ACTIVE)
        active_node = self.compose(active)
        instance = instance_obj.Instance.get(self.ctx, active)
        instance.node_uuid = active_node
        instance.save()
        self.enroll(active_node, active)
        building = self.instance(states.BUILDING)
        building_node = self.compose(building)
        foreign = self.compose(None, name="somebody-elses-node")
        foreign_ironic = uuidutils.generate_uuid()
        self.enroll(foreign_ironic, gone, ours=False)
        held_by_foreign = self.compose(uuidutils.generate_uuid())
        self.enroll(held_by_foreign, None, ours=False)

        # Within the grace period nothing happens.
        self.assertEqual([], self.worker.run())
        self.later()

        planned = self.worker.run(dry_run=True)
        self.assertEqual(
            {
                (reconciler.RELEASE, gone_node),
                (reconciler.UNENROLL, deleted_node),
                (reconciler.RELEASE, deleted_node),
                (reconciler.UNENROLL, errored_node),
                (reconciler.RELEASE, errored_node),
                (reconciler.UNENROLL, ironic_only),
            },
            {(a.kind, a.node_uuid) for a in planned},
        )
        self.assertIn(gone_node, self.sim.state.nodes)  # dry run changes nothing
        reasons = {a.node_uuid: a.reason for a in planned}
        self.assertIn("does not exist", reasons[gone_node])
        self.assertIn("is deleted", reasons[deleted_node])
        self.assertIn("in ERROR", reasons[errored_node])

        done = self.worker.run()
        self.assertTrue(all(a.done for a in done))
        left_valence = set(self.sim.state.nodes)
        self.assertEqual(
            {active_node, building_node, foreign, held_by_foreign}, left_valence
        )
        self.assertEqual(
            {active_node, foreign_ironic, held_by_foreign}, set(self.ironic.nodes)
        )
        # Unenrolled before released.
        calls = [c for c in self.ironic.calls if c[0] == "delete_node"]
        self.assertIn(("delete_node", deleted_node), calls)
        # A second run finds nothing left to do.
        self.assertEqual([], self.worker.run())

    def test_active_on_another_node_is_a_leak(self):
        active = self.instance(states.ACTIVE, node_uuid=uuidutils.generate_uuid())
        extra_node = self.compose(active)
        self.later()
        actions = self.worker.run()
        self.assertEqual(
            [(reconciler.RELEASE, extra_node)], [(a.kind, a.node_uuid) for a in actions]
        )
        self.assertIn("on another node", actions[0].reason)

    def test_nothing_is_released_that_ironic_could_not_let_go(self):
        deleted = self.instance(states.DELETED)
        node = self.compose(deleted)
        self.enroll(node, deleted)
        self.later()
        from mogan_valence.ironic import exceptions as ironic_exc

        self.ironic.fail_next["delete_node"] = ironic_exc.IronicUnavailable(reason="x")
        actions = self.worker.run()
        self.assertFalse(any(a.done for a in actions))
        self.assertIn(node, self.sim.state.nodes)
        self.assertTrue(self.worker.run()[0].done)  # next run succeeds
        self.assertNotIn(node, self.sim.state.nodes)

    def test_periodic_task_is_registered_unless_disabled(self):
        from mogan_valence.engine import extensions
        from mogan_valence.valence import extension

        self.config(
            group="valence",
            url=self.sim.url,
            podm_id=PODM,
            enroll_driver="fake-hardware",
            reconcile_interval=30,
        )
        ext = extension.ValenceExtension(
            extensions.ExtensionHost(conf=engine_base.base.CONF, ironic=self.ironic)
        )
        [task] = ext.periodic_tasks()
        self.assertEqual(("reconcile", 30), (task.name, task.interval))
        self.config(group="valence", reconcile_interval=0)
        self.assertEqual([], ext.periodic_tasks())
