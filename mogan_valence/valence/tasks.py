"""The tasks the Valence extension puts ahead of the base create flow."""

import logging

from oslo_utils import timeutils
from taskflow import task
from taskflow.types import failure as tf_failure

from mogan_valence.engine import extensions as ext_mod
from mogan_valence.objects import instance as instance_obj
from mogan_valence.valence import composer as composer_mod
from mogan_valence.valence import composition as composition_mod
from mogan_valence.valence import enrollment
from mogan_valence.valence import expether
from mogan_valence.valence import reconciler as reconciler_mod

LOG = logging.getLogger(__name__)

# Store keys: the engine's, and the one this extension adds.
INSTANCE_UUID = ext_mod.INSTANCE_UUID
FLAVOR = ext_mod.FLAVOR
NODE_UUID = ext_mod.NODE_UUID
# {"uuid", "name", "podm_id", "shape"}; a node of the redfish backend has
# shape "redfish" and also "backend", "service" and its system's "path".
VALENCE_NODE = "valence_node"
REDFISH = composition_mod.REDFISH
# The node the scheduling task found, as the tasks of the compose branch of
# ``compose_on_no_valid_node`` see it.
SCHEDULED_NODE = "scheduled_node"


def node_name(instance_uuid: str) -> str:
    """The deterministic Valence node name: the idempotency key of a compose."""
    return f"mogan-{instance_uuid}"


_KEEP = object()


def _save_instance(
    instance_uuid: str,
    valence_node=_KEEP,
    borrowed_host=_KEEP,
    composer=_KEEP,
    **values,
) -> None:
    """Save fields of the instance; ``valence_node`` and ``borrowed_host``
    (a uuid, or None to forget it) and ``composer`` (a composer's ``ref``)
    go into its ``extra``."""
    instance = instance_obj.Instance.get(None, instance_uuid)
    for key, value in values.items():
        setattr(instance, key, value)
    extra = dict(instance.extra or {})
    for key, value in (
        (enrollment.VALENCE_NODE_KEY, valence_node),
        (enrollment.BORROWED_HOST_KEY, borrowed_host),
        (composer_mod.COMPOSER_KEY, composer),
    ):
        if value is None:
            extra.pop(key, None)
        elif value is not _KEEP:
            extra[key] = value
    if extra != (instance.extra or {}):
        instance.extra = extra
    instance.save()


def _podm_id(conf, flavor: dict) -> str | None:
    comp = flavor.get("composition") or {}
    return comp.get(composition_mod.PODM_ID) or conf.valence.podm_id


