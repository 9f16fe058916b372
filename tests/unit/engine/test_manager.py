import threading
import time
from unittest import mock

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.engine import timing
from mogan_valence.ironic import exceptions as ironic_exc
from mogan_valence.objects import instance as instance_obj
from tests.unit.engine import base


class TestCreate(base.EngineTestCase):
    def test_preset_flavor_goes_active(self):
        got = self.create()
        instance = got["instance"]
        self.assertEqual(states.ACTIVE, instance.status)
        self.assertIsNone(got["fault"])
        self.assertIn(instance.node_uuid, self.nodes)
        self.assertEqual(states.POWER_ON, instance.power_state)
        self.assertIsNotNone(instance.launched_at)
        self.assertFalse(instance.is_composed)
        steps = [s["step"] for s in instance.extra[timing.STEPS_KEY]]
        self.assertEqual(["schedule-create-instance", "create-instance"], steps)
        node = self.ironic.nodes[instance.node_uuid]
        self.assertEqual(instance.uuid, node["instance_uuid"])
        self.assertEqual("http://img/x.qcow2", node["instance_info"]["image_source"])

    def test_no_valid_node_is_error_with_a_readable_fault(self):
        for node in self.ironic.nodes.values():
            node["provision_state"] = "manageable"
        got = self.create()
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertIn("schedule-create-instance", got["fault"].message)
        self.assertIn("No valid node", got["fault"].message)
        self.assertEqual(409, got["fault"].code)
        # Scheduling failures are not rescheduled.
        self.assertEqual(1, sum(c[0] == "allocate" for c in self.ironic.calls))

    def test_failed_deploy_is_rescheduled_to_another_node(self):
        first = base.NODE_A
        self.ironic.deploy_failures[first] = ironic_exc.NodeStateError(
            first, "deploy", "deploy failed", "image download failed"
        )
        # Make sure the failing node is the one picked first.
        self.ironic.nodes = {
            first: self.ironic.nodes[first],
            base.NODE_B: self.ironic.nodes[base.NODE_B],
        }
        got = self.create()
        self.assertEqual(states.ACTIVE, got["instance"].status)
        self.assertEqual(base.NODE_B, got["instance"].node_uuid)
        allocs = [c for c in self.ironic.calls if c[0] == "allocate"]
        self.assertEqual([(), (first,)], [c[2] for c in allocs])
        self.assertIn(("undeploy", first), self.ironic.calls)
        # The failed node is free again.
        self.assertIsNone(self.ironic.nodes[first]["instance_uuid"])
        self.assertEqual("available", self.ironic.nodes[first]["provision_state"])

    def test_out_of_nodes_after_reschedules_frees_everything(self):
        for node in (base.NODE_A, base.NODE_B):
            self.ironic.deploy_failures[node] = ironic_exc.NodeTimeout(
                node, "deploy", "deploying", 5
            )
        got = self.create()
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertIn("No valid node", got["fault"].message)
        self.assertIsNone(got["instance"].node_uuid)
        self.assertEqual({}, self.ironic.allocations)
        self.assertTrue(
            all(n["instance_uuid"] is None for n in self.ironic.nodes.values())
        )

    def test_attempts_are_bounded(self):
        self.config(group="engine", schedule_max_attempts=1)
        self.ironic.deploy_failures[base.NODE_A] = ironic_exc.NodeValidationFailed(
            node=base.NODE_A, interfaces="deploy", reasons="deploy: no kernel"
        )
        self.ironic.deploy_failures[base.NODE_B] = ironic_exc.NodeValidationFailed(
            node=base.NODE_B, interfaces="deploy", reasons="deploy: no kernel"
        )
        got = self.create()
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertIn("create-instance", got["fault"].message)
        self.assertIn("no kernel", got["fault"].message)
        self.assertEqual(1, sum(c[0] == "allocate" for c in self.ironic.calls))
        self.assertEqual({}, self.ironic.allocations)

    def test_unexpected_error_is_not_rescheduled(self):
        self.ironic.deploy_failures[base.NODE_A] = RuntimeError("boom")
        self.ironic.deploy_failures[base.NODE_B] = RuntimeError("boom")
        got = self.create()
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertIn("boom", got["fault"].message)
        self.assertEqual(1, sum(c[0] == "allocate" for c in self.ironic.calls))
        self.assertEqual({}, self.ironic.allocations)

    def test_failure_inside_a_revert_still_ends_in_error(self):
        self.ironic.deploy_failures[base.NODE_A] = RuntimeError("deploy broke")
        self.ironic.deploy_failures[base.NODE_B] = RuntimeError("deploy broke")
        self.ironic.fail_next["undeploy"] = ironic_exc.IronicUnavailable(reason="down")
        got = self.create()
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertIsNotNone(got["fault"])

    def test_many_creates_at_once(self):
        self.ironic.nodes.update(
            {
                f"dddddddd-0000-4000-8000-{i:012d}": dict(
                    self.ironic.nodes[base.NODE_A],
                    uuid=f"dddddddd-0000-4000-8000-{i:012d}",
                    instance_uuid=None,
                )
                for i in range(8)
            }
        )
        uuids = [
            self.manager.create_instance(
                self.ctx, f"w{i}", "bm", "http://img/x.qcow2"
            ).uuid
            for i in range(10)
        ]
        self.manager.wait_idle(30)
        got = [self.manager.get_instance(self.ctx, u)["instance"] for u in uuids]
        self.assertEqual([states.ACTIVE] * 10, [i.status for i in got])
        self.assertEqual(10, len({i.node_uuid for i in got}))


