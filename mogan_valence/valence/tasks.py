"""The tasks the Valence extension puts ahead of the base create flow."""

import logging

from taskflow import task
from taskflow.types import failure as tf_failure

from mogan_valence.ironic import exceptions as ironic_exc
from mogan_valence.objects import instance as instance_obj
from mogan_valence.valence import composition as composition_mod
from mogan_valence.valence import enrollment

LOG = logging.getLogger(__name__)

# Store keys (the engine's own are "instance_uuid", "flavor", "node_uuid").
INSTANCE_UUID = "instance_uuid"
FLAVOR = "flavor"
NODE_UUID = "node_uuid"
VALENCE_NODE = "valence_node"  # {"uuid", "name", "podm_id"}


def node_name(instance_uuid: str) -> str:
    """The deterministic Valence node name: the idempotency key of a compose."""
    return f"mogan-{instance_uuid}"


def _save_instance(instance_uuid: str, **values) -> None:
    instance = instance_obj.Instance.get(None, instance_uuid)
    for key, value in values.items():
        setattr(instance, key, value)
    instance.save()


class ComposeNodeTask(task.Task):
    """Compose a node in Valence for the instance.

    The node is named ``mogan-<instance uuid>``: a node of that name that
    already exists (an earlier try whose answer was lost, a resumed flow) is
    adopted, never composed twice. ``composed=True`` and ``node_uuid`` are
    saved on the instance before the task returns.

    Reversion strategy: release the node in Valence, found by its uuid or,
    when the compose itself failed, by its name (it may exist anyway); a node
    already gone counts as released. A failure to release is raised.
    """

    def __init__(self, valence, conf, **kwargs):
        super().__init__(
            name="compose-node",
            provides=VALENCE_NODE,
            requires=[INSTANCE_UUID, FLAVOR],
            **kwargs,
        )
        self.valence = valence
        self.conf = conf

    def execute(self, instance_uuid, flavor):
        name = node_name(instance_uuid)
        comp = composition_mod.validate(flavor["composition"])
        podm_id = composition_mod.podm_id_for(comp, self.conf.valence.podm_id)
        _save_instance(instance_uuid, composed=True)
        node = self.valence.find_node_by_name(name, podm_id)
        if node is not None:
            LOG.info(
                "Instance %s: adopting Valence node %s (%s)",
                instance_uuid,
                node["uuid"],
                name,
            )
        else:
            body = composition_mod.to_request(
                comp,
                name,
                self.conf.valence.podm_id,
                description=f"composed by mogan-valence for instance {instance_uuid}",
            )
            node = self.valence.compose(body)
            LOG.info(
                "Instance %s: composed Valence node %s (%s)",
                instance_uuid,
                node["uuid"],
                name,
            )
        _save_instance(instance_uuid, node_uuid=node["uuid"], node=name)
        return {"uuid": node["uuid"], "name": name, "podm_id": podm_id}

    def revert(self, result, instance_uuid, flavor, *args, **kwargs):
        name = node_name(instance_uuid)
        if isinstance(result, tf_failure.Failure):
            comp = flavor.get("composition") or {}
            podm_id = comp.get(composition_mod.PODM_ID) or self.conf.valence.podm_id
            node = self.valence.find_node_by_name(name, podm_id)
            if node is None:
                return
            node_uuid = node["uuid"]
        else:
            node_uuid = result["uuid"]
        if self.valence.release_node(node_uuid):
            LOG.info("Instance %s: released Valence node %s", instance_uuid, node_uuid)
        _save_instance(instance_uuid, node_uuid=None, node=None)


class EnrollNodeTask(task.Task):
    """Enroll the composed node into Ironic and make it available.

    The Ironic node gets the Valence node's uuid (one id in both systems),
    the driver and driver_info of ``[valence]``, resource class
    ``[valence] resource_class``, properties from the composed hardware,
    ports from its MACs, and ``extra`` marking it as ours. It is claimed for
    the instance right after it is created, so that no other request can
    schedule onto it once it becomes available; then manage, provide, wait.

    Reversion strategy: take the node out of Ironic (unclaim, maintenance if
    needed, delete; already gone counts as done). A failure is raised, so
    that the composed hardware is never released while Ironic holds it.
    """

    def __init__(self, ironic, valence, conf, **kwargs):
        super().__init__(
            name="enroll-node",
            provides=NODE_UUID,
            requires=[INSTANCE_UUID, VALENCE_NODE],
            **kwargs,
        )
        self.ironic = ironic
        self.valence = valence
        self.conf = conf

    def execute(self, instance_uuid, valence_node):
        node_uuid = valence_node["uuid"]
        detail = self.valence.get_node(node_uuid)
        fields = enrollment.node_fields(self.conf, instance_uuid, valence_node, detail)
        node = self.ironic.create_node(node_uuid, **fields)
        self.ironic.claim_node(node_uuid, instance_uuid, node=node)
        for mac in enrollment.macs(detail):
            self.ironic.create_port(node_uuid, mac)
        # Passing each step the node as last seen saves a request per step.
        node = self.ironic.manage(node_uuid, node=node)
        self.ironic.provide(node_uuid, node=node)
        LOG.info(
            "Instance %s: node %s enrolled and available", instance_uuid, node_uuid
        )
        return node_uuid

    def revert(self, result, instance_uuid, valence_node, *args, **kwargs):
        node_uuid = valence_node["uuid"]
        if self.ironic.delete_node(node_uuid):
            LOG.info(
                "Instance %s: removed node %s from Ironic", instance_uuid, node_uuid
            )


class ComposeOnNoValidNodeTask(task.Task):
    """Schedule as usual; when no node is found, compose and enroll one.

    For flavors with both resources and a composition when
    ``[valence] compose_on_no_valid_node`` is set. Wraps the engine's
    scheduling task (handed over in the task list) and the two tasks above.

    Reversion strategy: what the path taken needs: the scheduling task's
    revert, or the enroll and compose reverts, in that order.
    """

    is_scheduling = True

    def __init__(self, schedule, compose, enroll, **kwargs):
        super().__init__(
            name="schedule-or-compose",
            provides=[NODE_UUID, VALENCE_NODE],
            requires=[INSTANCE_UUID, FLAVOR, "excluded_nodes"],
            **kwargs,
        )
        self.schedule = schedule
        self.compose = compose
        self.enroll = enroll

    def execute(self, instance_uuid, flavor, excluded_nodes):
        try:
            return self.schedule.execute(instance_uuid, flavor, excluded_nodes), None
        except ironic_exc.NoValidNode as e:
            LOG.info("Instance %s: %s; composing a node instead", instance_uuid, e)
        valence_node = self.compose.execute(instance_uuid, flavor)
        try:
            node_uuid = self.enroll.execute(instance_uuid, valence_node)
        except Exception:
            self.enroll.revert(None, instance_uuid, valence_node)
            self.compose.revert(valence_node, instance_uuid, flavor)
            raise
        return node_uuid, valence_node

    def revert(self, result, instance_uuid, flavor, *args, **kwargs):
        if isinstance(result, tf_failure.Failure) or result is None:
            return  # execute cleaned up after itself
        node_uuid, valence_node = result
        if valence_node is None:
            self.schedule.revert(node_uuid, instance_uuid)
            return
        self.enroll.revert(node_uuid, instance_uuid, valence_node)
        self.compose.revert(valence_node, instance_uuid, flavor)