class ComposeNodeTask(task.Task):
    """Compose a node in Valence for the instance.

    The node is named ``mogan-<instance uuid>``: a node of that name that
    already exists (an earlier try whose answer was lost, a resumed flow) is
    adopted, never composed twice. Valence accepts duplicate names: when
    several exist, the oldest is adopted and the others are released.
    ``composed=True`` and ``node_uuid`` are saved on the instance before the
    task returns.

    With ``only_if_unscheduled`` (the compose branch of
    ``[valence] compose_on_no_valid_node``) it does nothing when the
    scheduling task before it found a node.

    Reversion strategy: release the node in Valence, found by its uuid or,
    when the compose itself failed, by its name (it may exist anyway: the
    lookup goes on for ``[valence] compose_lookup_window``; when nothing
    shows up in time the instance keeps a marker that the reconciler checks
    on each run); a node already gone counts as released. A failure to
    release is raised.
    """

    def __init__(
        self,
        valence,
        conf,
        pods: expether.PodManagers,
        hosts: expether.Hosts,
        only_if_unscheduled: bool = False,
        composers: composer_mod.Composers | None = None,
        **kwargs,
    ):
        requires = [INSTANCE_UUID, FLAVOR]
        rebind = {}
        if only_if_unscheduled:
            rebind = {SCHEDULED_NODE: NODE_UUID}
        super().__init__(
            name="compose-node",
            provides=VALENCE_NODE,
            requires=requires,
            rebind=rebind or None,
            **kwargs,
        )
        self.valence = valence
        self.conf = conf
        self.pods = pods
        self.hosts = hosts
        self.only_if_unscheduled = only_if_unscheduled
        self.composers = composers or composer_mod.Composers(conf, valence)

    def _recorded_composer(self, instance_uuid: str, flavor: dict):
        """The composer the compose recorded on the instance (Redfish); for
        Valence (which records none), the flavor's. None: a Redfish compose
        that failed before it recorded one (nothing was composed)."""
        instance = instance_obj.Instance.get(None, instance_uuid)
        ref = (instance.extra or {}).get(composer_mod.COMPOSER_KEY)
        if ref:
            # It may have composed there: a configuration error raises.
            return self.composers.for_ref(ref)
        try:
            composer = self.composers.for_composition(flavor.get("composition") or {})
        except composer_mod.UnknownComposer as e:
            LOG.info("Instance %s: nothing was composed (%s)", instance_uuid, e)
            return None
        return None if composer.backend == REDFISH else composer

    def execute(self, instance_uuid, flavor, scheduled_node=None):
        if self.only_if_unscheduled and scheduled_node:
            # A pool node: not composed (an earlier attempt may have been).
            _save_instance(instance_uuid, composed=False)
            return None
        name = node_name(instance_uuid)
        comp = composition_mod.validate(
            flavor["composition"], self.conf.valence.backend
        )
        if composition_mod.backend_of(comp, self.conf.valence.backend) == REDFISH:
            return self._compose_redfish(instance_uuid, name, comp)
        podm_id = composition_mod.podm_id_for(comp, self.conf.valence.podm_id)
        shape = self.pods.shape(podm_id)
        if shape == expether.RSD:
            missing = enrollment.missing_redfish_options(self.conf)
            if missing:
                raise expether.UnmanageableHost(
                    reason="Ironic's redfish driver would manage it and needs "
                    + ", ".join(missing)
                )
        _save_instance(instance_uuid, composed=True)
        node = self._adopt(self.composers.valence, instance_uuid, name, podm_id)
        if node is None:
            description = f"composed by mogan-valence for instance {instance_uuid}"
            if shape == expether.EXPETHER:
                # The server alone: devices come once it is known manageable.
                body = expether.reserve_request(name, podm_id, description)
            else:
                body = composition_mod.to_request(
                    comp, name, self.conf.valence.podm_id, description=description
                )
            with self.pods.compose_slot(podm_id):
                node = self.valence.compose(body)
            LOG.info(
                "Instance %s: composed Valence node %s (%s)",
                instance_uuid,
                node["uuid"],
                name,
            )
        _save_instance(
            instance_uuid, node_uuid=node["uuid"], node=name, valence_node=node["uuid"]
        )
        found = {"uuid": node["uuid"], "name": name, "podm_id": podm_id, "shape": shape}
        if shape == expether.EXPETHER:
            detail = self.valence.get_node(node["uuid"])
            # Refused (and given back by the revert) before anything is
            # attached to a server nobody could manage; a server that is an
            # Ironic node is claimed first, so that nothing else is given it
            # with our devices on it.
            host = self.hosts.find(node["uuid"], instance_uuid, detail)
            if host.node is not None:
                self._borrow(instance_uuid, found, host.node, detail)
            expether.attach_devices(
                self.valence, detail, podm_id, comp.get("pci_devices") or []
            )
        return found

    def _compose_redfish(self, instance_uuid: str, name: str, comp: dict) -> dict:
        composer = self.composers.for_composition(comp)
        # Recorded first: a revert after a kill must know where to look.
        _save_instance(instance_uuid, composed=True, composer=composer.ref)
        node = self._adopt(composer, instance_uuid, name, None)
        if node is None:
            node = composer.compose(
                name,
                comp,
                description=f"composed by mogan-valence for instance {instance_uuid}",
            )
            LOG.info(
                "Instance %s: composed system %s (%s) on Redfish service %s",
                instance_uuid,
                node["path"],
                name,
                composer.service,
            )
        _save_instance(
            instance_uuid,
            node_uuid=node["uuid"],
            node=name,
            valence_node=node["uuid"],
            composer={**composer.ref, "path": node["path"]},
        )
        return {
            "uuid": node["uuid"],
            "name": name,
            "podm_id": None,
            "shape": REDFISH,
            "path": node["path"],
            **composer.ref,
        }

    def _borrow(self, instance_uuid, valence_node, node: dict, detail: dict) -> None:
        host = node["uuid"]
        # Named on the instance before the claim, so that a revert after a
        # kill finds it (and, never claimed, finds it not ours); its node
        # only once it is ours.
        _save_instance(instance_uuid, borrowed_host=host)
        self.hosts.borrow(
            node,
            instance_uuid,
            enrollment.marker(self.conf, instance_uuid, valence_node, adopted=True),
        )
        _save_instance(instance_uuid, node_uuid=host)
        LOG.info(
            "Instance %s: borrowed Ironic node %s, the host of ExpEther server %s",
            instance_uuid,
            host,
            detail.get("index"),
        )

    def _adopt(self, composer, instance_uuid: str, name: str, podm_id) -> dict | None:
        """The oldest node of that name, the others released."""
        nodes = composer.find_nodes_by_name(name, podm_id)
        if not nodes:
            return None
        adopted, duplicates = nodes[0], nodes[1:]
        LOG.info(
            "Instance %s: adopting composed node %s (%s)",
            instance_uuid,
            adopted["uuid"],
            name,
        )
        self._release_all(composer, instance_uuid, duplicates, "a duplicate of")
        return adopted

    @staticmethod
    def _release_all(composer, instance_uuid: str, nodes: list[dict], why: str):
        for node in nodes:
            if composer.release_node(node["uuid"]):
                LOG.warning(
                    "Instance %s: released composed node %s, %s %s",
                    instance_uuid,
                    node["uuid"],
                    why,
                    node_name(instance_uuid),
                )

    def revert(self, result, instance_uuid, flavor, *args, **kwargs):
        name = node_name(instance_uuid)
        if isinstance(result, tf_failure.Failure):
            if self.only_if_unscheduled and kwargs.get("scheduled_node"):
                return  # it did nothing
            composer = self._recorded_composer(instance_uuid, flavor)
            if composer is None:
                return  # it never got to compose
            podm_id = (
                _podm_id(self.conf, flavor) if composer.backend != REDFISH else None
            )
            # What an unfinished compose holds without a node (a Redfish
            # reservation) goes back first.
            composer.forget_pending(name)
            # A compose whose outcome is unknown may have gone through, and
            # the backend may commit it a moment after a first look finds
            # nothing; a refused one is looked for once.
            unknown = result.check(*composer.outcome_unknown_errors) is not None
            nodes = composer.wait_for_nodes_by_name(
                name, podm_id, window=None if unknown else 0
            )
            if not nodes:
                if unknown:
                    self._mark_unresolved(instance_uuid, name, podm_id, composer)
                else:
                    _save_instance(instance_uuid, composed=False, composer=None)
                return
            self._release_all(composer, instance_uuid, nodes, "composed for")
        elif result is not None:
            composer = self.composers.for_ref(result)
            # The node it knows first, then any duplicate that appeared since.
            if composer.release_node(result["uuid"]):
                LOG.info(
                    "Instance %s: released Valence node %s",
                    instance_uuid,
                    result["uuid"],
                )
            others = [
                n
                for n in composer.find_nodes_by_name(name, result.get("podm_id"))
                if n["uuid"] != result["uuid"]
            ]
            self._release_all(composer, instance_uuid, others, "a duplicate of")
        else:
            return
        # Nothing composed is left for it (a reschedule may now take a pool
        # node, which must not be torn down as a composed one).
        _save_instance(
            instance_uuid,
            node_uuid=None,
            node=None,
            composed=False,
            valence_node=None,
            composer=None,
        )

    @staticmethod
    def _mark_unresolved(instance_uuid: str, name: str, podm_id, composer) -> None:
        """Leave the reconciler a note: a node of this name may still
        appear, and must be released early when it does."""
        instance = instance_obj.Instance.get(None, instance_uuid)
        extra = dict(instance.extra or {})
        extra[reconciler_mod.UNRESOLVED_COMPOSE_KEY] = {
            "name": name,
            "podm_id": podm_id,
            "since": timeutils.utcnow(with_timezone=True).isoformat(),
            **({"composer": composer.ref} if composer.backend == REDFISH else {}),
        }
        instance.extra = extra
        instance.node_uuid = None
        instance.node = None
        instance.save()
        LOG.warning(
            "Instance %s: no composed node %s found after a failed compose; the "
            "reconciler keeps looking for it",
            instance_uuid,
            name,
        )


