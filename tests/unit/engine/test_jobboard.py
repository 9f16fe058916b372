import threading
import types

import fixtures

from mogan_valence.engine import jobboard
from tests import base


class TestBoardConf(base.TestCase):
    def test_redis_url(self):
        conf = jobboard.board_conf("redis://:s3cret@redis.example:6380/3", "ns")
        self.assertEqual(
            ("redis", "redis.example", 6380, 3, "ns", "s3cret"),
            (
                conf["board"],
                conf["host"],
                conf["port"],
                conf["db"],
                conf["namespace"],
                conf["password"],
            ),
        )
        self.assertNotIn("ssl", conf)

    def test_defaults_and_tls(self):
        conf = jobboard.board_conf("rediss://h", "ns")
        self.assertEqual((6379, 0, True), (conf["port"], conf["db"], conf["ssl"]))

    def test_other_schemes_are_refused_by_name(self):
        e = self.assertRaises(
            jobboard.JobboardError, jobboard.board_conf, "zookeeper://h:2181", "ns"
        )
        self.assertIn("zookeeper", str(e))
        self.assertIn("jobboard_backend", str(e))

    def test_a_bad_db_is_named(self):
        e = self.assertRaises(
            jobboard.JobboardError, jobboard.board_conf, "redis://h/x", "ns"
        )
        self.assertIn("jobboard_backend", str(e))

    def test_enabled(self):
        self.assertFalse(jobboard.enabled(base.CONF))
        self.config(group="engine", jobboard_backend="redis://h")
        self.assertTrue(jobboard.enabled(base.CONF))


class FakeStore:
    def __init__(self, saved):
        self.saved = saved

    def load(self, book_uuid):
        return self.saved


class FakeJob:
    uuid = "job-1"
    name = "create-i"
    book_uuid = "book-1"
    details = {"flow_uuid": "flow-1", "instance_uuid": "i"}


class FakeSaved:
    instance_uuid = "i"


class FakeRunner:
    def __init__(self, ended=True):
        self.ended = ended
        self.calls = []

    def run(self, context, saved, resumed, listeners, stopping):
        self.calls.append((saved, resumed))
        return self.ended


class FakeBoard:
    def claim(self, job, who, expiry=None):
        self.claimed = (job, who, expiry)


class TestConductor(base.TestCase):
    def conductor(self, saved, runner):
        from mogan_valence.common import coordination

        return jobboard.Conductor(
            "e",
            FakeBoard(),
            FakeStore(saved),
            runner,
            coordination.LocalCoordinator(),
            9,
            4,
        )

    def test_claims_expire(self):
        c = self.conductor(FakeSaved(), FakeRunner())
        c._jobboard.claim(FakeJob, "e")
        self.assertEqual(9, c._jobboard._board.claimed[2])

    def test_a_flow_that_ended_is_consumed_without_running(self):
        runner = FakeRunner()
        self.assertTrue(self.conductor(None, runner)._dispatch_job(FakeJob()))
        self.assertEqual([], runner.calls)

    def test_runs_the_saved_flow_resumed(self):
        runner = FakeRunner()
        saved = FakeSaved()
        self.assertTrue(self.conductor(saved, runner)._dispatch_job(FakeJob()))
        self.assertEqual([(saved, True)], runner.calls)

    def test_a_stopping_engine_hands_the_job_back_before_running_it(self):
        runner = FakeRunner()
        c = self.conductor(FakeSaved(), runner)
        c.stop()
        self.assertFalse(c._dispatch_job(FakeJob()))
        self.assertEqual([], runner.calls)
        self.assertEqual([], c.running_jobs())