class TestCreateValidation(base.EngineTestCase):
    def test_bad_requests_are_refused_before_anything_happens(self):
        cases = [
            (dict(name="", flavor="bm", image_source="img"), "name"),
            (dict(name="x", flavor="bm", image_source=""), "image"),
            (dict(name="x" * 300, flavor="bm", image_source="img"), "name"),
            (
                dict(name="x", flavor="bm", image_source="ubuntu"),
                "neither an image UUID",
            ),
            (dict(name="x", flavor="bm", image_source="ftp://a/b"), "ftp://a/b"),
        ]
        for kwargs, word in cases:
            err = self.assertRaises(
                exception.InvalidInput, self.manager.create_instance, self.ctx, **kwargs
            )
            self.assertIn(word, str(err))
        err = self.assertRaises(
            exception.FlavorNotFound,
            self.manager.create_instance,
            self.ctx,
            "x",
            "nope",
            "http://img/x.qcow2",
        )
        self.assertIn("nope", str(err))
        self.assertEqual([], instance_obj.Instance.list(self.ctx))
        self.assertEqual([], self.ironic.calls)

    def test_disabled_flavor(self):
        self.flavor.disabled = True
        self.flavor.save()
        err = self.assertRaises(
            exception.InvalidInput,
            self.manager.create_instance,
            self.ctx,
            "x",
            "bm",
            "http://img/x.qcow2",
        )
        self.assertIn("disabled", str(err))

    def test_flavor_validation(self):
        bad = [
            (dict(name="", resources={"baremetal": 1}), "name"),
            (dict(name="f", resources={"a": 1, "b": 1}), "one resource class"),
            (dict(name="f", resources={"a": 2}), "resources"),
            (dict(name="f", resources={}), "resource class"),
            (
                dict(name="f", resources={"a": 1}, resource_traits={"T": "maybe"}),
                "resource_traits",
            ),
            (
                dict(name="f", composition={"cpu_cores": 4}),
                "no enabled engine extension",
            ),
        ]
        for kwargs, word in bad:
            err = self.assertRaises(
                exception.InvalidInput, self.manager.create_flavor, self.ctx, **kwargs
            )
            self.assertIn(word, str(err))
        err = self.assertRaises(
            exception.DuplicateName,
            self.manager.create_flavor,
            self.ctx,
            "bm",
            resources={"baremetal": 1},
        )
        self.assertIn("bm", str(err))

    def test_flavor_in_use_cannot_be_deleted(self):
        self.create()
        self.assertRaises(
            exception.Conflict, self.manager.delete_flavor, self.ctx, "bm"
        )


class TestDelete(base.EngineTestCase):
    def test_delete_undeploys_and_marks_deleted(self):
        created = self.create()["instance"]
        got = self.delete(created.uuid)
        self.assertEqual(states.DELETED, got["instance"].status)
        self.assertIn(("undeploy", created.node_uuid), self.ironic.calls)
        self.assertIsNone(self.ironic.nodes[created.node_uuid]["instance_uuid"])
        self.assertEqual([], self.manager.list_instances(self.ctx))
        self.assertEqual(
            1, len(self.manager.list_instances(self.ctx, include_deleted=True))
        )
        steps = [(s["op"], s["step"]) for s in got["instance"].extra[timing.STEPS_KEY]]
        self.assertIn(("delete", "undeploy"), steps)

    def test_failed_delete_names_the_step_and_a_repeat_resumes(self):
        created = self.create()["instance"]
        self.ironic.fail_next["undeploy"] = ironic_exc.NodeTimeout(
            created.node_uuid, "undeploy", "deleting", 30
        )
        got = self.delete(created.uuid)
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertTrue(got["fault"].message.startswith("undeploy: "))
        self.assertIn(created.node_uuid, got["fault"].message)
        got = self.delete(created.uuid)
        self.assertEqual(states.DELETED, got["instance"].status)

    def test_delete_of_an_error_instance_without_node(self):
        for node in self.ironic.nodes.values():
            node["provision_state"] = "manageable"
        created = self.create()["instance"]
        self.assertEqual(states.ERROR, created.status)
        self.assertEqual(states.DELETED, self.delete(created.uuid)["instance"].status)
        self.assertNotIn("undeploy", [c[0] for c in self.ironic.calls])

    def test_delete_while_building_is_refused(self):
        instance = instance_obj.Instance(name="b", status=states.BUILDING)
        instance.create(self.ctx)
        self.assertRaises(
            exception.InvalidStateTransition,
            self.manager.delete_instance,
            self.ctx,
            instance.uuid,
        )

    def test_delete_by_name_and_unknown(self):
        created = self.create(name="named")["instance"]
        self.manager.delete_instance(self.ctx, "named")
        self.manager.wait_idle(30)
        self.assertEqual(
            states.DELETED,
            self.manager.get_instance(self.ctx, created.uuid)["instance"].status,
        )
        self.assertRaises(
            exception.InstanceNotFound, self.manager.delete_instance, self.ctx, "named"
        )
        self.assertRaises(
            exception.InstanceNotFound,
            self.manager.get_instance,
            self.ctx,
            "9c8ee1f6-3a65-4c87-a8b0-1d2d3f8c0b8e",
        )


