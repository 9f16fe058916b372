"""Versioned notifications of server actions, sent by the engine.

Events are ``server.<action>.<phase>``: the actions are ``create``,
``delete`` and the power actions (``power_on``, ``power_off``, ``reboot``,
``soft_power_off``, ``soft_reboot``), the phases ``start``, ``end`` (priority
INFO) and ``error`` (priority ERROR). The payload is a
``ServerActionPayload`` primitive (``mogan_valence.objects.notification``);
``doc/notifications/`` has a sample of each.

Creates and deletes are reported by ``FlowObserver`` (a listener on the
flow, so that the single-engine path and the jobboard's conductor report
alike); power actions by ``power.set_power``, which both paths run.

A notification never fails an action: sending errors are logged.
"""

import logging
import time

import oslo_messaging as messaging
from taskflow import states as tf_states
from taskflow.types import failure as tf_failure
from taskflow.types import notifier as tf_notifier

from mogan_valence.common import exception
from mogan_valence.common import metrics
from mogan_valence.common import secrets
from mogan_valence.conf import notifications as notifications_conf
from mogan_valence.engine import faults
from mogan_valence.objects import flavor as flavor_obj
from mogan_valence.objects import instance as instance_obj
from mogan_valence.objects import notification as payloads

LOG = logging.getLogger(__name__)

START = "start"
END = "end"
ERROR = "error"

CREATE = "create"
DELETE = "delete"
# power target (states.POWER_TARGETS) -> action of the event type
POWER_ACTIONS = {
    "on": "power_on",
    "off": "power_off",
    "reboot": "reboot",
    "soft_off": "soft_power_off",
    "soft_reboot": "soft_reboot",
}
DEFAULT_BACKEND = "valence"
PUBLISHER = "mogan-valence-engine"
# Ironic node properties reported as the granted hardware.
GRANTED_KEYS = ("cpus", "memory_mb", "local_gb")
# Keys of a composition never sent (a backend may one day carry
# credentials in it).
_SECRET_HINTS = ("password", "secret", "token", "credential", "key")


def backend_of(composition: dict | None) -> str | None:
    """The composition service of a flavor's composition; None when the
    flavor composes nothing."""
    if not composition:
        return None
    return str(composition.get("backend") or DEFAULT_BACKEND)


def _requested(composition: dict) -> dict:
    return {
        k: v
        for k, v in composition.items()
        if not any(hint in str(k).lower() for hint in _SECRET_HINTS)
    }


def _int_or_none(value):
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def error_class(error) -> str:
    """The class name of an exception or of a taskflow Failure's."""
    if isinstance(error, tf_failure.Failure):
        if error.exception is not None:
            return type(error.exception).__name__
        names = error.to_dict().get("exc_type_names") or ["Error"]
        return str(names[0]).rsplit(".", 1)[-1]
    return type(error).__name__ if error is not None else "Error"


def fault_payload(step: str, error) -> payloads.FaultPayload:
    """The fault of an .error event: the step, the error's class and its
    text masked as faults are (``faults.describe``)."""
    _code, text, _detail = faults.describe(error)
    return payloads.FaultPayload(
        step=step, exception=error_class(error), message=secrets.mask(text)
    )


