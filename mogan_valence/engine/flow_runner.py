"""Building, running and resuming the durable create and delete flows.

Every flow is saved (``persistence``) before its instance is created or
moved to DELETING, and carries the whole life cycle as atoms, up to the
final ACTIVE or DELETED. Running one to its end, or resuming it after a
kill, is therefore the same call: ``run``. What happens after the flow
ends is only the removal of its saved copy, and a flow found finished at
start is only removed.
"""

import contextlib
import logging

from taskflow import states as tf_states

from mogan_valence.common import exception
from mogan_valence.common import metrics
from mogan_valence.common import secrets
from mogan_valence.common import states
from mogan_valence.engine import extensions as ext_mod
from mogan_valence.engine import faults
from mogan_valence.engine import notifications
from mogan_valence.engine import persistence
from mogan_valence.engine import timing
from mogan_valence.engine.flows import constants
from mogan_valence.engine.flows import create_instance
from mogan_valence.engine.flows import delete_instance
from mogan_valence.engine.flows import power
from mogan_valence.objects import flavor as flavor_obj
from mogan_valence.objects import instance as instance_obj

LOG = logging.getLogger(__name__)


class FlowRunner:
    """Runs saved flows for the engine manager.

    :param conf: the engine's configuration.
    :param ironic: the engine's ``IronicClient``.
    :param flows: the ``persistence.FlowStore`` of this engine host.
    :param extensions: the loaded engine extensions, in order.
    :param notifier: the engine's ``notifications.Notifier`` (None: none
        is sent).
    """

    def __init__(
        self,
        conf,
        ironic,
        flows: persistence.FlowStore,
        extensions,
        notifier: notifications.Notifier | None = None,
    ):
        self.conf = conf
        self.ironic = ironic
        self.flows = flows
        self.extensions = extensions
        self.notifier = notifier

    # -- building -----------------------------------------------------------------

    def build_create_flow(self, context, instance_uuid: str, flavor: dict, timer=None):
        tasks = create_instance.base_tasks(self.ironic)
        for extension in self.extensions:
            tasks = extension.reshape_create_flow(context, instance_uuid, flavor, tasks)
        return create_instance.get_create_instance_flow(
            tasks, self.conf.engine.schedule_max_attempts, timer=timer
        )

    def delete_steps(
        self, context, instance, force_release: bool = False
    ) -> list[ext_mod.DeleteStep]:
        """The teardown of ``instance``: the base undeploy, then each
        extension's steps.

        :param force_release: an admin's forced release past a failed clean.
        """
        steps = []
        if instance.node_uuid:
            node = instance.node_uuid
            # A composed node leaves the pool with its instance: it is kept
            # unschedulable from the undeploy until it is removed.
            retire = instance.is_composed
            steps.append(
                ext_mod.DeleteStep(
                    "undeploy",
                    lambda: self.ironic.undeploy(
                        node,
                        retire=retire,
                        force=force_release,
                        instance_uuid=instance.uuid,
                    ),
                )
            )
        for extension in self.extensions:
            steps.extend(extension.delete_steps(context, instance))
        return steps

    def _build(self, context, saved: persistence.SavedFlow, timer):
        store = saved.meta["store"]
        if saved.kind == persistence.CREATE:
            return self.build_create_flow(
                context, saved.instance_uuid, store[constants.FLAVOR], timer
            )
        if saved.kind == persistence.POWER:
            return power.get_power_flow(self.ironic, self.notifier)
        instance = instance_obj.Instance.get(context, saved.instance_uuid)
        steps = self.delete_steps(
            context, instance, bool(store.get(constants.FORCE_RELEASE))
        )
        return delete_instance.get_delete_instance_flow(steps, timer)

    # -- running --------------------------------------------------------------------

    def run(
        self,
        context,
        saved: persistence.SavedFlow,
        resumed: bool = False,
        listeners=(),
        stopping=None,
    ) -> bool:
        """Run (or, ``resumed``, resume) a saved flow to its end, then
        forget it.

        Never raises: a failure is recorded on the instance (ERROR with a
        fault naming the step) by the flow's lifecycle task, or here when
        the flow could not even be built.

        :param listeners: callables making a taskflow listener of the engine.
        :param stopping: a callable; once it is true the flow is suspended
            after the step it runs (the engine stops).
        :returns: True when the flow ended and is forgotten; False when it
            was suspended or its end could not be recorded (it stays saved).
        """
        instance_uuid = saved.instance_uuid
        timer = timing.StepTimer(saved.kind)
        observer = None
        try:
            state = saved.flow_detail.state
            if state == tf_states.SUCCESS:
                LOG.info(
                    "The %s of %s had ended; forgetting its flow",
                    saved.kind,
                    instance_uuid,
                )
            elif state in (tf_states.REVERTED, tf_states.FAILURE):
                # It ended badly before its saved copy was removed: its
                # revert ran, and the lifecycle task recorded the fault
                # (this covers an engine killed before it could).
                step, error = _saved_failure(saved)
                self._ensure_error(instance_uuid, step or saved.kind, error)
            else:
                if state is None and resumed:
                    saved = self.flows.restart(saved)
                observer = self._observer(saved)
                flow = self._build(context, saved, timer)
                if not self._run_engine(
                    flow, saved, timer, listeners, stopping, observer
                ):
                    LOG.info(
                        "The %s of %s stops after step %s, to be taken over",
                        saved.kind,
                        instance_uuid,
                        timer.steps[-1]["step"] if timer.steps else "(none)",
                    )
                    return False
        except Exception as e:  # noqa: BLE001  (recorded on the instance)
            self._ensure_error(instance_uuid, saved.kind, e)
            self._save_steps(instance_uuid, timer)
            if observer is not None and not observer.ended:
                # The flow could not be built or run: no listener said so.
                observer.error(saved.kind, e)
        # A power action leaves the instance as it found it: ended, whatever
        # the instance does meanwhile.
        if saved.kind == persistence.POWER or self._settled(instance_uuid):
            self._forget(saved)
            return True
        else:
            # Recording the outcome failed (the database?): keep the flow,
            # so that the next start finishes the bookkeeping.
            LOG.error(
                "The %s of %s ended but the instance is not in a final state; "
                "its flow is kept for the next start",
                saved.kind,
                instance_uuid,
            )
            return False

    @staticmethod
    def _settled(instance_uuid: str) -> bool:
        try:
            status = instance_obj.Instance.get(None, instance_uuid).status
        except exception.InstanceNotFound:
            return True
        except Exception:  # noqa: BLE001  (unknown: keep the flow)
            LOG.exception("Could not read instance %s", instance_uuid)
            return False
        return status not in (states.BUILDING, states.DELETING)

    def _observer(
        self, saved: persistence.SavedFlow
    ) -> notifications.FlowObserver | None:
        """The metrics and notifications listener of a create or delete."""
        if saved.kind == persistence.POWER:
            return None  # power.set_power reports itself, on both paths
        return notifications.FlowObserver(
            self.notifier, saved.kind, saved.instance_uuid, self._composition(saved)
        )

    @staticmethod
    def _composition(saved: persistence.SavedFlow) -> dict | None:
        """The composition of the flavor the flow's instance is made of."""
        if saved.kind == persistence.CREATE:
            flavor = saved.meta["store"].get(constants.FLAVOR) or {}
            return dict(flavor.get("composition") or {}) or None
        try:
            instance = instance_obj.Instance.get(None, saved.instance_uuid)
            if not instance.flavor_uuid:
                return None
            flavor = flavor_obj.Flavor.get(None, instance.flavor_uuid)
        except exception.NotFound:
            return None
        return dict(flavor.composition or {}) or None

    def _run_engine(
        self,
        flow,
        saved: persistence.SavedFlow,
        timer,
        listeners=(),
        stopping=None,
        observer: notifications.FlowObserver | None = None,
    ) -> bool:
        """Run the flow; False if it was suspended (``stopping``)."""
        engine = persistence.load_engine(flow, saved, self.flows.backend)
        timer.attach(engine)
        if observer is not None:
            observer.attach(engine)
        with contextlib.ExitStack() as stack:
            stack.enter_context(metrics.flow_in_flight(saved.kind))
            for make in listeners:
                stack.enter_context(make(engine))
            suspended = False
            for _state in engine.run_iter():
                if not suspended and stopping is not None and stopping():
                    engine.suspend()
                    suspended = True
        if engine.storage.get_flow_state() == tf_states.SUSPENDED:
            return False
        LOG.info("The %s of instance %s is done", saved.kind, saved.instance_uuid)
        return True

    def _forget(self, saved: persistence.SavedFlow) -> None:
        try:
            self.flows.done(saved)
        except Exception:  # noqa: BLE001  (found finished at the next start)
            LOG.exception(
                "Could not remove the saved %s flow of %s",
                saved.kind,
                saved.instance_uuid,
            )

    # -- resuming ------------------------------------------------------------------

    def unfinished(self, context) -> list[persistence.SavedFlow]:
        """This host's saved flows worth resuming; the others are removed.

        A create saved for an instance that was never written (the engine
        died in between, the caller got an error) and a delete of an
        instance already DELETED have nothing left to do.
        """
        found = []
        for saved in self.flows.unfinished():
            try:
                instance = instance_obj.Instance.get(context, saved.instance_uuid)
            except exception.InstanceNotFound:
                LOG.info(
                    "Dropping the saved %s of %s: the instance was never created",
                    saved.kind,
                    saved.instance_uuid,
                )
                self._forget(saved)
                continue
            except Exception:  # noqa: BLE001  (one flow never stops the engine)
                LOG.exception(
                    "Cannot resume the %s of %s now; it is kept for the next start",
                    saved.kind,
                    saved.instance_uuid,
                )
                continue
            if instance.status == states.DELETED:
                self._forget(saved)
                continue
            found.append(saved)
        return found

    def run_all(self, context, saved_flows: list) -> None:
        """Resume the saved flows of one instance, oldest first, on one
        worker (a create that ended unforgotten, then its delete)."""
        for saved in saved_flows:
            self.run(context, saved, resumed=True)

    @staticmethod
    def _save_steps(instance_uuid: str, timer: timing.StepTimer) -> None:
        if not timer.steps:
            return
        try:
            instance = instance_obj.Instance.get(None, instance_uuid)
            timer.save_to(instance)
            instance.save()
        except Exception:  # noqa: BLE001  (timings are informational)
            LOG.exception("Could not record step timings of %s", instance_uuid)

    @staticmethod
    def _ensure_error(instance_uuid: str, step: str, error) -> None:
        """The flow's lifecycle task records the fault; this covers the rest
        (a failure while building the flow, or inside a revert)."""
        try:
            instance = instance_obj.Instance.get(None, instance_uuid)
            if instance.status not in (states.ERROR, states.DELETED):
                faults.record_failure(instance_uuid, step, error)
            else:
                LOG.warning(
                    "Instance %s: %s failed: %s",
                    instance_uuid,
                    step,
                    secrets.mask(str(error)),
                )
        except Exception:  # noqa: BLE001
            LOG.exception(
                "Instance %s failed and could not be marked ERROR", instance_uuid
            )


def _saved_failure(saved: persistence.SavedFlow) -> tuple[str | None, object]:
    """The step whose failure ended a saved flow, and that failure (a revert
    failure first: it is what left the flow unfinished)."""
    for attr, prefix in (("revert_failure", "revert of "), ("failure", "")):
        for atom in saved.flow_detail:
            failure = getattr(atom, attr, None)
            if failure is not None and atom.name != "instance-to-error-on-revert":
                return f"{prefix}{atom.name}", failure
    return None, exception.MoganValenceException(
        f"the {saved.kind} failed and was reverted"
    )