class TestOneWorkerPerInstance(base.EngineTestCase):
    """A delete never races the worker of the operation before it.

    The worker that failed a delete shows ERROR (its flow's first task does
    that on revert) and then still saves its records; a repeated delete
    sent in between must not be overwritten by it.
    """

    def setUp(self):
        super().setUp()
        self.created = self.create()["instance"]
        self.ironic.fail_next["undeploy"] = ironic_exc.NodeTimeout(
            self.created.node_uuid, "undeploy", "deleting", 30
        )
        self.gate = threading.Event()
        self.entered = threading.Event()
        engine = self.manager._manager.runner
        record = engine._ensure_error

        def held(*args):
            self.entered.set()
            self.gate.wait(30)
            return record(*args)

        patcher = mock.patch.object(engine, "_ensure_error", side_effect=held)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.addCleanup(self.gate.set)
        self.manager.delete_instance(self.ctx, self.created.uuid)
        self.assertTrue(self.entered.wait(30))

    def status(self):
        return self.manager.get_instance(self.ctx, self.created.uuid)

    def test_repeated_delete_waits_for_the_failed_one(self):
        self.assertEqual(states.ERROR, self.status()["instance"].status)
        errors = []

        def delete():
            try:
                self.manager.delete_instance(self.ctx, self.created.uuid)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        repeats = [threading.Thread(target=delete) for _ in range(2)]
        for thread in repeats:
            thread.start()
        time.sleep(0.3)
        self.assertEqual(states.ERROR, self.status()["instance"].status)
        self.gate.set()
        for thread in repeats:
            thread.join(30)
        self.assertEqual([], errors)
        self.manager.wait_idle(30)
        got = self.status()
        self.assertEqual(states.DELETED, got["instance"].status)
        # The failed delete's fault is the last one: its worker did not
        # record a second one over the repeated delete.
        self.assertTrue(got["fault"].message.startswith("undeploy: "))
        undeploys = [c for c in self.ironic.calls if c[0] == "undeploy"]
        self.assertEqual(2, len(undeploys), "one failed and one repeated undeploy")

    def test_repeated_delete_is_refused_while_the_worker_runs_on(self):
        self.manager._manager.owner_wait = 0.1
        error = self.assertRaises(
            exception.Conflict,
            self.manager.delete_instance,
            self.ctx,
            self.created.uuid,
        )
        self.assertIn("still busy", str(error))
        self.assertEqual(states.ERROR, self.status()["instance"].status)
        self.gate.set()
        self.manager.wait_idle(30)
        self.manager.delete_instance(self.ctx, self.created.uuid)
        self.manager.wait_idle(30)
        self.assertEqual(states.DELETED, self.status()["instance"].status)


class TestPowerWaitsItsTurn(base.EngineTestCase):
    """A power action that waited (behind a delete, on a jobboard) sends
    nothing unless its instance is still ACTIVE on the same node."""

    def test_nothing_is_sent_to_a_node_the_instance_left(self):
        from mogan_valence.engine.flows import power

        instance = self.create()["instance"]
        power.set_power(self.ironic, instance.uuid, "another-node", "off")
        self.assertFalse([c for c in self.ironic.calls if c[0] == "set_power"])

    def test_nothing_is_sent_once_the_instance_is_not_active(self):
        from mogan_valence.engine.flows import power

        instance = self.create()["instance"]
        node = instance.node_uuid
        instance.status = states.ERROR
        instance.save()
        power.set_power(self.ironic, instance.uuid, node, "off")
        self.assertFalse([c for c in self.ironic.calls if c[0] == "set_power"])
        instance.status = states.ACTIVE
        instance.save()
        power.set_power(self.ironic, instance.uuid, node, "off")
        self.assertTrue([c for c in self.ironic.calls if c[0] == "set_power"])
