from unittest import mock

from mogan_valence.common import polling
from tests import base


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


class TestWaitFor(base.TestCase):
    def test_backs_off_up_to_the_cap(self):
        clock = FakeClock()
        values = iter(range(100))
        result = polling.wait_for(
            lambda: next(values),
            lambda v: v == 6,
            timeout=100,
            what="x",
            interval_min=0.2,
            interval_max=1.0,
            factor=2,
            clock=clock,
            sleep=clock.sleep,
        )
        self.assertEqual(6, result)
        self.assertEqual([0.2, 0.4, 0.8, 1.0, 1.0, 1.0], clock.sleeps)

    def test_deadline_raises_with_the_last_value(self):
        clock = FakeClock()
        values = iter(range(1000))
        err = self.assertRaises(
            polling.PollTimeout,
            polling.wait_for,
            lambda: next(values),
            lambda v: False,
            timeout=5,
            what="node X to deploy",
            interval_min=1,
            interval_max=1,
            clock=clock,
            sleep=clock.sleep,
        )
        self.assertIn("node X to deploy", str(err))
        self.assertEqual(5, err.last)
        self.assertLessEqual(clock.now, 5.0)

    def test_done_may_stop_early_by_raising(self):
        def done(v):
            raise ValueError("failed state")

        self.assertRaises(
            ValueError, polling.wait_for, lambda: 1, done, timeout=5, what="x"
        )

    def test_defaults_come_from_config(self):
        self.config(group="engine", poll_interval_min=0.5, poll_interval_max=0.5)
        clock = FakeClock()
        values = iter(range(10))
        polling.wait_for(
            lambda: next(values),
            lambda v: v == 2,
            timeout=10,
            what="x",
            clock=clock,
            sleep=clock.sleep,
        )
        self.assertEqual([0.5, 0.5], clock.sleeps)


class TestWaitForStatus(base.TestCase):
    def wait(self, statuses, wanted, **kwargs):
        clock = FakeClock()
        looks = iter(statuses)
        kwargs.setdefault("timeout", 100)
        kwargs.setdefault("what", "server web-1 to become ACTIVE")
        kwargs.setdefault("interval", 1)
        result = polling.wait_for_status(
            lambda: next(looks), wanted, clock=clock, sleep=clock.sleep, **kwargs
        )
        return result, clock

    def test_returns_the_resource_in_a_wanted_status(self):
        servers = [{"status": s, "n": i} for i, s in enumerate("bbba")]
        got, clock = self.wait(servers, {"a", "e"}, status=lambda s: s["status"])
        self.assertEqual({"status": "a", "n": 3}, got)
        # interval alone is a fixed interval
        self.assertEqual([1, 1, 1], clock.sleeps)

    def test_interval_with_a_max_backs_off(self):
        _, clock = self.wait("bbbba", {"a"}, interval=0.2, interval_max=0.3, timeout=10)
        self.assertEqual([0.2, 0.3, 0.3, 0.3], clock.sleeps)

    def test_on_change_sees_each_new_status_and_on_poll_every_look(self):
        changes, polls = [], []
        self.wait(
            ["building", "building", None, None, "active"],
            {"active"},
            on_change=lambda r, s: changes.append(s),
            on_poll=lambda r, s: polls.append(s),
        )
        self.assertEqual(["building", None, "active"], changes)
        self.assertEqual(5, len(polls))

    def test_timeout_names_the_resource_the_last_status_and_the_wait(self):
        err = self.assertRaises(
            polling.StatusTimeout,
            self.wait,
            ["building"] * 10 + ["deploying"] * 100,
            {"active"},
            timeout=30,
            status=lambda s: s.upper(),
        )
        self.assertEqual(
            "Timed out after 30s waiting for server web-1 to become ACTIVE; "
            "last status: DEPLOYING",
            str(err),
        )
        self.assertEqual("DEPLOYING", err.status)
        self.assertEqual("deploying", err.last)
        # still a PollTimeout for callers that catch any wait's timeout
        self.assertIsInstance(err, polling.PollTimeout)

    def test_a_failed_status_ends_the_wait_at_once(self):
        err = self.assertRaises(
            polling.StatusFailed,
            self.wait,
            ["building", "error", "active"],
            {"active"},
            failed={"error"},
        )
        self.assertEqual("error", err.status)
        self.assertIn("server web-1 to become ACTIVE", str(err))

    def test_explicit_intervals_need_no_engine_options(self):
        # The tempest plugin has no [engine] group.
        fresh = polling.cfg.ConfigOpts()
        with mock.patch.object(polling.cfg, "CONF", fresh):
            got, _ = self.wait(["b", "a"], {"a"}, interval=0.5)
        self.assertEqual("a", got)
