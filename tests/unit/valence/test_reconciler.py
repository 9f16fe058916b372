"""The reconciler against the simulator and an in-memory Ironic, with a
hand-made leak of each kind and nodes that are not ours."""

import datetime
import logging
import os

import fixtures
from oslo_utils import uuidutils

from mogan_valence.common import states
from mogan_valence.ironic import client as ironic_client
from mogan_valence.objects import instance as instance_obj
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import enrollment
from mogan_valence.valence import reconciler
from tests import fixtures as mv_fixtures
from tests.unit import fake_ironic
from tests.unit.engine import base as engine_base

PODM = mv_fixtures.PODM_ID
HOUR = datetime.timedelta(hours=1)


class ReconcilerTestCase(engine_base.EngineTestCase):
    nodes = {}
    systems = 8

    def setUp(self):
        super().setUp()
        self.sim = self.useFixture(
            mv_fixtures.Simulator(self.tmp_dir + "/sim", systems=self.systems)
        )
        self.valence = valence_client.ValenceClient(self.sim.url, retries=0)
        self.ironic = fake_ironic.FakeIronic()
        self.config(group="valence", reconcile_grace_period=600)
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.worker = reconciler.Reconciler(
            engine_base.base.CONF, self.ironic, self.valence, now=lambda: self.now
        )

    def instance(self, status, node_uuid=None, uuid=None, extra=None):
        inst = instance_obj.Instance(
            name="i", status=status, node_uuid=node_uuid, composed=True
        )
        if uuid:
            inst.uuid = uuid
        if extra is not None:
            inst.extra = extra
        inst.create(self.ctx)
        return inst.uuid

    def compose(self, instance_uuid, name=None):
        return self.valence.compose_node(
            name or f"mogan-{instance_uuid}", PODM, properties={}
        )["uuid"]

    def enroll(self, node_uuid, instance_uuid, ours=True, deployment=None, **fields):
        marker = {"instance_uuid": instance_uuid}
        if deployment is None:
            deployment = enrollment.deployment_id(engine_base.base.CONF)
        if deployment:  # "" stands for a node enrolled by an older version
            marker[enrollment.DEPLOYMENT_KEY] = deployment
        extra = {enrollment.EXTRA_KEY: marker} if ours else {}
        self.ironic.create_node(
            node_uuid, extra=extra, created_at=self.now.isoformat(), **fields
        )

    def later(self):
        self.now += HOUR


