"""An engine killed at any moment starts again and finishes what it left:
saved flows, their rows, and compare-and-swap state changes."""

import sqlalchemy as sa
from oslo_utils import uuidutils
from taskflow.persistence import models as tf_models

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.db import api as db_api
from mogan_valence.engine import faults
from mogan_valence.engine import manager as manager_mod
from mogan_valence.engine import persistence
from mogan_valence.engine.flows import constants
from mogan_valence.objects import instance as instance_obj
from tests.unit.engine import base

IMAGE = "http://img/x.qcow2"
# The atom taskflow saves the injected store under.
INJECTOR = "_TaskFlow_INJECTOR"
TASKFLOW_TABLES = ("logbooks", "flowdetails", "atomdetails")


def save_create(manager, ctx, flavor="bm", name="web"):
    """What ``create_instance`` leaves when the engine dies right after it
    answered: the saved flow and a BUILDING instance, nothing run yet."""
    flavor_o = manager.get_flavor(ctx, flavor)
    instance_uuid = uuidutils.generate_uuid()
    saved = manager.flows.new(
        persistence.CREATE,
        instance_uuid,
        store={
            constants.INSTANCE_UUID: instance_uuid,
            constants.FLAVOR: manager_mod.flavor_dict(flavor_o),
            constants.IMAGE_SOURCE: IMAGE,
        },
    )
    instance_obj.Instance(
        uuid=instance_uuid,
        name=name,
        status=states.BUILDING,
        flavor_uuid=flavor_o.uuid,
        image_source=IMAGE,
        extra={},
    ).create(ctx)
    return instance_uuid, saved


