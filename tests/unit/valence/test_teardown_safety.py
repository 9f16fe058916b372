"""A composed node's teardown never puts a tenant's uncleaned hardware back
in a pool, and the compose branch is visible, undoable atoms."""

import logging

import fixtures
from taskflow import flow as tf_flow
from taskflow.types import failure as tf_failure

from mogan_valence.common import context
from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.engine import extensions
from mogan_valence.engine import manager as manager_mod
from mogan_valence.ironic import exceptions as ironic_exc
from mogan_valence.objects import instance as instance_obj
from mogan_valence.valence import composition as composition_mod
from mogan_valence.valence import exceptions as vexc
from mogan_valence.valence import extension as ext_mod
from mogan_valence.valence import reconciler as reconciler_mod
from mogan_valence.valence import tasks
from tests.unit import fake_ironic
from tests.unit.engine import base as engine_base
from tests.unit.valence import test_extension

CONF = engine_base.base.CONF
COMPOSITION = test_extension.COMPOSITION


def atom_names(flow) -> list[str]:
    """The flow's atoms in run order, nested flows flattened."""
    names = []
    for item, _ in flow.iter_nodes():
        if isinstance(item, tf_flow.Flow):
            names.extend(atom_names(item))
        else:
            names.append(item.name)
    return names


class EngineWithValence(test_extension.ValenceTestCase):
    def setUp(self):
        super().setUp()
        self._configure()
        # A failed compose looks for a late node this long (kept short).
        self.config(group="valence", compose_lookup_window=0.5)
        self.ext = ext_mod.ValenceExtension(
            extensions.ExtensionHost(conf=CONF, ironic=self.ironic)
        )
        self.manager._manager.extensions[:] = [self.ext]
        self.manager.create_flavor(self.ctx, "c8", composition=COMPOSITION)
        self.undeploy = self.useFixture(
            fixtures.MockPatchObject(
                self.ironic, "undeploy", wraps=self.ironic.undeploy
            )
        ).mock

    def composed(self):
        got = self.create(flavor="c8")
        self.assertEqual(states.ACTIVE, got["instance"].status, got["fault"])
        return got["instance"].uuid, got["instance"].node_uuid

    def retire_flags(self):
        return [c.kwargs.get("retire") for c in self.undeploy.call_args_list]


class TestFailedCleanHoldsTheHardware(EngineWithValence):
    def fail_cleaning(self, node_uuid):
        self.ironic.undeploy_failures[node_uuid] = ironic_exc.CleanFailed(
            node_uuid, "undeploy", "clean failed", "disk erase failed"
        )

    def assertHeld(self, instance_uuid, node_uuid):
        got = self.manager.get_instance(self.ctx, instance_uuid)
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertTrue(got["fault"].message.startswith("undeploy: "), got["fault"])
        self.assertIn("stays out of the pool", got["fault"].message)
        # Neither removed from Ironic nor released in Valence.
        self.assertIn(node_uuid, self.ironic.nodes)
        self.assertIn(node_uuid, self.sim.state.nodes)
        self.assertNotIn("delete_node", [c[0] for c in self.ironic.calls])

    def test_delete_whose_cleaning_fails_ends_in_error_holding_the_node(self):
        instance_uuid, node_uuid = self.composed()
        self.fail_cleaning(node_uuid)
        self.delete(instance_uuid)
        self.assertHeld(instance_uuid, node_uuid)

    def test_repeated_delete_of_an_uncleaned_node_holds_it_again(self):
        instance_uuid, node_uuid = self.composed()
        self.fail_cleaning(node_uuid)
        self.delete(instance_uuid)
        # The node now sits in 'clean failed' in Ironic.
        del self.ironic.undeploy_failures[node_uuid]
        self.assertEqual(
            "clean failed", self.ironic.nodes[node_uuid]["provision_state"]
        )
        self.delete(instance_uuid)
        self.assertHeld(instance_uuid, node_uuid)

    def test_forced_release_by_a_non_admin_is_forbidden(self):
        instance_uuid, node_uuid = self.composed()
        self.fail_cleaning(node_uuid)
        self.delete(instance_uuid)
        user = context.RequestContext(
            is_admin=False, project_id="p", user_id="u", overwrite=False
        )
        self.assertRaises(
            exception.Forbidden,
            self.manager.delete_instance,
            user,
            instance_uuid,
            force_release=True,
        )
        self.manager.wait_idle(30)
        self.assertHeld(instance_uuid, node_uuid)

    def test_forced_release_by_an_admin_removes_and_releases_the_node(self):
        instance_uuid, node_uuid = self.composed()
        self.fail_cleaning(node_uuid)
        self.delete(instance_uuid)
        del self.ironic.undeploy_failures[node_uuid]
        logs = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        self.manager.delete_instance(self.ctx, instance_uuid, force_release=True)
        self.manager.wait_idle(30)
        got = self.manager.get_instance(self.ctx, instance_uuid)
        self.assertEqual(states.DELETED, got["instance"].status, got["fault"])
        self.assertNotIn(node_uuid, self.ironic.nodes)
        self.assertEqual({}, self.sim.state.nodes)
        self.assertIn("forces the release", logs.output)
        self.assertIn(instance_uuid, logs.output)


