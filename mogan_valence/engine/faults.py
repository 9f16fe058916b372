"""Recording why an instance failed: status ERROR plus a fault row."""

import logging

from taskflow.types import failure as tf_failure

from mogan_valence.common import exception
from mogan_valence.common import secrets
from mogan_valence.common import states
from mogan_valence.objects import instance as instance_obj
from mogan_valence.objects import instance_fault as fault_obj

LOG = logging.getLogger(__name__)


def describe(error) -> tuple[int, str, str]:
    """(code, message, detail) for an exception or a taskflow Failure."""
    if isinstance(error, tf_failure.Failure):
        exc = error.exception
        text = error.exception_str
        kind = type(exc).__name__ if exc is not None else "Error"
    else:
        exc = error
        text = str(error) if error is not None else "unknown error"
        kind = type(error).__name__ if error is not None else "Error"
    code = getattr(exc, "code", 500)
    ours = isinstance(exc, exception.MoganValenceException)
    if not ours or not isinstance(code, int):
        code = 500
    # NOTE: messages from Ironic or Valence could echo a request; mask any
    # password-looking value, and credentials in URLs, before it is stored
    # or logged.
    text = secrets.mask(text or kind)
    return code, text, f"{kind}: {text}"


# instance_faults.message is a String(255); the detail keeps all of it.
MESSAGE_MAX = 255


def _short(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 3] + "..."


def record_failure(
    instance_uuid: str, step: str, error, status: str = states.ERROR, context=None
) -> None:
    """Add a fault naming ``step``, then put the instance in ``status``.

    The fault is written first: whoever sees the instance in ERROR also
    finds why.
    """
    code, text, detail = describe(error)
    instance = instance_obj.Instance.get(context, instance_uuid)
    current = instance.status
    if current != status and not states.can_transition(current, status):
        # A DELETED instance never comes back as ERROR.
        LOG.warning(
            "Instance %s is %s: not recording '%s: %s' on it",
            instance_uuid,
            current,
            step,
            text,
        )
        return
    _add_fault(instance_uuid, step, f"step {step}", (code, text, detail), context)
    if current != status:
        instance.status = status
    instance.power_state = None
    # Compare and swap: a status another writer set in between is not
    # overwritten blindly (the caller sees InvalidStateTransition).
    instance.save(expected_status=current)
    LOG.error("Instance %s: %s failed: %s", instance_uuid, step, text)


def record_power_failure(instance_uuid: str, action: str, error) -> None:
    """A fault naming a failed power action; the instance keeps its status
    and its last known power state."""
    described = describe(error)
    _add_fault(instance_uuid, action, action, described, None)
    LOG.error("Instance %s: %s failed: %s", instance_uuid, action, described[1])


def _add_fault(instance_uuid: str, label: str, what: str, described, context):
    """The fault row: ``<label>: <text>`` (fits its column), and the whole
    ``<what> failed: <kind>: <text>`` as its detail."""
    code, text, detail = described
    fault_obj.InstanceFault(
        instance_uuid=instance_uuid,
        code=code,
        message=_short(f"{label}: {text}"),
        detail=f"{what} failed: {detail}",
    ).create(context)


def transition(instance: instance_obj.Instance, target: str, **values) -> None:
    """Move ``instance`` to ``target`` with ``values``, compare-and-swap.

    :raises InvalidStateTransition: the move is not allowed from the status
        the instance was read with, or another writer changed it since.
    """
    current = instance.status
    if not states.can_transition(current, target):
        raise exception.InvalidStateTransition(
            instance=instance.uuid, current=current, target=target
        )
    instance.status = target
    for key, value in values.items():
        setattr(instance, key, value)
    instance.save(expected_status=current)
