"""Life-cycle atoms: the first task of every flow (does nothing; on revert
puts the instance in ERROR with a fault naming the step that failed and
why), and the state changes that begin and end each flow."""

import logging

from oslo_utils import timeutils
from taskflow import task
from taskflow.types import failure as tf_failure

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.engine import faults
from mogan_valence.engine.flows import constants
from mogan_valence.objects import instance as instance_obj

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


class _MarkInstanceTask(task.Task):
    """Move the instance to ``target`` as an atom of its flow.

    Idempotent: an instance already there is left alone, so a flow resumed
    after a kill right after this step ends where it should. The move is a
    compare-and-swap from ``sources``.
    """

    target: str = ""
    sources: tuple[str, ...] = ()

    def __init__(self, name: str, timer=None, **kwargs):
        """:param timer: the run's ``timing.StepTimer``; its steps so far
        are saved with the move (one write)."""
        super().__init__(name=name, requires=[constants.INSTANCE_UUID], **kwargs)
        self.timer = timer

    def values(self, instance) -> dict:
        return {}

    def execute(self, instance_uuid):
        instance = instance_obj.Instance.get(None, instance_uuid)
        if instance.status == self.target:
            return
        if instance.status not in self.sources:
            raise exception.InvalidStateTransition(
                instance=instance_uuid, current=instance.status, target=self.target
            )
        if self.timer is not None:
            self.timer.save_to(instance)
        faults.transition(instance, self.target, **self.values(instance))


class MarkInstanceActiveTask(_MarkInstanceTask):
    """The last atom of a create: ACTIVE, powered on, launched now.

    Reversion strategy: none of its own: the tasks before it undo the
    deploy and the lifecycle task records the failure.
    """

    target = states.ACTIVE
    sources = (states.BUILDING,)

    def __init__(self, timer=None, **kwargs):
        super().__init__("mark-instance-active", timer=timer, **kwargs)

    def values(self, instance) -> dict:
        return {"launched_at": timeutils.utcnow(), "power_state": states.POWER_ON}


class MarkInstanceDeletingTask(_MarkInstanceTask):
    """The first step of a delete: DELETING (already so when the request
    was taken; not yet when the engine died between saving the flow and
    moving the instance).

    Reversion strategy: none of its own; the lifecycle task records ERROR.
    """

    target = states.DELETING
    sources = (states.ACTIVE, states.ERROR)

    def __init__(self, **kwargs):
        super().__init__("mark-instance-deleting", **kwargs)


class MarkInstanceDeletedTask(_MarkInstanceTask):
    """The last atom of a delete: DELETED, no power state.

    Reversion strategy: none: it is the last step, nothing follows it.
    """

    target = states.DELETED
    sources = (states.DELETING,)

    def __init__(self, timer=None, **kwargs):
        super().__init__("mark-instance-deleted", timer=timer, **kwargs)

    def values(self, instance) -> dict:
        return {"power_state": states.NOSTATE}