class Notifier:
    """Sends the engine's versioned notifications (a no-op when
    ``[notifications] notification_format`` is 'none').

    :param ironic: the engine's ``IronicClient`` (granted hardware is read
        from the node's properties).
    """

    def __init__(self, conf, ironic=None, transport=None):
        self.conf = conf
        self.ironic = ironic
        self.enabled = (
            conf.notifications.notification_format == notifications_conf.VERSIONED
        )
        self._notifier = None
        if not self.enabled:
            return
        if transport is None:
            transport = messaging.get_notification_transport(conf)
        # NOTE: [oslo_messaging_notifications] driver is honoured when set:
        # it is how operators route every service's notifications (another
        # driver, 'routing', 'log'); unset, turning notifications on here
        # is enough.
        configured = list(conf.oslo_messaging_notifications.driver or [])
        self._notifier = messaging.Notifier(
            transport,
            publisher_id=f"{PUBLISHER}:{conf.engine.host}",
            # None: the configured drivers, all of them.
            driver=None if configured else "messagingv2",
            topics=list(conf.notifications.versioned_notifications_topics),
        )
        LOG.info(
            "Versioned notifications on topics %s (driver %s)",
            ", ".join(conf.notifications.versioned_notifications_topics),
            ", ".join(configured or ["messagingv2"]),
        )

    # -- reading what a payload says ---------------------------------------------

    def composition_of(self, instance) -> dict | None:
        """The composition of the instance's flavor (None: not composed)."""
        if not instance.flavor_uuid:
            return None
        try:
            flavor = flavor_obj.Flavor.get(None, instance.flavor_uuid)
        except exception.NotFound:
            return None
        return dict(flavor.composition or {}) or None

    def granted(self, node_uuid: str | None) -> dict | None:
        """The hardware Ironic says the node has; None when it is not
        there (or cannot be read)."""
        if not node_uuid or self.ironic is None:
            return None
        try:
            node = self.ironic.find_node(node_uuid)
        except Exception:  # noqa: BLE001  (the payload goes without it)
            LOG.debug("Could not read node %s for a notification", node_uuid)
            return None
        if node is None:
            return None
        properties = node.get("properties") or {}
        return {key: _int_or_none(properties.get(key)) for key in GRANTED_KEYS}

    def payload(
        self,
        instance,
        composition: dict | None,
        granted: dict | None = None,
        fault: payloads.FaultPayload | None = None,
        durations: dict | None = None,
    ) -> payloads.ServerActionPayload:
        def field(name):
            return getattr(instance, name) if instance.obj_attr_is_set(name) else None

        composed = None
        if composition:
            composed = payloads.ComposedNodePayload(
                backend=backend_of(composition),
                node_uuid=field("node_uuid"),
                requested=_requested(composition),
                granted=(
                    payloads.GrantedHardwarePayload(**granted)
                    if granted is not None
                    else None
                ),
            )
        payload = payloads.ServerActionPayload(
            uuid=instance.uuid,
            **{
                name: field(name)
                for name in (
                    "name",
                    "project_id",
                    "user_id",
                    "flavor_uuid",
                    "power_state",
                    "node_uuid",
                )
            },
            state=field("status"),
            composed_node=composed,
            fault=fault,
            step_durations=(
                dict(durations or {})
                if self.conf.notifications.include_step_durations
                else {}
            ),
        )
        return payload.populate_defaults()

    # -- sending -----------------------------------------------------------------

    def send(
        self, action: str, phase: str, payload: payloads.ServerActionPayload
    ) -> None:
        if not self.enabled:
            return
        event_type = f"server.{action}.{phase}"
        payload.obj_reset_changes(recursive=True)
        primitive = payload.obj_to_primitive()
        try:
            if phase == ERROR:
                self._notifier.error({}, event_type, primitive)
            else:
                self._notifier.info({}, event_type, primitive)
        except Exception as e:  # noqa: BLE001  (a notification never fails an action)
            # Masked, without the traceback: a transport error may quote
            # the broker URL and its password.
            LOG.error(
                "Could not send %s of %s: %s",
                event_type,
                payload.uuid,
                secrets.mask(str(e)),
            )

    def notify(
        self,
        action: str,
        phase: str,
        instance,
        composition=None,
        granted=None,
        fault=None,
        durations=None,
    ) -> None:
        """Send ``server.<action>.<phase>`` about ``instance`` (an object
        or a uuid). Never raises."""
        if not self.enabled:
            return
        try:
            if isinstance(instance, str):
                instance = instance_obj.Instance.get(None, instance)
            if composition is None:
                composition = self.composition_of(instance)
            if granted is None and composition:
                granted = self.granted(instance.node_uuid)
            payload = self.payload(instance, composition, granted, fault, durations)
        except Exception:  # noqa: BLE001  (a notification never fails an action)
            LOG.exception("Could not build server.%s.%s", action, phase)
            return
        self.send(action, phase, payload)


