"""Find and remove what this deployment composed or enrolled for instances
that no longer need it.

Ownership. Several deployments may share one Valence and one Ironic; each
reaps only its own nodes:

- a Valence node is a candidate only if its name is exactly
  ``mogan-<instance uuid>`` (canonical lower-case UUID) and an instance with
  that uuid exists in this deployment's database (any status; deleted rows
  are kept). A node named after an instance we do not know belongs to another
  deployment and is left alone;
- an Ironic node is ours only if ``extra["mogan_valence"]["deployment"]`` is
  this deployment's id (``enrollment.deployment_id``). Nodes enrolled by an
  older version, without that key, are not ours for the reconciler.

Leaks. A node is leaked when its instance is gone, deleted, in ERROR, or
ACTIVE on another node, and it is older than ``[valence]
reconcile_grace_period`` (so that a flow still at work is never raced). The
reconciler then takes the node out of Ironic first and releases it in Valence
second, as a delete does.

Tenant safety. Hardware that held a tenant goes back to the pool only after
Ironic's cleaning succeeded on it. The reconciler unenrolls an Ironic node
only in a state Ironic reaches before a deploy or after a successful clean
(``RECLAIMABLE_STATES``, with no target state); in any other state (active,
deploy failed, clean failed, ...) it touches neither the Ironic node nor its
Valence node, and reports a ``hold`` for an operator. It never releases a
Valence node that Ironic holds.

Borrowed hosts. An ExpEther server that was an Ironic node before its
instance (``extra["mogan_valence"]["adopted"]``) is never unenrolled: once its
Valence node (the attached devices) is released, it is given back to the pool
(``return``: claim and marker dropped, brought to available). The Valence
node of a borrowed host is found through the marker's ``valence_node``.

Unresolved composes. A compose whose answer was lost and whose node could
not be found leaves ``instance.extra[UNRESOLVED_COMPOSE_KEY] = {"name",
"podm_id", "since"}`` on the instance. Every run first looks for nodes of that
name (no grace period: the instance never got them), releases those Ironic
does not hold, and removes the marker once nothing of that name is left and
the marker is older than the grace period.
"""

import dataclasses
import datetime
import logging
import uuid as uuidlib

from oslo_utils import timeutils
from oslo_utils import uuidutils

from mogan_valence.common import exception
from mogan_valence.common import metrics
from mogan_valence.common import states
from mogan_valence.ironic import client as ironic_client
from mogan_valence.ironic import states as ironic_states
from mogan_valence.objects import instance as instance_obj
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import enrollment
from mogan_valence.valence import exceptions as valence_exc
from mogan_valence.valence import expether
from mogan_valence.valence import redfish

LOG = logging.getLogger(__name__)

PREFIX = "mogan-"
UNENROLL = "unenroll"
RELEASE = "release"
# A borrowed host (an existing Ironic node, an ExpEther server) goes back to
# the pool instead of being unenrolled, after its devices are released.
RETURN = "return"
# Reported, never executed: a node of ours that an operator must clean first.
HOLD = "hold"

# instance.extra key left by the revert of a compose that found no node.
UNRESOLVED_COMPOSE_KEY = "valence_compose_unresolved"

# Ironic reaches these only before a deploy, after a cleaning succeeded, or
# through an operator's explicit action: no tenant data can be left on a node
# in one of them (with no target state).
RECLAIMABLE_STATES = frozenset(
    {
        ironic_states.ENROLL,
        ironic_states.VERIFYING,
        ironic_states.MANAGEABLE,
        ironic_states.AVAILABLE,
        ironic_states.INSPECTFAIL,
    }
)
_MARKED_STATUSES = (states.ERROR, states.DELETED)


@dataclasses.dataclass
class Action:
    kind: str  # UNENROLL, RELEASE, RETURN, or HOLD (reported, never executed)
    node_uuid: str
    instance_uuid: str | None
    reason: str
    done: bool = False
    error: str | None = None
    # The composer a RELEASE goes through (None: Valence).
    composer: object = dataclasses.field(default=None, repr=False, compare=False)


def instance_uuid_from_name(name: str | None) -> str | None:
    """The instance uuid in ``mogan-<uuid>``; None for any other name."""
    if not name or not name.startswith(PREFIX):
        return None
    candidate = name[len(PREFIX) :]
    if not uuidutils.is_uuid_like(candidate):
        return None
    # NOTE: is_uuid_like also takes upper case, braces and no dashes; the
    # engine only ever writes the canonical form.
    if str(uuidlib.UUID(candidate)) != candidate:
        return None
    return candidate


