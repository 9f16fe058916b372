"""The base tasks of the create flow: schedule, reschedule, deploy."""

import logging

from taskflow import retry
from taskflow import task
from taskflow.types import failure as tf_failure

from mogan_valence.common import secrets
from mogan_valence.engine.flows import constants
from mogan_valence.ironic import exceptions as ironic_exc
from mogan_valence.objects import instance as instance_obj

LOG = logging.getLogger(__name__)

# Failures after which another node is worth a try.
RESCHEDULABLE = (
    ironic_exc.NodeStateError,
    ironic_exc.NodeTimeout,
    ironic_exc.NodeValidationFailed,
)


def resource_class_of(flavor: dict) -> str:
    resources = flavor.get("resources") or {}
    if len(resources) != 1:
        raise ironic_exc.NoValidNode(
            reason=f"flavor {flavor.get('name')} must name exactly one resource class, "
            f"not {sorted(resources)}"
        )
    return next(iter(resources))


def required_traits_of(flavor: dict) -> list[str]:
    traits = flavor.get("resource_traits") or {}
    return sorted(t for t, how in traits.items() if how == "required")


class ScheduleCreateInstanceTask(task.Task):
    """Pick a node through Ironic's allocation API.

    The allocation carries the instance's uuid, so the node is claimed for
    it at once; nodes that failed an earlier attempt are left out.

    With ``no_valid_node_ok`` set (an extension that composes a node when
    none is found), "no valid node" is not a failure: the task provides
    ``None`` and the tasks after it take over.

    Reversion strategy: delete the allocation (Ironic then frees the node)
    and forget the node on the instance; nothing to do if scheduling failed
    or found nothing.
    """

    is_scheduling = True
    no_valid_node_ok = False

    def __init__(self, ironic, **kwargs):
        super().__init__(
            name="schedule-create-instance",
            provides=constants.NODE_UUID,
            requires=[
                constants.INSTANCE_UUID,
                constants.FLAVOR,
                constants.EXCLUDED_NODES,
            ],
            **kwargs,
        )
        self.ironic = ironic

    def execute(self, instance_uuid, flavor, excluded_nodes):
        try:
            node_uuid, _ = self.ironic.allocate(
                instance_uuid,
                resource_class_of(flavor),
                required_traits_of(flavor),
                exclude_nodes=excluded_nodes or (),
            )
        except ironic_exc.NoValidNode as e:
            if not self.no_valid_node_ok:
                raise
            LOG.info("Instance %s: %s", instance_uuid, e)
            return None
        node = self.ironic.get_node(node_uuid)
        instance = instance_obj.Instance.get(None, instance_uuid)
        instance.node_uuid = node_uuid
        instance.node = node.get("name")
        instance.save()
        LOG.info("Instance %s scheduled to node %s", instance_uuid, node_uuid)
        return node_uuid

    def revert(self, result, instance_uuid, *args, **kwargs):
        if isinstance(result, tf_failure.Failure) or result is None:
            return
        # The allocation has the instance's uuid (see IronicClient.allocate).
        self.ironic.delete_allocation(instance_uuid)
        instance = instance_obj.Instance.get(None, instance_uuid)
        instance.node_uuid = None
        instance.node = None
        instance.save()
        LOG.info("Instance %s: released node %s", instance_uuid, result)


class OnFailureRescheduleTask(retry.Retry):
    """Retry controller around schedule + deploy.

    When a deploy fails, taskflow reverts the attempt (undeploy, free the
    allocation) and asks this atom what next: run the attempt again with the
    failed node excluded, up to ``[engine] schedule_max_attempts``, or give up.
    It provides the list of nodes to exclude.

    Reversion strategy: nothing of its own; giving up reverts the whole flow.
    """

    def __init__(self, max_attempts: int, **kwargs):
        super().__init__(
            name="on-failure-reschedule", provides=constants.EXCLUDED_NODES, **kwargs
        )
        self.max_attempts = max_attempts

    @staticmethod
    def _failed_node(failures: dict) -> str | None:
        for failure in failures.values():
            node = getattr(failure.exception, "node", None)
            if node:
                return node
        return None

    def on_failure(self, history, *args, **kwargs):
        attempts = len(history)
        failures = dict(history.outcomes_iter(attempts - 1)) if attempts else {}
        if not failures or not all(f.check(*RESCHEDULABLE) for f in failures.values()):
            # Nothing another node would fix (no valid node, bad input, ...).
            return retry.REVERT_ALL
        if attempts >= self.max_attempts:
            LOG.warning(
                "Deploy failed on node %s; giving up after %d attempt(s)",
                self._failed_node(failures),
                attempts,
            )
            return retry.REVERT_ALL
        LOG.info(
            "Deploy failed on node %s; rescheduling (attempt %d of %d)",
            self._failed_node(failures),
            attempts + 1,
            self.max_attempts,
        )
        return retry.RETRY

    def execute(self, history, *args, **kwargs):
        excluded: list[str] = []
        for result, failures in history:
            excluded = list(result or [])
            node = self._failed_node(failures)
            if node and node not in excluded:
                excluded.append(node)
        return excluded

    def revert(self, history, *args, **kwargs):
        pass


class DeployInstanceTask(task.Task):
    """Deploy the instance's image on its node and wait for 'active'.

    Its atom is still named ``create-instance``: a logbook saved before the
    rename resumes by matching atom names, and the name is also what faults
    ("create-instance: ..."), the ``steps`` of a server, the
    ``server.create.end`` notification's ``step_durations`` and the step
    metrics show, so changing it would break resuming flows and every
    consumer of those. The class name is not persisted.

    Reversion strategy: undeploy the node (idempotent: a node that never
    started deploying is only cleared of the instance's data); a composed
    node is retired first, so that it never becomes schedulable before it
    is removed. A failure to undeploy (a failed clean among them) is raised:
    rescheduling onto another node, or releasing this one, while it may
    still hold the instance's data would be worse than an error.
    """

    def __init__(self, ironic, **kwargs):
        super().__init__(
            # NOTE: persisted (and public) atom name: keep it, see the docstring.
            name="create-instance",
            requires=[
                constants.INSTANCE_UUID,
                constants.NODE_UUID,
                constants.IMAGE_SOURCE,
            ],
            **kwargs,
        )
        self.ironic = ironic

    def execute(self, instance_uuid, node_uuid, image_source):
        node = self.ironic.get_node(node_uuid)
        if node.get("deploy_interface") == "ramdisk":
            # A ramdisk deploy boots the image as an ISO; Ironic refuses
            # image_source beside boot_iso.
            info = {"boot_iso": image_source}
        else:
            info = {
                "image_source": image_source,
                "root_gb": str((node.get("properties") or {}).get("local_gb") or 10),
            }
        LOG.info(
            "Instance %s: deploying %s on node %s",
            instance_uuid,
            secrets.mask_url_credentials(image_source),
            node_uuid,
        )
        # The task that chose the node (schedule, or compose) saved it on
        # the instance already.
        self.ironic.deploy(node_uuid, info, node=node)

    def revert(self, result, instance_uuid, node_uuid, *args, **kwargs):
        LOG.info("Instance %s: undeploying node %s", instance_uuid, node_uuid)
        composed = instance_obj.Instance.get(None, instance_uuid).is_composed
        self.ironic.undeploy(node_uuid, retire=composed, instance_uuid=instance_uuid)