class TestRetire(EngineWithValence):
    def setUp(self):
        super().setUp()
        self.ironic.nodes.update(
            fake_ironic.FakeIronic({engine_base.NODE_A: "baremetal"}).nodes
        )

    def fail_deploys(self):
        def deploy(node_uuid, *args, **kwargs):
            self.ironic.nodes[node_uuid]["provision_state"] = "deploy failed"
            raise ironic_exc.IronicError(reason="deploy broke")

        self.useFixture(fixtures.MockPatchObject(self.ironic, "deploy", deploy))

    def test_composed_node_is_retired_on_delete(self):
        instance_uuid, node_uuid = self.composed()
        self.delete(instance_uuid)
        self.assertEqual([node_uuid], [c.args[0] for c in self.undeploy.call_args_list])
        self.assertEqual([True], self.retire_flags())

    def test_composed_node_is_retired_when_a_failed_deploy_is_undone(self):
        self.fail_deploys()
        got = self.create(flavor="c8")
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertEqual([True], self.retire_flags())
        self.assertEqual({}, self.sim.state.nodes)

    def test_pool_node_is_not_retired(self):
        got = self.create(flavor="bm")
        self.assertEqual(engine_base.NODE_A, got["instance"].node_uuid)
        self.delete(got["instance"].uuid)
        self.assertEqual([False], self.retire_flags())
        self.assertEqual(
            "available", self.ironic.nodes[engine_base.NODE_A]["provision_state"]
        )

    def test_pool_node_is_not_retired_when_a_failed_deploy_is_undone(self):
        self.config(group="engine", schedule_max_attempts=1)
        self.fail_deploys()
        got = self.create(flavor="bm")
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertEqual([False], self.retire_flags())


class TestComposeBranch(EngineWithValence):
    def setUp(self):
        super().setUp()
        self.config(group="valence", compose_on_no_valid_node=True)
        self.manager.create_flavor(
            self.ctx, "both", resources={"baremetal": 1}, composition=COMPOSITION
        )

    def test_compose_branch_is_visible_atoms(self):
        flavor = manager_mod.flavor_dict(self.manager.get_flavor(self.ctx, "both"))
        flow = self.manager.runner.build_create_flow(self.ctx, "i", flavor)
        names = atom_names(flow)
        # return-host before the compose: its revert runs after the release.
        branch = ["schedule-create-instance", "return-host-on-revert", "compose-node"]
        branch += ["enroll-node", "create-instance"]
        start = names.index(branch[0])
        self.assertEqual(branch, names[start : start + 5])

    def test_enroll_failure_after_a_compose_in_the_branch_releases_the_node(self):
        self.ironic.fail_next["create_port"] = ironic_exc.IronicError(reason="port")
        got = self.create(flavor="both")
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertTrue(got["fault"].message.startswith("enroll-node: "), got["fault"])
        self.assertIn("create_node", [c[0] for c in self.ironic.calls])
        self.assertEqual({}, self.sim.state.nodes)
        self.assertEqual({}, self.ironic.nodes)

    def test_a_scheduled_node_makes_compose_and_enroll_do_nothing(self):
        self.ironic.nodes.update(
            fake_ironic.FakeIronic({engine_base.NODE_A: "baremetal"}).nodes
        )
        got = self.create(flavor="both")
        self.assertEqual(states.ACTIVE, got["instance"].status, got["fault"])
        self.assertEqual(engine_base.NODE_A, got["instance"].node_uuid)
        self.assertFalse(got["instance"].is_composed)
        self.assertEqual({}, self.sim.state.nodes)
        ops = [c[0] for c in self.ironic.calls]
        self.assertNotIn("create_node", ops)
        self.assertNotIn("claim_node", ops)

    def test_a_reschedule_onto_a_pool_node_leaves_it_in_the_pool(self):
        """Attempt 1 composes and its deploy fails; attempt 2 takes a pool
        node: that node is not composed, so its delete must not retire it
        or take it out of Ironic."""
        real_deploy = self.ironic.deploy
        failed = []

        def deploy(node_uuid, info, configdrive=None, node=None):
            if not failed:
                failed.append(node_uuid)
                self.ironic.nodes[node_uuid]["provision_state"] = "deploy failed"
                # A pool node frees up meanwhile.
                self.ironic.nodes.update(
                    fake_ironic.FakeIronic({engine_base.NODE_A: "baremetal"}).nodes
                )
                raise ironic_exc.NodeStateError(node_uuid, "deploy", "deploy failed")
            return real_deploy(node_uuid, info, configdrive=configdrive, node=node)

        self.ironic.deploy = deploy
        got = self.create(flavor="both")
        self.assertEqual(states.ACTIVE, got["instance"].status, got["fault"])
        self.assertEqual(engine_base.NODE_A, got["instance"].node_uuid)
        self.assertFalse(got["instance"].is_composed)
        self.assertEqual({}, self.sim.state.nodes)
        self.assertNotIn(failed[0], self.ironic.nodes)
        got = self.delete(got["instance"].uuid)
        self.assertEqual(states.DELETED, got["instance"].status)
        pool_node = self.ironic.nodes[engine_base.NODE_A]
        self.assertEqual("available", pool_node["provision_state"])
        self.assertFalse(pool_node.get("retired"))


