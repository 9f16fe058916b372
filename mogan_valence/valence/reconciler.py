"""Find and remove what was composed or enrolled for instances that no
longer need it.

A Valence node named ``mogan-<instance uuid>`` and an Ironic node whose
``extra`` marks it as ours belong to that instance. They are leaked when the
instance is gone, deleted, in ERROR, or ACTIVE on another node, and they are
older than ``[valence] reconcile_grace_period`` (so that a flow still at work
is never raced). The reconciler then takes the node out of Ironic first and
releases it in Valence second, as a delete does. It never touches a Valence
node with another name or an Ironic node not marked as ours, and it never
releases hardware that Ironic holds for someone else.
"""

import dataclasses
import datetime
import logging

from oslo_utils import timeutils
from oslo_utils import uuidutils

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.objects import instance as instance_obj
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import enrollment

LOG = logging.getLogger(__name__)

PREFIX = "mogan-"
UNENROLL = "unenroll"
RELEASE = "release"


@dataclasses.dataclass
class Action:
    kind: str  # UNENROLL or RELEASE
    node_uuid: str
    instance_uuid: str | None
    reason: str
    done: bool = False
    error: str | None = None


def _aware(value) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = valence_client.parse_timestamp(value)
        if value is None:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


class Reconciler:
    def __init__(self, conf, ironic, valence, now=None):
        self.conf = conf
        self.ironic = ironic
        self.valence = valence
        self._now = now or (lambda: timeutils.utcnow(with_timezone=True))

    def _owner(self, instance_uuid: str | None, node_uuid: str):
        """(needs the node, why not) for the instance a node was made for."""
        if not instance_uuid or not uuidutils.is_uuid_like(instance_uuid):
            return False, "its instance is unknown"
        try:
            instance = instance_obj.Instance.get(None, instance_uuid)
        except exception.InstanceNotFound:
            return False, f"instance {instance_uuid} does not exist"
        if instance.status in (states.BUILDING, states.DELETING):
            return True, None  # its flow is at work
        if instance.status == states.DELETED:
            return False, f"instance {instance_uuid} is deleted"
        if instance.status == states.ERROR:
            return False, f"instance {instance_uuid} is in ERROR"
        if instance.node_uuid != node_uuid:
            return False, (
                f"instance {instance_uuid} is {instance.status} on another "
                f"node ({instance.node_uuid})"
            )
        return True, None

    def _old_enough(self, created) -> bool:
        created = _aware(created)
        if created is None:
            return True  # no age known: the owner check alone decides
        age = (self._now() - created).total_seconds()
        return age >= self.conf.valence.reconcile_grace_period

    def plan(self) -> list[Action]:
        actions: list[Action] = []
        ironic_nodes = {n["uuid"]: n for n in self.ironic.list_nodes(detail=True)}
        seen: set[str] = set()
        for node in self.valence.list_nodes():
            name = node.get("name") or ""
            if not name.startswith(PREFIX):
                continue
            instance_uuid = name[len(PREFIX) :]
            node_uuid = node["uuid"]
            seen.add(node_uuid)
            needed, why = self._owner(instance_uuid, node_uuid)
            if needed:
                continue
            detail = self.valence.get_node(node_uuid)
            if not self._old_enough(detail.get("created_at")):
                continue
            held = ironic_nodes.get(node_uuid)
            if held is not None:
                if not _is_ours(held):
                    LOG.warning(
                        "Leaving Valence node %s (%s) alone: Ironic holds it "
                        "and it is not marked as ours",
                        node_uuid,
                        name,
                    )
                    continue
                actions.append(Action(UNENROLL, node_uuid, instance_uuid, why))
            actions.append(Action(RELEASE, node_uuid, instance_uuid, why))
        for node_uuid, node in ironic_nodes.items():
            if node_uuid in seen or not _is_ours(node):
                continue
            instance_uuid = node["extra"][enrollment.EXTRA_KEY].get("instance_uuid")
            needed, why = self._owner(instance_uuid, node_uuid)
            if needed or not self._old_enough(node.get("created_at")):
                continue
            actions.append(
                Action(
                    UNENROLL,
                    node_uuid,
                    instance_uuid,
                    f"{why}, and Valence has no such node",
                )
            )
        return actions

    def run(self, dry_run: bool = False) -> list[Action]:
        actions = self.plan()
        failed_unenroll: set[str] = set()
        for action in actions:
            if dry_run:
                LOG.info(
                    "Would %s node %s: %s", action.kind, action.node_uuid, action.reason
                )
                continue
            if action.kind == RELEASE and action.node_uuid in failed_unenroll:
                action.error = "not released: it could not be taken out of Ironic"
                continue
            try:
                if action.kind == UNENROLL:
                    self.ironic.delete_node(action.node_uuid)
                else:
                    self.valence.release_node(action.node_uuid)
                action.done = True
                LOG.warning(
                    "Reconciler: %s node %s: %s",
                    action.kind,
                    action.node_uuid,
                    action.reason,
                )
            except Exception as e:  # noqa: BLE001  (next run tries again)
                action.error = str(e)
                if action.kind == UNENROLL:
                    failed_unenroll.add(action.node_uuid)
                LOG.error(
                    "Reconciler could not %s node %s: %s",
                    action.kind,
                    action.node_uuid,
                    e,
                )
        return actions


def _is_ours(node: dict) -> bool:
    extra = node.get("extra") or {}
    return isinstance(extra.get(enrollment.EXTRA_KEY), dict)