def row_counts() -> dict[str, int]:
    with db_api.get_engine().connect() as conn:
        return {
            # The table names are this module's constants, not input.
            table: conn.execute(
                sa.text(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
            ).scalar()
            for table in TASKFLOW_TABLES
        }


class RestartTestCase(base.EngineTestCase):
    def restart(self):
        """A new engine process on the same database: init_host, then the
        resume it does before serving RPC."""
        engine = base.Endpoint(manager_mod.EngineManager(self.ironic))
        engine.init_host()
        self.addCleanup(engine.del_host, 10)
        resumed = engine.resume_unfinished()
        engine.wait_idle(30)
        return engine, resumed


class TestOtherEnginesInstances(RestartTestCase):
    def test_start_leaves_a_building_instance_without_a_saved_flow_alone(self):
        # Another engine's create: its flow is saved under its own host.
        other = instance_obj.Instance(
            name="theirs", status=states.BUILDING, image_source=IMAGE, extra={}
        )
        other.create(self.ctx)
        engine, resumed = self.restart()
        self.assertEqual(0, resumed)
        got = engine.get_instance(self.ctx, other.uuid)
        self.assertEqual(states.BUILDING, got["instance"].status)
        self.assertIsNone(got["fault"])
        self.assertEqual([], self.ironic.calls)


class TestResumedCreate(RestartTestCase):
    def test_create_killed_before_its_first_step_runs_to_active(self):
        instance_uuid, _ = save_create(self.manager, self.ctx)
        engine, resumed = self.restart()
        self.assertEqual(1, resumed)
        got = engine.get_instance(self.ctx, instance_uuid)
        self.assertEqual(states.ACTIVE, got["instance"].status, got["fault"])
        self.assertEqual([], self.manager.flows.unfinished())

    def test_create_killed_while_saving_its_store_runs_to_active(self):
        # taskflow saves the injector atom before the values it injects: a
        # kill in between leaves it with NULL results, which taskflow cannot
        # load again ('NoneType' object has no attribute 'keys').
        instance_uuid, saved = save_create(self.manager, self.ctx)
        injector = tf_models.TaskDetail(INJECTOR, uuid=uuidutils.generate_uuid())
        injector.results = None
        saved.flow_detail.add(injector)
        conn = self.manager.flows.backend.get_connection()
        conn.update_flow_details(saved.flow_detail)
        [reloaded] = self.manager.flows.unfinished()
        [atom] = list(reloaded.flow_detail)
        self.assertEqual((INJECTOR, None), (atom.name, atom.results))
        self.assertIsNone(reloaded.flow_detail.state)

        engine, _ = self.restart()
        got = engine.get_instance(self.ctx, instance_uuid)
        self.assertIsNone(got["fault"])
        self.assertEqual(states.ACTIVE, got["instance"].status)
        self.assertEqual([], self.manager.flows.unfinished())

    def test_create_killed_after_active_before_forgetting_its_flow(self):
        flows = self.manager.flows
        real_done = flows.done
        failed = []

        def done_fails_once(saved):
            if not failed:
                failed.append(saved)
                raise RuntimeError("killed before the logbook went")
            return real_done(saved)

        self.patch(flows, "done", done_fails_once)
        got = self.create()
        self.assertEqual(states.ACTIVE, got["instance"].status)
        self.assertEqual(1, len(failed))
        self.assertEqual(1, len(flows.unfinished()))

        engine, _ = self.restart()
        got = engine.get_instance(self.ctx, got["instance"].uuid)
        self.assertEqual(states.ACTIVE, got["instance"].status)
        self.assertIsNone(got["fault"])
        self.assertEqual([], flows.unfinished())
        # Not deployed a second time.
        self.assertEqual(1, [c[0] for c in self.ironic.calls].count("deploy"))

    def test_a_failure_that_could_not_be_recorded_keeps_the_flow(self):
        """The create fails and even ERROR cannot be written (the database
        is away): the flow stays for the next start, which records it."""
        self.manager.create_flavor(self.ctx, "nothing", resources={"nothing": 1})
        real = faults.record_failure
        self.patch(faults, "record_failure", mock_raise(RuntimeError("db away")))
        got = self.create(flavor="nothing")
        self.assertEqual(states.BUILDING, got["instance"].status)
        self.assertEqual(1, len(self.manager.flows.unfinished()))
        self.patch(faults, "record_failure", real)
        engine, _ = self.restart()
        got = engine.get_instance(self.ctx, got["instance"].uuid)
        self.assertEqual(states.ERROR, got["instance"].status)
        # The fault names the step that really failed.
        self.assertTrue(
            got["fault"].message.startswith("schedule-create-instance: "),
            got["fault"].message,
        )
        self.assertEqual([], self.manager.flows.unfinished())


def mock_raise(error):
    def raiser(*args, **kwargs):
        raise error

    return raiser


class TestSavedFlowRows(RestartTestCase):
    def test_create_and_delete_leave_no_taskflow_rows(self):
        got = self.create()
        self.assertEqual(states.ACTIVE, got["instance"].status)
        self.assertEqual(dict.fromkeys(TASKFLOW_TABLES, 0), row_counts())
        got = self.delete(got["instance"].uuid)
        self.assertEqual(states.DELETED, got["instance"].status)
        self.assertEqual(dict.fromkeys(TASKFLOW_TABLES, 0), row_counts())

    def test_done_removes_flow_and_atom_details_with_the_logbook(self):
        _, saved = save_create(self.manager, self.ctx)
        saved.flow_detail.add(tf_models.TaskDetail("t", uuid=uuidutils.generate_uuid()))
        self.manager.flows.backend.get_connection().update_flow_details(
            saved.flow_detail
        )
        self.assertEqual(dict.fromkeys(TASKFLOW_TABLES, 1), row_counts())
        self.manager.flows.done(saved)
        self.assertEqual(dict.fromkeys(TASKFLOW_TABLES, 0), row_counts())
        self.manager.flows.done(saved)  # idempotent

    def _orphan(self):
        _, saved = save_create(self.manager, self.ctx)
        saved.flow_detail.add(tf_models.TaskDetail("t", uuid=uuidutils.generate_uuid()))
        self.manager.flows.backend.get_connection().update_flow_details(
            saved.flow_detail
        )
        # What taskflow's destroy_logbook left on SQLite (no ON DELETE
        # CASCADE without foreign keys).
        with db_api.get_engine().begin() as conn:
            conn.execute(sa.text("DELETE FROM logbooks"))
        self.assertEqual(
            {"logbooks": 0, "flowdetails": 1, "atomdetails": 1}, row_counts()
        )

    def test_sweep_orphans_removes_details_without_a_logbook(self):
        self._orphan()
        self.assertEqual(2, self.manager.flows.sweep_orphans())
        self.assertEqual(dict.fromkeys(TASKFLOW_TABLES, 0), row_counts())

    def test_start_sweeps_orphans(self):
        self._orphan()
        self.restart()
        self.assertEqual(dict.fromkeys(TASKFLOW_TABLES, 0), row_counts())


class TestCompareAndSwap(base.EngineTestCase):
    def setUp(self):
        super().setUp()
        self.instance = instance_obj.Instance(
            name="web", status=states.BUILDING, image_source=IMAGE, extra={}
        )
        self.instance.create(self.ctx)
        # Another writer moves the row while this one holds a stale copy.
        other = instance_obj.Instance.get(self.ctx, self.instance.uuid)
        other.status = states.ERROR
        other.save()

    def test_save_expecting_a_status_another_writer_changed_is_refused(self):
        self.instance.status = states.ACTIVE
        self.instance.node = "overwritten"
        err = self.assertRaises(
            exception.InvalidStateTransition,
            self.instance.save,
            expected_status=states.BUILDING,
        )
        self.assertIn(states.ERROR, str(err))
        row = instance_obj.Instance.get(self.ctx, self.instance.uuid)
        self.assertEqual(states.ERROR, row.status)
        self.assertIsNone(row.node)

    def test_transition_from_a_stale_status_is_refused(self):
        self.assertRaises(
            exception.InvalidStateTransition,
            faults.transition,
            self.instance,
            states.ACTIVE,
            power_state=states.POWER_ON,
        )
        row = instance_obj.Instance.get(self.ctx, self.instance.uuid)
        self.assertEqual(states.ERROR, row.status)
        self.assertIsNone(row.power_state)


class TestRefusedRequestsLeaveNothing(base.EngineTestCase):
    def test_too_long_image_source_is_refused_before_any_row_or_flow(self):
        err = self.assertRaises(
            exception.InvalidInput,
            self.manager.create_instance,
            self.ctx,
            "web",
            "bm",
            "http://img/" + "x" * 389,
        )
        self.assertIn("image_source", str(err))
        self.assertEqual([], self.manager.list_instances(self.ctx))
        self.assertEqual([], self.manager.flows.unfinished())
        self.assertEqual(dict.fromkeys(TASKFLOW_TABLES, 0), row_counts())
        self.assertEqual([], self.ironic.calls)

    def test_flavor_with_forbidden_traits_is_refused_with_the_reason(self):
        err = self.assertRaises(
            exception.InvalidInput,
            self.manager.create_flavor,
            self.ctx,
            "gpu-free",
            resources={"baremetal": 1},
            resource_traits={"CUSTOM_GPU": "forbidden"},
        )
        self.assertIn("CUSTOM_GPU", str(err))
        self.assertIn("forbidden", str(err))
        self.assertNotIn(
            "gpu-free", [f.name for f in self.manager.list_flavors(self.ctx)]
        )
