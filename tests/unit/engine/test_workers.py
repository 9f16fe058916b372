"""The worker pool and its owners: an engine resumes before it serves, a
request never runs an instance twice, and a stop is bounded."""

import threading
from unittest import mock

import fixtures

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.engine import flow_runner
from mogan_valence.engine import manager as manager_mod
from mogan_valence.engine import persistence
from mogan_valence.engine import rpc
from mogan_valence.engine import service as service_mod
from mogan_valence.engine import workers
from mogan_valence.engine.flows import constants
from tests import base as tests_base
from tests.unit.engine import base
from tests.unit.engine import test_restarts


class TestWorkerPool(tests_base.TestCase):
    def setUp(self):
        super().setUp()
        self.release = threading.Event()
        self.addCleanup(self.release.set)

    def _stop_in_thread(self, pool, timeout):
        result = []
        thread = threading.Thread(target=lambda: result.append(pool.stop(timeout)))
        thread.start()
        thread.join(timeout=5)
        self.assertFalse(thread.is_alive(), "stop() outlived its timeout")
        return result[0]

    def test_stop_gives_up_at_its_timeout_while_work_still_runs(self):
        pool = workers.WorkerPool(1, name="test-stop")
        pool.submit("i-1", self.release.wait, 10)
        self.assertFalse(self._stop_in_thread(pool, 0.5))
        # The abandoned work is still there (it resumes at the next start).
        self.assertIsNotNone(pool.owner("i-1"))

    def test_stop_of_an_idle_pool_is_true(self):
        pool = workers.WorkerPool(2, name="test-idle")
        pool.submit("i-1", lambda: None).result(5)
        self.assertTrue(self._stop_in_thread(pool, 5))

    def test_worker_threads_are_daemons(self):
        workers.WorkerPool(3, name="test-daemons")
        threads = [
            t for t in threading.enumerate() if t.name.startswith("test-daemons")
        ]
        self.assertEqual(3, len(threads))
        self.assertTrue(all(t.daemon for t in threads))

    def test_one_owner_per_instance(self):
        pool = workers.WorkerPool(2, name="test-owner")
        self.addCleanup(pool.stop, 5)
        pool.submit("i-1", self.release.wait, 10)
        err = self.assertRaises(exception.Conflict, pool.submit, "i-1", lambda: None)
        self.assertIn("still busy", str(err))
        # Another instance is free to go.
        pool.submit("i-2", lambda: None).result(5)
        self.release.set()
        self.assertTrue(pool.wait_idle(5))
        pool.submit("i-1", lambda: None).result(5)

    def test_a_stopping_pool_takes_no_more_work(self):
        pool = workers.WorkerPool(1, name="test-stopping")
        pool.stop(1)
        self.assertRaises(
            exception.MoganValenceException, pool.submit, "i-1", lambda: None
        )


class GatedRunsMixin:
    """Flows run only once the gate opens: work that is owned, not done."""

    def gate_runs(self):
        gate = threading.Event()
        self.addCleanup(gate.set)
        real_run = flow_runner.FlowRunner.run

        def gated(runner, *args, **kwargs):
            gate.wait(10)
            return real_run(runner, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(flow_runner.FlowRunner, "run", gated))
        return gate


class TestStartOrder(GatedRunsMixin, base.EngineTestCase):
    def test_start_resumes_saved_flows_before_serving_rpc(self):
        instance_uuid, _ = test_restarts.save_create(self.manager, self.ctx)
        gate = self.gate_runs()
        engine = manager_mod.EngineManager(self.ironic)
        order = []
        real_resume = engine.resume_unfinished

        def resume(*args):
            order.append("resume")
            return real_resume(*args)

        engine.resume_unfinished = resume
        server = mock.Mock()
        server.start.side_effect = lambda: order.append(
            ("serve", engine.workers.owner(instance_uuid) is not None)
        )

        def get_server(*args):
            order.append("get-server")
            return server

        self.useFixture(fixtures.MockPatchObject(rpc, "get_server", get_server))
        service = service_mod.EngineService(
            engine, transport=mock.Mock(), conf=tests_base.CONF
        )
        service.start()
        self.addCleanup(service.stop, 10)
        # When RPC starts, the resumed flow already owns its instance.
        self.assertEqual(["resume", "get-server", ("serve", True)], order)
        gate.set()
        engine.wait_idle(30)
        got = engine.get_instance(self.ctx, instance_uuid)
        self.assertEqual(states.ACTIVE, got["instance"].status, got["fault"])

    def _saved_delete(self):
        """An ACTIVE instance whose delete was saved when the engine died,
        before the instance was moved to DELETING."""
        got = self.create()
        instance_uuid = got["instance"].uuid
        self.assertEqual(states.ACTIVE, got["instance"].status)
        self.manager.flows.new(
            persistence.DELETE,
            instance_uuid,
            store={
                constants.INSTANCE_UUID: instance_uuid,
                constants.FORCE_RELEASE: False,
            },
        )
        return instance_uuid

    def test_delete_of_an_instance_a_resumed_flow_owns_is_refused_as_busy(self):
        instance_uuid = self._saved_delete()
        gate = self.gate_runs()
        self.assertEqual(1, self.manager.resume_unfinished())
        self.manager._manager.owner_wait = 0.2
        err = self.assertRaises(
            exception.Conflict, self.manager.delete_instance, self.ctx, instance_uuid
        )
        self.assertIn("still busy", str(err))
        gate.set()
        self.manager.wait_idle(30)
        got = self.manager.get_instance(self.ctx, instance_uuid)
        self.assertEqual(states.DELETED, got["instance"].status, got["fault"])
        # Torn down once: by the resumed flow only.
        self.assertEqual(1, [c[0] for c in self.ironic.calls].count("undeploy"))

    def test_delete_waits_for_the_resumed_flow_that_owns_the_instance(self):
        instance_uuid = self._saved_delete()
        gate = self.gate_runs()
        self.manager.resume_unfinished()
        opener = threading.Timer(0.3, gate.set)
        opener.start()
        self.addCleanup(opener.cancel)
        # It waited for the resumed delete to end, and found it done.
        self.assertRaises(
            exception.InstanceNotFound,
            self.manager.delete_instance,
            self.ctx,
            instance_uuid,
        )
        self.manager.wait_idle(30)
        self.assertEqual(1, [c[0] for c in self.ironic.calls].count("undeploy"))

    def test_one_flow_that_cannot_be_resumed_does_not_stop_the_others(self):
        bad, _ = test_restarts.save_create(self.manager, self.ctx, name="bad")
        good, _ = test_restarts.save_create(self.manager, self.ctx, name="good")
        pool = self.manager._manager.workers
        real_submit = pool.submit

        def submit(instance_uuid, *args):
            if instance_uuid == bad:
                raise RuntimeError("cannot take it")
            return real_submit(instance_uuid, *args)

        logs = self.useFixture(fixtures.FakeLogger())
        self.useFixture(fixtures.MockPatchObject(pool, "submit", submit))
        self.assertEqual(1, self.manager.resume_unfinished())
        self.manager.wait_idle(30)
        self.assertIn(f"Could not resume the flow of {bad}", logs.output)
        self.assertEqual(
            states.ACTIVE, self.manager.get_instance(self.ctx, good)["instance"].status
        )
        # The other one is kept for the next start, untouched.
        got = self.manager.get_instance(self.ctx, bad)
        self.assertEqual(states.BUILDING, got["instance"].status)
        self.assertIsNone(got["fault"])
        self.assertEqual(
            [bad], [s.instance_uuid for s in self.manager.flows.unfinished()]
        )