class EnrollNodeTask(task.Task):
    """Enroll the composed node into Ironic and make it available.

    The Ironic node gets the Valence node's uuid (one id in both systems),
    the driver and driver_info of ``[valence]``, resource class
    ``[valence] resource_class``, properties from the composed hardware,
    ports from its MACs, and ``extra`` marking it as this deployment's. It is
    claimed for the instance right after it is created, so that no other
    request can schedule onto it once it becomes available; then it is
    brought to available from whatever state it is in (a re-run after a
    kill takes it on from there).

    With ``only_if_unscheduled`` (the compose branch) it passes on the
    scheduled node when nothing was composed.

    Reversion strategy: take the node out of Ironic (unclaim, maintenance if
    needed, delete; already gone counts as done). A failure is raised, so
    that the composed hardware is never released while Ironic holds it.
    """

    def __init__(
        self,
        ironic,
        valence,
        conf,
        hosts: expether.Hosts,
        only_if_unscheduled: bool = False,
        composers: composer_mod.Composers | None = None,
    ):
        rebind = {SCHEDULED_NODE: NODE_UUID} if only_if_unscheduled else None
        super().__init__(
            name="enroll-node",
            provides=NODE_UUID,
            requires=[INSTANCE_UUID, VALENCE_NODE],
            rebind=rebind,
        )
        self.ironic = ironic
        self.valence = valence
        self.conf = conf
        self.hosts = hosts
        self.composers = composers or composer_mod.Composers(conf, valence)

    def execute(self, instance_uuid, valence_node, scheduled_node=None):
        if valence_node is None:
            return scheduled_node
        node_uuid = valence_node["uuid"]
        if valence_node.get("shape") == REDFISH:
            return self._redfish(instance_uuid, valence_node)
        detail = self.valence.get_node(node_uuid)
        if valence_node.get("shape") == expether.EXPETHER:
            return self._expether(instance_uuid, valence_node, detail)
        fields = enrollment.node_fields(self.conf, instance_uuid, valence_node, detail)
        return self._enroll(instance_uuid, node_uuid, fields, enrollment.macs(detail))

    def _redfish(self, instance_uuid, valence_node) -> str:
        """The composed system, managed by Ironic's redfish driver at its
        own path on the composition service."""
        composer = self.composers.for_ref(valence_node)
        node = composer.get_node(valence_node["uuid"], path=valence_node.get("path"))
        props, macs = composer.hardware(node)
        driver = composer.driver_fields()
        driver["driver_info"]["redfish_system_id"] = node["path"]
        fields = enrollment.node_fields(
            self.conf, instance_uuid, valence_node, {}, driver=driver, props=props
        )
        return self._enroll(instance_uuid, valence_node["uuid"], fields, macs)

    def _expether(self, instance_uuid, valence_node, detail) -> str:
        devices = self.valence.list_devices(node_id=detail["index"])
        host = self.hosts.find(valence_node["uuid"], instance_uuid, detail)
        props = expether.properties(devices)
        if host.node is None:
            fields = enrollment.node_fields(
                self.conf,
                instance_uuid,
                valence_node,
                detail,
                driver=host.driver,
                props={"cpu_arch": "x86_64", **host.properties, **props},
            )
            macs = [detail["mac_address"].lower()] if detail.get("mac_address") else []
            return self._enroll(instance_uuid, valence_node["uuid"], fields, macs)
        node_uuid = host.node["uuid"]
        # Claimed and marked by the compose; what is attached to it now.
        self.ironic.patch_node(
            node_uuid,
            [
                {
                    "op": "add",
                    "path": f"/properties/{expether.DEVICES_PROPERTY}",
                    "value": props[expether.DEVICES_PROPERTY],
                }
            ],
        )
        _save_instance(instance_uuid, node_uuid=node_uuid, borrowed_host=node_uuid)
        return node_uuid

    def _enroll(self, instance_uuid, node_uuid, fields, macs) -> str:
        node = self.ironic.create_node(node_uuid, **fields)
        self.ironic.claim_node(node_uuid, instance_uuid, node=node)
        for mac in macs:
            self.ironic.create_port(node_uuid, mac)
        self.ironic.make_available(node_uuid)
        LOG.info(
            "Instance %s: node %s enrolled and available", instance_uuid, node_uuid
        )
        return node_uuid

    def revert(self, result, instance_uuid, valence_node, *args, **kwargs):
        if valence_node is None:
            return
        node_uuid = valence_node["uuid"]
        if self.ironic.delete_node(node_uuid):
            LOG.info(
                "Instance %s: removed node %s from Ironic", instance_uuid, node_uuid
            )


