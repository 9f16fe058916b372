"""Prometheus metrics of the engine and the API.

The metrics live in prometheus_client's default registry (next to its
process and platform collectors); ``serve`` exposes it on
``http://<host>:<port>/metrics`` from a thread of the process, and only when
a port is configured. Every label takes a bounded set of values (step names,
class names, states, pod manager ids, reason kinds): never a uuid.

The hooks (``observe_step``, ``compose_slot``, ``reconciler_actions``) cost a
dictionary look-up and never raise: a metric must not fail an operation.
"""

import contextlib
import functools
import logging
import re
import threading

import prometheus_client
from prometheus_client import core as prom_core
from prometheus_client import registry as prom_registry

LOG = logging.getLogger(__name__)

PREFIX = "mogan_valence"

# Atom (step) names of the flows -> the step a duration is filed under.
# Other atoms keep their own (stable, bounded) names.
STEP_NAMES = {
    "compose-node": "compose",
    "enroll-node": "enroll",
    "create-instance": "deploy",
    "undeploy": "undeploy",
    "unenroll": "unenroll",
    "release": "release",
}
# A compose waits for its pod manager, a deploy or a clean for Ironic:
# seconds to an hour.
DURATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)

STEP_DURATION = prometheus_client.Histogram(
    f"{PREFIX}_step_duration_seconds",
    "How long a step of a create or a delete took (compose, enroll, deploy, "
    "undeploy, unenroll, release, ...), whether it succeeded or failed.",
    ["step", "backend"],
    buckets=DURATION_BUCKETS,
)
STEP_OUTCOMES = prometheus_client.Counter(
    f"{PREFIX}_step_outcomes",
    "Steps that ended, by step, outcome (success, failure, reverted, "
    "revert_failure) and the class name of the error ('' on success).",
    ["step", "outcome", "error"],
)
FLOWS_IN_FLIGHT = prometheus_client.Gauge(
    f"{PREFIX}_flows_in_flight",
    "Creates, deletes and power actions this engine is running now.",
    ["kind"],
)
COMPOSES_IN_FLIGHT = prometheus_client.Gauge(
    f"{PREFIX}_composes_in_flight",
    "Composes this engine is running now, by pod manager.",
    ["podm"],
)
RECONCILER_ACTIONS = prometheus_client.Counter(
    f"{PREFIX}_reconciler_actions",
    "What the reconciler did to a node (unenroll, release, return, hold), "
    "why (the reason, without ids) and how it went (done, failed, "
    "skipped, held, dry_run).",
    ["action", "reason", "outcome"],
)


def step_label(atom_name: str) -> str:
    return STEP_NAMES.get(atom_name, atom_name)


def observe_step(
    atom_name: str,
    seconds: float | None,
    outcome: str,
    error: str = "",
    backend: str = "",
) -> None:
    """Count a step that ended; file its duration (when known)."""
    try:
        step = step_label(atom_name)
        STEP_OUTCOMES.labels(step=step, outcome=outcome, error=error or "").inc()
        if seconds is not None and outcome in ("success", "failure"):
            STEP_DURATION.labels(step=step, backend=backend or "").observe(seconds)
    except Exception:  # noqa: BLE001  (a metric never fails an operation)
        LOG.debug("Could not record step %s", atom_name, exc_info=True)


@contextlib.contextmanager
def flow_in_flight(kind: str):
    gauge = FLOWS_IN_FLIGHT.labels(kind=kind)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


@contextlib.contextmanager
def compose_in_flight(podm: str | None):
    gauge = COMPOSES_IN_FLIGHT.labels(podm=podm or "")
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def compose_slot(slot):
    """Decorator of a pod manager's compose slot (a generator method taking
    the pod manager id): the slot as a context manager, composes in flight
    counted while it is held."""
    held = contextlib.contextmanager(slot)

    @functools.wraps(slot)
    @contextlib.contextmanager
    def counted(self, podm_id, *args, **kwargs):
        with held(self, podm_id, *args, **kwargs), compose_in_flight(podm_id):
            yield

    return counted


_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
REASON_MAX = 80


def reason_kind(reason: str | None) -> str:
    """A reconciler reason as a label: ids removed, the first clause only
    (what follows names states and advice), so that the set stays small.

    >>> reason_kind("instance 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 is deleted")
    'instance is deleted'
    """
    text = _UUID.sub("", reason or "")
    text = re.sub(r"\(\s*\)", "", text).split(",")[0]
    text = " ".join(text.split())
    return text[:REASON_MAX] or "unknown"


def reconciler_actions(actions, dry_run: bool = False) -> None:
    """Count the actions of one reconciler run."""
    for action in actions:
        reconciler_action(action, "dry_run" if dry_run else None)


def reconciler_action(action, outcome: str | None = None) -> None:
    """Count one action of a reconciler run (an object with ``kind``,
    ``reason``, ``done`` and ``error``); ``outcome`` overrides the one read
    from it."""
    try:
        if str(action.kind).lower() == "hold":
            outcome = "held"  # reported for an operator, never executed
        elif outcome is None:
            if action.done:
                outcome = "done"
            elif action.error:
                outcome = "failed"
            else:
                outcome = "skipped"
        RECONCILER_ACTIONS.labels(
            action=str(action.kind).lower(),
            reason=reason_kind(action.reason),
            outcome=outcome,
        ).inc()
    except Exception:  # noqa: BLE001  (a metric never fails an operation)
        LOG.debug("Could not count a reconciler action", exc_info=True)


class InstanceStateCollector(prom_registry.Collector):
    """``mogan_valence_instances{state}``: instances by status, read from
    the database at scrape time (one GROUP BY).

    :param count_by_status: a callable returning ``{status: count}``.
    :param states: the statuses always reported (0 when none is there).
    """

    def __init__(self, count_by_status, states=()):
        self._count = count_by_status
        self._states = tuple(states)

    def describe(self):
        # Without it the registry would call collect() (a query) when the
        # collector is registered.
        return [self._family()]

    def _family(self):
        return prom_core.GaugeMetricFamily(
            f"{PREFIX}_instances",
            "Instances by state, as the database has them at scrape time.",
            labels=["state"],
        )

    def collect(self):
        family = self._family()
        try:
            counts = dict(self._count())
        except Exception:  # noqa: BLE001  (a scrape without the gauge)
            LOG.warning("Could not count instances by state", exc_info=True)
            return
        for state in self._states:
            counts.setdefault(state, 0)
        for state in sorted(counts):
            family.add_metric([state], counts[state])
        yield family


_served: dict[tuple[str, int], object] = {}
_serve_lock = threading.Lock()
_instances_collector: InstanceStateCollector | None = None


def register_instance_states(count_by_status, states=()) -> None:
    """Report instances by state from this process (once; later calls
    change nothing)."""
    global _instances_collector
    with _serve_lock:
        if _instances_collector is None:
            _instances_collector = InstanceStateCollector(count_by_status, states)
            prometheus_client.REGISTRY.register(_instances_collector)


def serve(host: str, port: int) -> bool:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread; nothing
    when ``port`` is 0. Returns whether it serves.

    :raises OSError: the address cannot be bound (a configuration error).
    """
    if not port:
        return False
    with _serve_lock:
        if (host, port) not in _served:
            _served[(host, port)] = prometheus_client.start_http_server(port, addr=host)
            LOG.info("Serving Prometheus metrics on http://%s:%s/metrics", host, port)
    return True