class TestReconciler(ReconcilerTestCase):
    def test_every_kind_of_leak_and_only_leaks(self):
        # Leaks
        gone = uuidutils.generate_uuid()
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
        # An instance this database does not know: another deployment's.
        not_ours = self.compose(gone)
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
                (reconciler.UNENROLL, deleted_node),
                (reconciler.RELEASE, deleted_node),
                (reconciler.UNENROLL, errored_node),
                (reconciler.RELEASE, errored_node),
                (reconciler.UNENROLL, ironic_only),
            },
            {(a.kind, a.node_uuid) for a in planned},
        )
        self.assertIn(deleted_node, self.sim.state.nodes)  # dry run changes nothing
        reasons = {a.node_uuid: a.reason for a in planned}
        self.assertIn("does not exist", reasons[ironic_only])
        self.assertIn("is deleted", reasons[deleted_node])
        self.assertIn("in ERROR", reasons[errored_node])

        done = self.worker.run()
        self.assertTrue(all(a.done for a in done))
        left_valence = set(self.sim.state.nodes)
        self.assertEqual(
            {active_node, building_node, not_ours, foreign, held_by_foreign},
            left_valence,
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


class TestOwnership(ReconcilerTestCase):
    """Only ``mogan-<uuid>`` of an instance we know, only Ironic nodes marked
    with this deployment's id."""

    def test_names_that_are_not_exactly_ours_are_untouched(self):
        errored = self.instance(states.ERROR)
        names = [
            "mogan-lab-node-1",
            "mogan-",
            f"mogan-{errored.upper()}",
            f"mogan-{errored.replace('-', '')}",
            f"mogan-{errored}-old",
        ]
        nodes = [self.compose(None, name=name) for name in names]
        self.later()
        self.assertEqual([], self.worker.run())
        self.assertTrue(set(nodes) <= set(self.sim.state.nodes))

    def test_nodes_of_an_older_version_are_not_ours(self):
        errored = self.instance(states.ERROR)
        node = self.compose(errored)
        self.enroll(node, errored, deployment="")  # no "deployment" key
        ironic_only = uuidutils.generate_uuid()
        self.enroll(ironic_only, errored, deployment="")
        self.later()
        self.assertEqual([], self.worker.run())
        self.assertIn(node, self.sim.state.nodes)
        self.assertEqual({node, ironic_only}, set(self.ironic.nodes))

    def test_two_deployments_sharing_valence_and_ironic(self):
        self.config(group="valence", deployment_id="deployment-a")
        # Deployment A's leak, in A's database.
        a_errored = self.instance(states.ERROR)
        a_node = self.compose(a_errored)
        self.enroll(a_node, a_errored)
        # Deployment B's nodes: instances A's database does not know, B's
        # ownership marker on its Ironic nodes.
        b_errored = uuidutils.generate_uuid()
        b_node = self.compose(b_errored)
        self.enroll(b_node, b_errored, deployment="deployment-b")
        b_ironic_only = uuidutils.generate_uuid()
        self.enroll(b_ironic_only, b_errored, deployment="deployment-b")
        b_unenrolled = self.compose(b_errored)
        self.later()

        done = self.worker.run()
        self.assertEqual(
            {(reconciler.UNENROLL, a_node), (reconciler.RELEASE, a_node)},
            {(a.kind, a.node_uuid) for a in done},
        )
        self.assertEqual({b_node, b_unenrolled}, set(self.sim.state.nodes))
        self.assertEqual({b_node, b_ironic_only}, set(self.ironic.nodes))

        # Deployment B, with its own database, sees A's new leak as foreign
        # and reaps only its own.
        a_again = self.instance(states.ERROR)
        a_node2 = self.compose(a_again)
        self.enroll(a_node2, a_again, deployment="deployment-a")
        os.makedirs(self.tmp_dir + "/b")
        self.useFixture(engine_base.base.Database(self.tmp_dir + "/b"))
        self.instance(states.ERROR, uuid=b_errored)
        self.config(group="valence", deployment_id="deployment-b")
        done = self.worker.run()
        self.assertEqual(
            {
                (reconciler.UNENROLL, b_node),
                (reconciler.RELEASE, b_node),
                (reconciler.RELEASE, b_unenrolled),
                (reconciler.UNENROLL, b_ironic_only),
            },
            {(a.kind, a.node_uuid) for a in done},
        )
        self.assertEqual({a_node2}, set(self.sim.state.nodes))
        self.assertEqual({a_node2}, set(self.ironic.nodes))

    def test_deployment_id_derived_from_the_database_without_password(self):
        conf = engine_base.base.CONF
        self.config(group="database", connection="mysql+pymysql://mv:pw1@db/mogan")
        first = enrollment.deployment_id(conf)
        self.assertTrue(uuidutils.is_uuid_like(first))
        self.config(group="database", connection="mysql+pymysql://mv:pw2@db/mogan")
        self.assertEqual(first, enrollment.deployment_id(conf))
        self.config(group="database", connection="mysql+pymysql://mv:pw1@db2/mogan")
        self.assertNotEqual(first, enrollment.deployment_id(conf))
        self.config(group="database", connection="not a URL at all")
        self.assertTrue(uuidutils.is_uuid_like(enrollment.deployment_id(conf)))
        self.config(group="valence", deployment_id="site-1")
        self.assertEqual("site-1", enrollment.deployment_id(conf))

    def test_enrolled_nodes_carry_the_deployment(self):
        self.config(group="valence", enroll_driver="fake-hardware")
        self.config(group="valence", deployment_id="site-1")
        fields = enrollment.node_fields(
            engine_base.base.CONF,
            "inst",
            {"uuid": "v", "name": "mogan-inst", "podm_id": PODM},
            {},
        )
        self.assertEqual(
            "site-1", fields["extra"][enrollment.EXTRA_KEY][enrollment.DEPLOYMENT_KEY]
        )


class TestTenantSafety(ReconcilerTestCase):
    """Hardware that held a tenant goes back only after a clean succeeded."""

    systems = 12

    def errored_with(self, provision_state, target=None, in_valence=True):
        errored = self.instance(states.ERROR)
        if in_valence:
            node = self.compose(errored)
        else:
            node = uuidutils.generate_uuid()
        self.enroll(
            node,
            errored,
            provision_state=provision_state,
            target_provision_state=target,
        )
        return node

    def test_unsafe_states_are_held_not_reaped(self):
        held = {
            self.errored_with("active"): "active",
            self.errored_with("deploy failed"): "deploy failed",
            self.errored_with("clean failed"): "clean failed",
            self.errored_with("cleaning", "available"): "cleaning",
            self.errored_with("wait call-back", "active"): "wait call-back",
            self.errored_with("error"): "error",
            self.errored_with("active", in_valence=False): "active",
        }
        safe = {
            self.errored_with("available"),
            self.errored_with("manageable"),
            self.errored_with("inspect failed"),
        }
        self.later()
        logs = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))

        planned = self.worker.run(dry_run=True)
        self.assertEqual(
            set(held), {a.node_uuid for a in planned if a.kind == reconciler.HOLD}
        )
        for node, state in held.items():
            self.assertIn(node, logs.output)
            self.assertIn(state, logs.output)
        self.assertIn("baremetal node manage", logs.output)

        done = self.worker.run()
        holds = [a for a in done if a.kind == reconciler.HOLD]
        self.assertFalse(any(a.done for a in holds))  # never executed
        self.assertTrue(all(a.done for a in done if a.kind != reconciler.HOLD), done)
        # Held nodes stay in Ironic and composed in Valence.
        self.assertEqual(set(held), set(self.ironic.nodes))
        in_valence = set(held) & set(self.sim.state.nodes)
        self.assertEqual(6, len(in_valence))
        self.assertFalse(safe & set(self.sim.state.nodes))
        reason = {a.node_uuid: a.reason for a in holds}
        clean_failed = next(n for n, s in held.items() if s == "clean failed")
        self.assertIn("mogan_valence_needs_clean", reason[clean_failed])

    def test_a_node_whose_clean_failed_stays_held_after_manage(self):
        """'baremetal node manage' takes a node out of clean failed without
        cleaning it: its mark keeps it held until an operator removes it."""
        node = self.errored_with("manageable")
        self.ironic.nodes[node]["extra"][ironic_client.NEEDS_CLEAN_KEY] = True
        self.later()
        actions = self.worker.run()
        self.assertEqual(["hold"], [a.kind for a in actions])
        self.assertIn(node, self.ironic.nodes)
        self.assertIn(node, self.sim.state.nodes)
        del self.ironic.nodes[node]["extra"][ironic_client.NEEDS_CLEAN_KEY]
        actions = self.worker.run()
        self.assertEqual(["unenroll", "release"], [a.kind for a in actions])
        self.assertNotIn(node, self.sim.state.nodes)

    def test_a_node_ironic_holds_is_never_released(self):
        node = self.errored_with("available")
        self.later()
        from mogan_valence.ironic import exceptions as ironic_exc

        self.ironic.fail_next["delete_node"] = ironic_exc.IronicUnavailable(reason="x")
        self.worker.run()
        self.assertIn(node, self.sim.state.nodes)


