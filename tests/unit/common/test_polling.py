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