def forget_borrowed_host(instance_uuid: str, host: str, keep_node=False) -> None:
    """The instance no longer holds the borrowed ``host``: neither as the
    node it borrowed nor (unless ``keep_node``) as its node, so that a later
    delete never touches it."""
    try:
        instance = instance_obj.Instance.get(None, instance_uuid)
    except exception.InstanceNotFound:
        return
    extra = dict(instance.extra or {})
    changed = extra.pop(enrollment.BORROWED_HOST_KEY, None) is not None
    if changed:
        instance.extra = extra
    if instance.node_uuid == host and not keep_node:
        instance.node_uuid = None
        instance.node = None
        changed = True
    if changed:
        instance.save()


def _composer_key(ref) -> tuple:
    """A composer's ref as a set key (Valence: no ref)."""
    if isinstance(ref, dict) and ref.get("backend") == "redfish":
        return ("redfish", ref.get("service"))
    return ("valence", None)


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


def _hold_advice(state: str | None, target: str | None, unclean: bool) -> str:
    if unclean and not target:
        return (
            "its cleaning failed: clean it in Ironic ('baremetal node manage', "
            "then 'baremetal node clean' with erase steps), remove its mark "
            f"('baremetal node unset --extra {ironic_client.NEEDS_CLEAN_KEY}') "
            "and delete the server again; or have an admin force its release"
        )
    if target:
        return (
            f"Ironic is still working on it ({state} -> {target}); if it does "
            "not end in a clean state, an operator must clean it"
        )
    return (
        "it may still hold a tenant's data: an operator must clean it (delete "
        "the server again, or undeploy and clean it in Ironic), or have an "
        "admin force its release"
    )