class TestComposeOutcomes(EngineWithValence):
    def test_duplicates_of_the_node_name_leave_only_the_oldest(self):
        instance = instance_obj.Instance(name="c", status=states.BUILDING, extra={})
        instance.create(self.ctx)
        name = tasks.node_name(instance.uuid)
        body = composition_mod.to_request(
            composition_mod.validate(COMPOSITION), name, self.sim_podm_id()
        )
        first = self.ext.valence.compose(body)
        second = self.ext.valence.compose(body)
        # The oldest sorts last by uuid: its age, not its uuid, decides.
        older, younger = sorted((first["uuid"], second["uuid"]), reverse=True)
        self.sim.state.nodes[older]["created_at"] = "2026-01-01 00:00:00 UTC"
        self.sim.state.nodes[younger]["created_at"] = "2026-01-01 00:00:05 UTC"

        compose = tasks.ComposeNodeTask(
            self.ext.valence, CONF, self.ext.pods, self.ext.hosts
        )
        node = compose.execute(instance.uuid, test_extension.FLAVOR)
        self.assertEqual(older, node["uuid"])
        self.assertEqual([older], list(self.sim.state.nodes))
        self.assertEqual(
            older, instance_obj.Instance.get(self.ctx, instance.uuid).node_uuid
        )

    def sim_podm_id(self):
        return CONF.valence.podm_id

    def test_unknown_compose_outcome_leaves_the_reconciler_a_marker(self):
        # The compose fails and nothing shows up within the lookup window.
        self.fault(operation="compose", status=500)
        got = self.create(flavor="c8")
        instance = got["instance"]
        self.assertEqual(states.ERROR, instance.status)
        self.assertTrue(got["fault"].message.startswith("compose-node: "))
        marker = instance.extra[reconciler_mod.UNRESOLVED_COMPOSE_KEY]
        self.assertEqual(tasks.node_name(instance.uuid), marker["name"])
        self.assertTrue(marker["since"])
        self.assertIsNone(instance.node_uuid)
        self.assertEqual({}, self.sim.state.nodes)

    def test_compose_revert_finds_a_node_committed_late(self):
        instance = instance_obj.Instance(name="c", status=states.BUILDING, extra={})
        instance.create(self.ctx)
        compose = tasks.ComposeNodeTask(
            self.ext.valence, CONF, self.ext.pods, self.ext.hosts
        )
        self.fault(operation="compose", status=500, after_commit=True)
        self.assertRaises(
            vexc.ValenceServerError,
            compose.execute,
            instance.uuid,
            test_extension.FLAVOR,
        )
        failure = tf_failure.Failure.from_exception(RuntimeError("lost answer"))
        compose.revert(failure, instance.uuid, test_extension.FLAVOR)
        self.assertEqual({}, self.sim.state.nodes)
        extra = instance_obj.Instance.get(self.ctx, instance.uuid).extra or {}
        self.assertNotIn(reconciler_mod.UNRESOLVED_COMPOSE_KEY, extra)
