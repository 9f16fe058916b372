"""The power flow: one power action on an ACTIVE instance's node.

A flow only so that, with a jobboard, it travels as a job like creates and
deletes do (and is taken over if its engine dies); the single-engine path
runs ``set_power`` directly.
"""

import logging
import time

from taskflow import task
from taskflow.patterns import linear_flow

from mogan_valence.common import exception
from mogan_valence.common import metrics
from mogan_valence.common import states
from mogan_valence.engine import faults
from mogan_valence.engine import notifications
from mogan_valence.engine.flows import constants
from mogan_valence.objects import instance as instance_obj

LOG = logging.getLogger(__name__)

POWER_FLOW = "power"


def set_power(
    ironic, instance_uuid: str, node_uuid: str, target: str, notifier=None
) -> None:
    """Drive Ironic's power API and record the new power state, or a fault
    naming the action (the instance stays as it was). Never raises.

    :param notifier: the engine's ``notifications.Notifier``: the action's
        start, end or error events (none for an action not sent).

    Nothing is sent unless the instance is still ACTIVE on ``node_uuid``: a
    power action that waited (behind a delete, with a jobboard) must not
    touch a node that is being cleaned or that holds another instance.
    """
    try:
        current = instance_obj.Instance.get(None, instance_uuid)
    except exception.InstanceNotFound:
        current = None
    except Exception:  # noqa: BLE001  (not knowing: nothing is sent)
        LOG.exception("Instance %s: power %s not sent", instance_uuid, target)
        return
    if (
        current is None
        or current.status != states.ACTIVE
        or current.node_uuid != node_uuid
    ):
        LOG.warning(
            "Instance %s: power %s not sent: the instance is %s on node %s now",
            instance_uuid,
            target,
            current.status if current else "gone",
            current.node_uuid if current else None,
        )
        return
    action = f"power {target}"
    event = notifications.POWER_ACTIONS.get(target, f"power_{target}")
    if notifier is not None:
        notifier.notify(event, notifications.START, current)
    began = time.monotonic()
    try:
        power_state = ironic.set_power(node_uuid, target)
    except Exception as e:  # noqa: BLE001  (recorded as a fault)
        metrics.observe_step(
            action,
            time.monotonic() - began,
            "failure",
            notifications.error_class(e),
        )
        faults.record_power_failure(instance_uuid, action, e)
        if notifier is not None:
            notifier.notify(
                event,
                notifications.ERROR,
                current,
                fault=notifications.fault_payload(action, e),
            )
        return
    metrics.observe_step(action, time.monotonic() - began, "success")
    try:
        # Only the power state is written, compare-and-swap on ACTIVE.
        current.power_state = power_state
        current.save(expected_status=states.ACTIVE)
    except exception.InvalidStateTransition:
        LOG.warning("Instance %s left ACTIVE during power %s", instance_uuid, target)
        return
    except Exception:  # noqa: BLE001  (the next power action records it)
        LOG.exception(
            "Instance %s: could not record power state %s", instance_uuid, power_state
        )
        return
    LOG.info("Instance %s: %s", instance_uuid, power_state)
    if notifier is not None:
        notifier.notify(event, notifications.END, current)


class SetPowerTask(task.Task):
    """Reversion strategy: none (a failure is a fault, never a revert)."""

    def __init__(self, ironic, notifier=None, **kwargs):
        super().__init__(
            name="set-power",
            requires=[
                constants.INSTANCE_UUID,
                constants.NODE_UUID,
                constants.POWER_TARGET,
            ],
            **kwargs,
        )
        self.ironic = ironic
        # NOTE: not "notifier": taskflow's Task has a read-only one.
        self.server_notifier = notifier

    def execute(self, instance_uuid, node_uuid, power_target):
        set_power(
            self.ironic, instance_uuid, node_uuid, power_target, self.server_notifier
        )


def get_power_flow(ironic, notifier=None):
    flow = linear_flow.Flow(POWER_FLOW)
    flow.add(SetPowerTask(ironic, notifier))
    return flow