class Reconciler:
    """Plans and runs the clean-up over every composer: Valence and each
    enabled Redfish composition service."""

    def __init__(self, conf, ironic, valence, now=None, composers=None):
        from mogan_valence.valence import composer as composer_mod

        self.conf = conf
        self.ironic = ironic
        self.valence = valence
        self.composers = composers or composer_mod.Composers(conf, valence)
        self._now = now or (lambda: timeutils.utcnow(with_timezone=True))
        # Instances whose unresolved-compose marker the next run() removes.
        self._resolved: list[str] = []

    # -- ownership ---------------------------------------------------------------

    def _is_ours(self, node: dict, deployment: str) -> bool:
        extra = node.get("extra") or {}
        marker = extra.get(enrollment.EXTRA_KEY)
        return (
            isinstance(marker, dict)
            and marker.get(enrollment.DEPLOYMENT_KEY) == deployment
        )

    @staticmethod
    def _needed(instance, node_uuid: str, valence: bool = True):
        """(needs the node, why not) for the instance a node was made for.

        :param valence: ``node_uuid`` is a Valence node (else an Ironic one).
        """
        if instance.status in (states.BUILDING, states.DELETING):
            return True, None  # its flow is at work
        if instance.status == states.DELETED:
            return False, f"instance {instance.uuid} is deleted"
        if instance.status == states.ERROR:
            return False, f"instance {instance.uuid} is in ERROR"
        holds = enrollment.valence_node_of(instance) if valence else instance.node_uuid
        if holds != node_uuid:
            return False, (
                f"instance {instance.uuid} is {instance.status} on another "
                f"node ({holds})"
            )
        return True, None

    def _owner(self, instance_uuid: str | None, node_uuid: str):
        if not instance_uuid or not uuidutils.is_uuid_like(instance_uuid):
            return False, "its instance is unknown"
        try:
            instance = instance_obj.Instance.get(None, instance_uuid)
        except exception.InstanceNotFound:
            return False, f"instance {instance_uuid} does not exist"
        return self._needed(instance, node_uuid, valence=False)

    def _old_enough(self, created) -> bool:
        created = _aware(created)
        if created is None:
            return True  # no age known: the owner check alone decides
        age = (self._now() - created).total_seconds()
        return age >= self.conf.valence.reconcile_grace_period

    def _hold(self, node: dict, instance_uuid: str | None, why: str) -> Action | None:
        """A HOLD unless Ironic's node is in a state safe to unenroll."""
        state = node.get("provision_state")
        target = node.get("target_provision_state")
        # A node whose cleaning failed stays held whatever state an operator
        # moved it to ('manage' does not clean), until its mark is removed.
        unclean = state == ironic_states.CLEANFAIL or bool(
            (node.get("extra") or {}).get(ironic_client.NEEDS_CLEAN_KEY)
        )
        if state in RECLAIMABLE_STATES and not target and not unclean:
            return None
        advice = _hold_advice(state, target, unclean)
        LOG.warning(
            "Reconciler leaves Ironic node %s (%s) and its Valence node alone: "
            "%s, but it is in provision state '%s'; %s",
            node["uuid"],
            node.get("name") or "no name",
            why,
            state,
            advice,
        )
        return Action(
            HOLD,
            node["uuid"],
            instance_uuid,
            f"{why}, but Ironic node is '{state}': {advice}",
        )

    # -- planning ----------------------------------------------------------------

    def _unresolved_composes(self) -> list[Action]:
        """Releases for nodes left by composes whose outcome was unknown."""
        actions: list[Action] = []
        for status in _MARKED_STATUSES:
            for instance in instance_obj.Instance.list(None, status=status):
                marker = (instance.extra or {}).get(UNRESOLVED_COMPOSE_KEY)
                if not isinstance(marker, dict) or not marker.get("name"):
                    continue
                actions.extend(self._resolve(instance, marker))
        return actions

    def _resolve(self, instance, marker: dict) -> list[Action]:
        name = marker["name"]
        try:
            composer = self.composers.for_ref(marker.get("composer"))
            nodes = composer.find_nodes_by_name(name, marker.get("podm_id"))
        except exception.MoganValenceException as e:
            LOG.warning(
                "Could not look for composed nodes named %s (a lost compose of "
                "instance %s): %s",
                name,
                instance.uuid,
                e,
            )
            return []
        actions = []
        for node in nodes:
            if self.ironic.find_node(node["uuid"]) is not None:
                # Enrolled after all: the ownership rules below decide.
                continue
            actions.append(
                Action(
                    RELEASE,
                    node["uuid"],
                    instance.uuid,
                    f"a compose for instance {instance.uuid} "
                    f"({instance.status}) got no answer and left it",
                    composer=composer,
                )
            )
        if not nodes and self._old_enough(marker.get("since")):
            self._resolved.append(instance.uuid)
        return actions

    def plan(self) -> list[Action]:
        self._resolved = []
        deployment = enrollment.deployment_id(self.conf)
        actions = self._unresolved_composes()
        planned = {a.node_uuid for a in actions}
        ironic_nodes = {n["uuid"]: n for n in self.ironic.list_nodes(detail=True)}
        # The Ironic node of each Valence node: the node of that uuid, or
        # the borrowed host whose marker names it.
        by_valence = dict(ironic_nodes)
        for node in ironic_nodes.values():
            named = enrollment.marker_of(node).get("valence_node")
            if named and enrollment.is_adopted(node):
                by_valence[named] = node
        seen: set[str] = set()
        valence_nodes, unlisted = self._list_composed()
        listed = {node["uuid"] for node, _ in valence_nodes}
        for node, composer in valence_nodes:
            name = node.get("name") or ""
            node_uuid = node["uuid"]
            instance_uuid = instance_uuid_from_name(name)
            if instance_uuid is None:
                continue  # not a name this engine gives
            try:
                instance = instance_obj.Instance.get(None, instance_uuid)
            except exception.InstanceNotFound:
                LOG.debug(
                    "Valence node %s (%s) is not this deployment's: no such "
                    "instance here",
                    node_uuid,
                    name,
                )
                continue
            seen.add(node_uuid)
            held = by_valence.get(node_uuid)
            if held is not None:
                # Decided here, with its Valence node, or not at all.
                seen.add(held["uuid"])
            if node_uuid in planned:
                continue
            recorded = (instance.extra or {}).get("composer")
            if (
                composer.backend == "redfish"
                and recorded
                and _composer_key(recorded) != _composer_key(composer.ref)
            ):
                # Named after an instance that composed on another service:
                # not this composer's to judge.
                continue
            needed, why = self._needed(instance, node_uuid)
            if needed:
                continue
            if composer.backend == "redfish" and instance.status == states.ACTIVE:
                # A system named after a live instance is never released by
                # a guess: a duplicate, or the same system seen under
                # another identity. An operator decides.
                actions.append(
                    Action(
                        HOLD,
                        node_uuid,
                        instance_uuid,
                        f"Redfish system {node.get('path')} is named after "
                        f"ACTIVE instance {instance_uuid} but is not its node; "
                        "check it and decompose it by hand if it is a duplicate",
                    )
                )
                continue
            try:
                detail = composer.get_node(node_uuid)
            except (valence_exc.ValenceNotFound, redfish.RedfishNotFound):
                continue  # released meanwhile
            if not self._old_enough(detail.get("created_at")):
                continue
            if held is not None:
                if not self._is_ours(held, deployment):
                    LOG.warning(
                        "Leaving Valence node %s (%s) alone: Ironic holds it "
                        "and it is not marked as this deployment's",
                        node_uuid,
                        name,
                    )
                    continue
                hold = self._hold(held, instance_uuid, why)
                if hold is not None:
                    actions.append(hold)
                    continue
                if enrollment.is_adopted(held):
                    # Its devices first; the host goes back once they are.
                    actions.append(
                        Action(
                            RELEASE, node_uuid, instance_uuid, why, composer=composer
                        )
                    )
                    actions.append(Action(RETURN, held["uuid"], instance_uuid, why))
                    continue
                actions.append(Action(UNENROLL, node_uuid, instance_uuid, why))
            actions.append(
                Action(RELEASE, node_uuid, instance_uuid, why, composer=composer)
            )
        for node_uuid, node in ironic_nodes.items():
            if node_uuid in seen or not self._is_ours(node, deployment):
                continue
            if enrollment.marker_of(node).get("valence_node") in listed:
                # A borrowed host goes back only once its devices are
                # released: its Valence node still exists.
                continue
            if _composer_key(enrollment.marker_of(node).get("composer")) in unlisted:
                # Its composer could not be listed: whether its composed
                # node still exists is unknown; decided on a later run.
                continue
            instance_uuid = node["extra"][enrollment.EXTRA_KEY].get("instance_uuid")
            needed, why = self._owner(instance_uuid, node_uuid)
            if needed or not self._old_enough(node.get("created_at")):
                continue
            why = f"{why}, and no Valence node of this deployment goes with it"
            hold = self._hold(node, instance_uuid, why)
            kind = RETURN if enrollment.is_adopted(node) else UNENROLL
            actions.append(hold or Action(kind, node_uuid, instance_uuid, why))
        return actions

    def _list_composed(self) -> tuple[list[tuple[dict, object]], set]:
        """(node, its composer) of every composer that answered, and the
        keys of those that did not. Valence failing is an error as before,
        unless it is not the default backend (a Redfish-only deployment
        may run no Valence at all)."""
        found: list[tuple[dict, object]] = []
        unlisted: set = set()
        for composer in self.composers.all():
            try:
                nodes = composer.list_nodes()
            except exception.MoganValenceException as e:
                if composer is self.composers.valence and (
                    self.conf.valence.backend == "valence"
                ):
                    raise  # as before the Redfish backend: the run fails
                # One service down holds no other back; a Valence that a
                # Redfish deployment may not run at all is only noted.
                level = (
                    logging.INFO
                    if composer is self.composers.valence
                    else logging.WARNING
                )
                LOG.log(
                    level,
                    "Reconciler cannot list %s %s; its nodes wait for a later run: %s",
                    composer.backend,
                    composer.service or "",
                    e,
                )
                unlisted.add(_composer_key(composer.ref))
                continue
            found.extend((node, composer) for node in nodes)
        return found, unlisted

    # -- acting ------------------------------------------------------------------

    def run(self, dry_run: bool = False) -> list[Action]:
        actions = self.plan()
        failed_unenroll: set[str] = set()
        failed_release: set[str | None] = set()
        for action in actions:
            if action.kind == HOLD:
                continue  # reported (and logged by plan), never executed
            if dry_run:
                LOG.info(
                    "Would %s node %s: %s", action.kind, action.node_uuid, action.reason
                )
                continue
            if action.kind == RELEASE and action.node_uuid in failed_unenroll:
                action.error = "not released: it could not be taken out of Ironic"
                continue
            if action.kind == RETURN and action.instance_uuid in failed_release:
                action.error = "not returned: its devices could not be released"
                continue
            try:
                if action.kind == UNENROLL:
                    self.ironic.delete_node(action.node_uuid)
                elif action.kind == RETURN:
                    self.ironic.return_to_pool(
                        action.node_uuid,
                        enrollment.EXTRA_KEY,
                        property_keys=(expether.DEVICES_PROPERTY,),
                    )
                    if action.instance_uuid:
                        forget_borrowed_host(action.instance_uuid, action.node_uuid)
                else:
                    (action.composer or self.composers.valence).release_node(
                        action.node_uuid
                    )
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
                elif action.kind == RELEASE:
                    failed_release.add(action.instance_uuid)
                LOG.error(
                    "Reconciler could not %s node %s: %s",
                    action.kind,
                    action.node_uuid,
                    e,
                )
        for instance_uuid in self._resolved:
            if dry_run:
                LOG.info(
                    "Would forget the unresolved compose of instance %s: no "
                    "node of its name is left",
                    instance_uuid,
                )
                continue
            self._forget_unresolved(instance_uuid)
        metrics.reconciler_actions(actions, dry_run)
        return actions

    @staticmethod
    def _forget_unresolved(instance_uuid: str) -> None:
        try:
            instance = instance_obj.Instance.get(None, instance_uuid)
            extra = dict(instance.extra or {})
            if extra.pop(UNRESOLVED_COMPOSE_KEY, None) is None:
                return
            instance.extra = extra
            instance.save()
        except Exception as e:  # noqa: BLE001  (next run tries again)
            LOG.error(
                "Could not clear the unresolved compose of instance %s: %s",
                instance_uuid,
                e,
            )
            return
        LOG.info(
            "Unresolved compose of instance %s resolved: no Valence node of "
            "its name is left",
            instance_uuid,
        )
