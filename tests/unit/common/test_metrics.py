import dataclasses
import threading

from oslo_utils import uuidutils
from prometheus_client import CollectorRegistry
from prometheus_client import REGISTRY
import requests

from mogan_valence.common import metrics
from mogan_valence.common import states
from mogan_valence.localstack import process
from mogan_valence.objects import instance as instance_obj
from tests import base


def _instances(registry) -> dict[str, float]:
    return {
        sample.labels["state"]: sample.value
        for family in registry.collect()
        if family.name == "mogan_valence_instances"
        for sample in family.samples
    }


class TestInstanceStateCollector(base.DbTestCase):
    def _registry(self, count, states_=()):
        registry = CollectorRegistry()
        registry.register(metrics.InstanceStateCollector(count, states_))
        return registry

    def test_counts_by_state_from_the_database(self):
        for status in (states.ACTIVE, states.ACTIVE, states.ERROR):
            instance_obj.Instance(
                uuid=uuidutils.generate_uuid(),
                name="x",
                status=status,
            ).create()
        registry = self._registry(
            instance_obj.Instance.count_by_status, states.ALL_STATES
        )
        got = _instances(registry)
        self.assertEqual(2, got[states.ACTIVE])
        self.assertEqual(1, got[states.ERROR])
        # Every state is reported, 0 when none is in it.
        self.assertEqual(0, got[states.BUILDING])

    def test_counted_at_each_scrape_not_at_registration(self):
        calls = []

        def count():
            calls.append(1)
            return {states.ACTIVE: len(calls)}

        registry = self._registry(count)
        self.assertEqual([], calls)
        self.assertEqual({states.ACTIVE: 1}, _instances(registry))
        self.assertEqual({states.ACTIVE: 2}, _instances(registry))

    def test_a_failed_count_leaves_the_gauge_out(self):
        def count():
            raise RuntimeError("database gone")

        registry = self._registry(count, states.ALL_STATES)
        self.assertEqual({}, _instances(registry))


@dataclasses.dataclass
class _Action:
    kind: str
    reason: str
    done: bool = False
    error: str | None = None


def _value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


class TestHooks(base.TestCase):
    def test_reason_kind_has_no_ids(self):
        self.assertEqual(
            "instance is deleted",
            metrics.reason_kind(
                "instance 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 is deleted"
            ),
        )
        self.assertEqual(
            "instance is active on another node",
            metrics.reason_kind(
                "instance 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 is active on another "
                "node (2be26c0b-03f2-4d2e-ae87-c02d7f33c123)"
            ),
        )
        self.assertEqual(
            "instance is in ERROR",
            metrics.reason_kind(
                "instance 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 is in ERROR, but "
                "Ironic node is 'clean failed': ..."
            ),
        )
        self.assertEqual("unknown", metrics.reason_kind(None))

    def test_reconciler_actions_by_reason_and_outcome(self):
        name = "mogan_valence_reconciler_actions_total"
        labels = {"action": "release", "reason": "instance is deleted"}
        done = _value(name, outcome="done", **labels)
        failed = _value(name, outcome="failed", **labels)
        held = _value(name, action="hold", reason="instance is deleted", outcome="held")
        reason = "instance 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 is deleted"
        metrics.reconciler_actions(
            [
                _Action("release", reason, done=True),
                _Action("release", reason, error="503"),
                _Action("hold", reason),
            ]
        )
        self.assertEqual(done + 1, _value(name, outcome="done", **labels))
        self.assertEqual(failed + 1, _value(name, outcome="failed", **labels))
        self.assertEqual(
            held + 1,
            _value(name, action="hold", reason="instance is deleted", outcome="held"),
        )

    def test_compose_slot_counts_composes_in_flight(self):
        class Pods:
            def __init__(self):
                self.entered = threading.Event()

            @metrics.compose_slot
            def compose_slot(self, podm_id):
                self.entered.set()
                yield

        name = "mogan_valence_composes_in_flight"
        before = _value(name, podm="podm-t")
        with Pods().compose_slot("podm-t"):
            self.assertEqual(before + 1, _value(name, podm="podm-t"))
        self.assertEqual(before, _value(name, podm="podm-t"))

    def test_compose_slot_failure_still_counts_down(self):
        class Pods:
            @metrics.compose_slot
            def compose_slot(self, podm_id):
                yield

        name = "mogan_valence_composes_in_flight"
        before = _value(name, podm="podm-f")
        with self.assertRaises(ValueError):
            with Pods().compose_slot("podm-f"):
                raise ValueError("compose failed")
        self.assertEqual(before, _value(name, podm="podm-f"))

    def test_observe_step(self):
        count = _value(
            "mogan_valence_step_duration_seconds_count", step="compose", backend="b"
        )
        outcome = _value(
            "mogan_valence_step_outcomes_total",
            step="compose",
            outcome="failure",
            error="ValenceError",
        )
        metrics.observe_step("compose-node", 1.5, "failure", "ValenceError", "b")
        self.assertEqual(
            count + 1,
            _value(
                "mogan_valence_step_duration_seconds_count", step="compose", backend="b"
            ),
        )
        self.assertEqual(
            outcome + 1,
            _value(
                "mogan_valence_step_outcomes_total",
                step="compose",
                outcome="failure",
                error="ValenceError",
            ),
        )

    def test_serve(self):
        self.assertFalse(metrics.serve("127.0.0.1", 0))
        port = process.free_port()
        self.assertTrue(metrics.serve("127.0.0.1", port))
        body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        self.assertIn("mogan_valence_step_outcomes_total", body)