class TestUnresolvedCompose(ReconcilerTestCase):
    def marked(self, status, since=None):
        uuid = uuidutils.generate_uuid()
        marker = {
            "name": f"mogan-{uuid}",
            "podm_id": PODM,
            "since": (since or self.now).isoformat(),
        }
        self.instance(
            status, uuid=uuid, extra={reconciler.UNRESOLVED_COMPOSE_KEY: marker}
        )
        return uuid

    def marker(self, uuid):
        extra = instance_obj.Instance.get(self.ctx, uuid).extra or {}
        return extra.get(reconciler.UNRESOLVED_COMPOSE_KEY)

    def test_late_nodes_released_at_once_then_the_marker_goes(self):
        errored = self.marked(states.ERROR)
        late = self.compose(errored)
        duplicate = self.compose(errored)
        enrolled = self.compose(errored)
        self.enroll(enrolled, errored)
        building = self.marked(states.BUILDING)
        building_node = self.compose(building)

        # Within the grace period: the late nodes go, the enrolled one is
        # left to the normal path (which waits for the grace period).
        done = self.worker.run()
        self.assertEqual(
            {(reconciler.RELEASE, late), (reconciler.RELEASE, duplicate)},
            {(a.kind, a.node_uuid) for a in done},
        )
        self.assertTrue(all(a.done for a in done))
        self.assertEqual({enrolled, building_node}, set(self.sim.state.nodes))
        self.assertIsNotNone(self.marker(errored))

        self.later()
        done = self.worker.run()
        self.assertEqual(
            {(reconciler.UNENROLL, enrolled), (reconciler.RELEASE, enrolled)},
            {(a.kind, a.node_uuid) for a in done},
        )
        self.assertIsNotNone(self.marker(errored))  # a node was still there

        self.assertEqual([], self.worker.run(dry_run=True))
        self.assertIsNotNone(self.marker(errored))  # a dry run changes nothing
        self.assertEqual([], self.worker.run())
        self.assertIsNone(self.marker(errored))
        self.assertIsNotNone(self.marker(building))  # only ERROR / DELETED
        self.assertIn(building_node, self.sim.state.nodes)

    def test_deleted_instance_and_young_marker_kept(self):
        deleted = self.marked(states.DELETED)
        node = self.compose(deleted)
        [action] = self.worker.run()
        self.assertEqual((reconciler.RELEASE, node), (action.kind, action.node_uuid))
        self.assertEqual([], self.worker.run())
        # Nothing left, but the marker is younger than the grace period: a
        # node might still appear.
        self.assertIsNotNone(self.marker(deleted))
        self.later()
        self.worker.run()
        self.assertIsNone(self.marker(deleted))