class FlowObserver:
    """Watches one run of a create or delete flow: files each step in the
    metrics, and sends the action's start, end and error notifications.

    :param kind: ``persistence.CREATE`` or ``DELETE``.
    :param composition: the instance flavor's composition (None: a pre-set
        flavor); gives the backend label and the requested hardware.
    """

    def __init__(
        self,
        notifier: Notifier | None,
        kind: str,
        instance_uuid: str,
        composition: dict | None,
    ):
        self.notifier = notifier
        self.kind = kind
        self.instance_uuid = instance_uuid
        self.composition = composition
        self.backend = backend_of(composition) or "none"
        self.durations: dict[str, float] = {}
        self.failure: tuple[str, object] | None = None
        self._started: dict[str, float] = {}
        # The granted hardware last read: a delete's end finds the node gone.
        self._granted: dict | None = None
        # Whether the .end or .error event was sent.
        self.ended = False

    def attach(self, engine) -> None:
        engine.notifier.register(tf_notifier.Notifier.ANY, self._on_flow)
        engine.atom_notifier.register(tf_notifier.Notifier.ANY, self._on_atom)

    # -- steps -------------------------------------------------------------------

    def _on_atom(self, state, details) -> None:
        name = details.get("task_name")
        if not name:
            return  # retry controllers decide, they do no work
        now = time.monotonic()
        if state == tf_states.RUNNING:
            self._started[name] = now
        elif state == tf_states.REVERTING:
            self._started[f"{name} (revert)"] = now
        elif state in (tf_states.SUCCESS, tf_states.FAILURE):
            began = self._started.pop(name, None)
            seconds = None if began is None else round(now - began, 3)
            if state == tf_states.SUCCESS and name.endswith("-on-revert"):
                return  # it acts only when it reverts
            if seconds is not None:
                self.durations[name] = seconds
            error = ""
            if state == tf_states.FAILURE:
                result = details.get("result")
                error = error_class(result)
                if self.failure is None:
                    self.failure = (name, result)
            metrics.observe_step(
                name,
                seconds,
                "success" if state == tf_states.SUCCESS else "failure",
                error,
                self.backend,
            )
        elif state in (tf_states.REVERTED, tf_states.REVERT_FAILURE):
            began = self._started.pop(f"{name} (revert)", None)
            if name.endswith("-on-revert") and state == tf_states.REVERTED:
                return
            seconds = None if began is None else round(now - began, 3)
            error = ""
            if state == tf_states.REVERT_FAILURE:
                error = error_class(details.get("result"))
            metrics.observe_step(
                name,
                seconds,
                "reverted" if state == tf_states.REVERTED else "revert_failure",
                error,
                self.backend,
            )

    # -- the flow ----------------------------------------------------------------

    def _on_flow(self, state, details) -> None:
        if self.notifier is None or not self.notifier.enabled:
            return
        if state == tf_states.RUNNING and details.get("old_state") == tf_states.PENDING:
            self._send(START)
        elif state == tf_states.SUCCESS:
            self._send(END, durations=self.durations)
        elif state in (tf_states.REVERTED, tf_states.FAILURE):
            self.error(*(self.failure or (self.kind, None)))

    def error(self, step: str, error) -> None:
        """Send the .error event: ``step`` failed with ``error``."""
        if self.notifier is None or not self.notifier.enabled:
            return
        try:
            fault = fault_payload(step, error)
        except Exception:  # noqa: BLE001  (a notification never fails an action)
            LOG.exception("Could not describe the failure of %s", step)
            fault = None
        self._send(ERROR, fault=fault, durations=self.durations)

    def _send(self, phase: str, fault=None, durations=None) -> None:
        if phase != START:
            self.ended = True
        try:
            instance = instance_obj.Instance.get(None, self.instance_uuid)
        except Exception:  # noqa: BLE001  (a notification never fails an action)
            LOG.exception("Could not read %s for a notification", self.instance_uuid)
            return
        if self.composition:
            granted = self.notifier.granted(instance.node_uuid)
            if granted is not None:
                self._granted = granted
        self.notifier.notify(
            self.kind,
            phase,
            instance,
            composition=self.composition or {},
            granted=self._granted,
            fault=fault,
            durations=durations,
        )