class ReturnHostTask(task.Task):
    """Give back the Ironic node an instance borrowed (an ExpEther host that
    was in Ironic before), once everything after it is undone.

    It runs before the compose, so that its revert runs last: after the
    devices are released in Valence, never while they are still attached.

    Reversion strategy: if the instance's node is a borrowed node marked for
    this instance, drop the claim and the marker and bring it back to
    ``available`` (it stays enrolled); anything else is left alone.
    """

    def __init__(self, ironic):
        # "-on-revert": its (empty) execute is no step of the create.
        super().__init__(name="return-host-on-revert", requires=[INSTANCE_UUID])
        self.ironic = ironic

    def execute(self, instance_uuid):
        pass

    def revert(self, instance_uuid, *args, **kwargs):
        return_host(self.ironic, instance_obj.Instance.get(None, instance_uuid))


def return_host(ironic, instance, keep_node: bool = False) -> bool:
    """Give back the node ``instance`` borrowed, if it did; True if so.

    Ours while its claim or its marker names the instance (the marker goes
    last, once it is available again); then, or if it never was ours (a
    kill before the claim), the instance forgets it, and (unless
    ``keep_node``: its delete flow is rebuilt from it, and it is DELETED
    next) no longer names it as its node.
    """
    host = (instance.extra or {}).get(enrollment.BORROWED_HOST_KEY)
    if not host:
        return False
    node = ironic.find_node(host)
    ours = node is not None and (
        node.get("instance_uuid") == instance.uuid
        or (
            enrollment.is_adopted(node)
            and enrollment.marker_of(node).get("instance_uuid") == instance.uuid
        )
    )
    if ours:
        ironic.return_to_pool(
            host, enrollment.EXTRA_KEY, property_keys=(expether.DEVICES_PROPERTY,)
        )
        LOG.info("Instance %s: gave host %s back to the pool", instance.uuid, host)
    reconciler_mod.forget_borrowed_host(instance.uuid, host, keep_node=keep_node)
    return ours


def compose_on_no_valid_node(
    schedule, valence, ironic, conf, pods, hosts, composers=None
) -> list:
    """The scheduling task, then the compose branch, as visible atoms.

    The engine's scheduling task provides ``None`` instead of failing when
    no node is found; compose and enroll then run, and pass the scheduled
    node on untouched when there was one. Each atom is persisted, resumed
    and timed like any other.
    """
    schedule.no_valid_node_ok = True
    return [
        schedule,
        ReturnHostTask(ironic),
        ComposeNodeTask(
            valence, conf, pods, hosts, only_if_unscheduled=True, composers=composers
        ),
        EnrollNodeTask(
            ironic, valence, conf, hosts, only_if_unscheduled=True, composers=composers
        ),
    ]