class TestIdleWait(base.TestCase):
    def test_a_posted_job_ends_the_wait_without_stopping_the_conductor(self):
        c = TestConductor.conductor(self, FakeSaved(), FakeRunner())
        c._wait_timeout = jobboard._IdleWait(60)
        c.wake()
        waiting = threading.Thread(target=c._wait_timeout.wait)
        waiting.start()
        waiting.join(30)
        self.assertFalse(waiting.is_alive())
        self.assertFalse(c.stopping)
        # Woken once: the next wait waits until the next wake.
        waiting = threading.Thread(target=c._wait_timeout.wait)
        waiting.start()
        waiting.join(0.2)
        self.assertTrue(waiting.is_alive())
        c.wake()
        waiting.join(30)
        self.assertFalse(waiting.is_alive())

    def test_stopping_ends_the_wait(self):
        c = TestConductor.conductor(self, FakeSaved(), FakeRunner())
        c._wait_timeout = jobboard._IdleWait(60)
        waiting = threading.Thread(target=c._wait_timeout.wait)
        waiting.start()
        c.stop()
        waiting.join(30)
        self.assertFalse(waiting.is_alive())
        self.assertTrue(c.stopping)

    def test_posting_a_job_wakes_this_engines_conductor(self):
        posted = []
        board = types.SimpleNamespace(
            board=types.SimpleNamespace(
                post=lambda name, book, details: (
                    posted.append(name)
                    or types.SimpleNamespace(name=name, uuid="job-1")
                )
            ),
            conductor=types.SimpleNamespace(wake=lambda: posted.append("woken")),
        )
        saved = types.SimpleNamespace(
            kind="create",
            instance_uuid="i",
            book=None,
            flow_detail=types.SimpleNamespace(uuid="flow-1"),
        )
        jobboard.JobBoard.post(board, saved)
        self.assertEqual(["create-i", "woken"], posted)


class TestQuietBoardFailures(base.TestCase):
    def test_a_failing_board_is_said_once_a_minute_without_traceback(self):
        log = jobboard._QuietBoardFailures(jobboard.LOG)
        with self.assertLogs(jobboard.LOG, "WARNING") as logs:
            for _ in range(5):
                try:
                    raise ConnectionError("redis down")
                except ConnectionError:
                    log.exception("Transient job board failure")
            log.warn("kept: %s", "x")  # noqa: G010  (what taskflow calls)
        self.assertEqual(2, len(logs.records))
        self.assertIn("redis down", logs.output[0])
        self.assertIsNone(logs.records[0].exc_info)


class OwnerBoard(FakeBoard):
    def __init__(self, owner):
        self.owner = owner

    def find_owner(self, job):
        if isinstance(self.owner, Exception):
            raise self.owner
        return self.owner


class ExtendableJob(FakeJob):
    def extend_expiry(self, expiry):
        self.extended = expiry


class TestLostClaims(base.TestCase):
    def conductor(self, owner):
        from mogan_valence.common import coordination

        c = jobboard.Conductor(
            "e",
            OwnerBoard(owner),
            FakeStore(FakeSaved()),
            FakeRunner(),
            coordination.LocalCoordinator(),
            9,
            4,
        )
        job = ExtendableJob()
        c._running[job.uuid] = job
        return c, job

    def test_a_claim_of_another_engine_is_lost(self):
        c, job = self.conductor("other")
        c.check_claims()
        self.assertEqual(9, job.extended)
        self.assertIn(job.uuid, c._lost)

    def test_a_claim_that_vanished_is_lost(self):
        c, job = self.conductor(TypeError("no owner"))  # taskflow's way
        c.check_claims()
        self.assertIn(job.uuid, c._lost)

    def test_not_knowing_is_not_losing(self):
        c, job = self.conductor(ConnectionError("redis down"))
        c.check_claims()
        self.assertNotIn(job.uuid, c._lost)
        c, job = self.conductor("e")
        c.check_claims()
        self.assertNotIn(job.uuid, c._lost)

    def test_a_lost_job_stops_before_its_first_step(self):
        c, job = self.conductor("other")
        c._lost.add(job.uuid)
        del c._running[job.uuid]
        self.assertFalse(c._run_locked(job, "i"))
        self.assertEqual([], c._runner.calls)


class TestDispatchNeverRaises(base.TestCase):
    def test_an_error_hands_the_job_back(self):
        from mogan_valence.common import coordination

        class Broken(FakeStore):
            def load(self, book_uuid):
                raise RuntimeError("database gone")

        self.useFixture(fixtures.MockPatch("time.sleep"))
        c = jobboard.Conductor(
            "e",
            FakeBoard(),
            Broken(None),
            FakeRunner(),
            coordination.LocalCoordinator(),
            9,
            4,
        )
        self.assertFalse(c._dispatch_job(FakeJob()))
        self.assertEqual([], c.running_jobs())

    def test_a_bad_url_is_named_without_quoting_it(self):
        e = self.assertRaises(
            jobboard.JobboardError, jobboard.board_conf, "redis://:s3cr/et@h", "ns"
        )
        self.assertNotIn("s3cr", str(e))
        self.assertIn("jobboard_backend", str(e))
