"""The first task of every flow: does nothing, and on revert puts the
instance in ERROR with a fault naming the step that failed and why."""

import logging

from taskflow import task
from taskflow.types import failure as tf_failure

from mogan_valence.common import states
from mogan_valence.engine import faults
from mogan_valence.engine.flows import constants

LOG = logging.getLogger(__name__)


class InstanceToErrorOnRevertTask(task.Task):
    """Marks the instance ERROR when anything after it fails.

    Reversion strategy: set status ERROR and power state unknown, and record
    a fault whose message names the failed step; never raises.
    """

    def __init__(self, step_order: list[str] | tuple = (), **kwargs):
        """:param step_order: the flow's task names in the order they run."""
        super().__init__(
            name="instance-to-error-on-revert",
            requires=[constants.INSTANCE_UUID],
            **kwargs,
        )
        self.step_order = list(step_order)

    def execute(self, instance_uuid):
        pass

    def _last_failure(self, flow_failures: dict) -> tuple[str, tf_failure.Failure]:
        # NOTE: after a reschedule, a task that failed in an earlier attempt
        # still shows its old failure. Each attempt stops at its first
        # failure, and an attempt that got further overwrote older results,
        # so the failure of the last attempt is the earliest in flow order.
        def position(name):
            index = self.step_order.index(name) if name in self.step_order else -1
            return (index if index >= 0 else len(self.step_order), name)

        name = min(flow_failures, key=position)
        return name, flow_failures[name]

    def revert(self, instance_uuid, *args, **kwargs):
        flow_failures = kwargs.get("flow_failures") or {}
        step, error = ("create", None)
        if flow_failures:
            step, error = self._last_failure(flow_failures)
        try:
            faults.record_failure(
                instance_uuid, step=step, error=error, status=states.ERROR
            )
        except Exception:  # noqa: BLE001  (a revert must not hide the failure)
            LOG.exception("Could not mark instance %s ERROR", instance_uuid)
