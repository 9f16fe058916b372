"""Valence's node shapes, and what an ExpEther node takes.

Valence reports each pod manager's ``driver``. Its node detail has one of two
shapes:

- ``rsd`` (``redfishv1``): a composed Redfish system under the pod manager
  (``computer_system``, ``metadata`` with processors, memory and NICs);
- ``expether`` (NEC ExpEther): an existing server (its EESV board, Valence's
  ``index``) to which pool PCIe devices are attached over Ethernet. Its CPU
  and RAM are its own; the detail carries ``mac_address``,
  ``host_serial_number``, ``host_model``, ``power_state`` and
  ``pooled_group_id``, and Valence does not know its BMC.

An ExpEther compose only reserves a server with devices of the requested
types: Valence ignores CPU and memory requirements, and refuses with 404
when no server or no device of a type is free (without undoing the devices
it attached already). The engine therefore composes an ExpEther node in two
steps: a compose with no devices (the server alone), then, once it knows how
Ironic will manage that server, one attach per device. A server nobody can
manage is given back before anything is attached to it.
"""

import collections
import dataclasses
import logging
import threading

from mogan_valence.common import coordination as coordination_mod
from mogan_valence.common import exception
from mogan_valence.common import metrics
from mogan_valence.valence import enrollment
from mogan_valence.valence import exceptions as valence_exc

LOG = logging.getLogger(__name__)

RSD = "rsd"
EXPETHER = "expether"
FREE = "free"
# An Ironic node's properties key listing the devices attached to it.
DEVICES_PROPERTY = "mogan_valence_devices"


def shape_of(pod_manager: dict) -> str:
    """``expether`` for a pod manager of that driver, else ``rsd``."""
    driver = str(pod_manager.get("driver") or "").strip().lower()
    return EXPETHER if driver == EXPETHER else RSD


class PodManagers:
    """What the engine needs to know of each pod manager: its node shape,
    read once from Valence, and a bound on concurrent composes."""

    def __init__(self, conf, valence, coordination=None):
        self.conf = conf
        self.valence = valence
        # Shared by every engine when they coordinate (tooz).
        self.coordination = coordination or coordination_mod.LocalCoordinator()
        self._shapes: dict[str, str] = {}
        self._lock = threading.Lock()

    def shape(self, podm_id: str) -> str:
        with self._lock:
            known = self._shapes.get(podm_id)
        if known is not None:
            return known
        shape = shape_of(self.valence.get_pod_manager(podm_id))
        with self._lock:
            self._shapes[podm_id] = shape
        LOG.info("Pod manager %s composes %s nodes", podm_id, shape)
        return shape

    def _limit(self, shape: str) -> int:
        configured = self.conf.valence.max_concurrent_composes
        if configured is None:
            return 1 if shape == EXPETHER else 0
        return configured

    @metrics.compose_slot
    def compose_slot(self, podm_id: str):
        """Hold one of the pod manager's compose slots while composing (of
        every engine, when they coordinate).

        :raises: whatever reading the pod manager's shape raises.
        """
        limit = self._limit(self.shape(podm_id))
        if not limit:
            yield
            return
        with self.coordination.slot(f"compose-{podm_id}", limit):
            yield


def reserve_request(name: str, podm_id: str, description: str | None) -> dict:
    """``POST /v1/nodes`` for a server with no devices yet."""
    body = {
        "name": name,
        "podm_id": podm_id,
        "properties": {"pci_device": {"type": []}},
    }
    if description:
        body["description"] = description
    return body


class DeviceUnavailable(valence_exc.ValenceNoCapacity):
    """No free pool device of a requested type."""


def attach_devices(valence, node: dict, podm_id: str, wanted: list[str]) -> list:
    """Attach a free device of each wanted type that the node lacks.

    Safe to re-run: what is attached already counts. A device another
    compose took meanwhile is skipped for the next free one.

    :param node: the node's detail (``uuid``, ``index``).
    :returns: the node's devices.
    :raises DeviceUnavailable: no free device of a type is left.
    """
    attached = valence.list_devices(node_id=node["index"])
    missing = collections.Counter(wanted) - collections.Counter(
        d.get("type") for d in attached
    )
    for kind, count in sorted(missing.items()):
        for _ in range(count):
            attached.append(_attach_one(valence, node, podm_id, kind))
    return attached


def _attach_one(valence, node: dict, podm_id: str, kind: str) -> dict:
    for device in valence.list_devices(type=kind, state=FREE, podm_id=podm_id):
        try:
            valence.attach_device(node["uuid"], device["uuid"])
        except valence_exc.ValenceValidationError as e:
            LOG.info(
                "Device %s (%s) was taken meanwhile (%s); trying another",
                device["uuid"],
                kind,
                e.detail,
            )
            continue
        LOG.info(
            "Attached %s device %s to Valence node %s (EESV %s)",
            kind,
            device["uuid"],
            node["uuid"],
            node["index"],
        )
        return device
    raise DeviceUnavailable(
        f"Valence has no free {kind} device left to attach to node {node['uuid']}",
        status=404,
        detail="Requested device not available",
    )


def properties(devices: list[dict]) -> dict:
    """What an Ironic node learns of the devices attached to it."""
    return {DEVICES_PROPERTY: sorted(str(d.get("type")) for d in devices)}


class UnmanageableHost(exception.InvalidInput):
    msg_fmt = "No way to manage the composed node: %(reason)s"


@dataclasses.dataclass
class Host:
    """How Ironic manages an ExpEther server: an existing node to borrow
    (``node``), or the driver to enroll it with (``driver``)."""

    node: dict | None = None
    driver: dict | None = None
    properties: dict = dataclasses.field(default_factory=dict)


class Hosts:
    """Finds how Ironic manages each ExpEther server: an Ironic node with a
    port of the EESV's MAC (borrowed for the instance, never deleted), else
    an entry of ``[valence] node_inventory``, else, with ``[valence]
    enroll_driver = fake-hardware`` (tests and demos), a fake node."""

    def __init__(self, conf, ironic, inventory):
        self.conf = conf
        self.ironic = ironic
        self.inventory = inventory

    def find(self, valence_uuid: str, instance_uuid: str, detail: dict) -> Host:
        """:raises UnmanageableHost: naming what is missing."""
        index = detail.get("index")
        mac = detail.get("mac_address")
        serial = detail.get("host_serial_number")
        who = (
            f"ExpEther server {index} (MAC {mac or 'unknown'}, "
            f"serial {serial or 'unknown'})"
        )
        node = self.ironic.find_node_by_port(mac) if mac else None
        # A node made from the inventory by an earlier try has the Valence
        # node's uuid: it is made again (idempotently), not borrowed.
        if node is not None and node["uuid"] != valence_uuid:
            self._check_free(who, node, instance_uuid)
            return Host(node=node)
        entry = self.inventory.entries() and self.inventory.find(index, mac, serial)
        if entry:
            return Host(
                driver=self._driver_fields(entry),
                properties=dict(entry.get("properties") or {}),
            )
        if self.conf.valence.enroll_driver == "fake-hardware":
            return Host(driver={"driver": "fake-hardware", "driver_info": {}})
        where = self.inventory.path or "not set"
        raise UnmanageableHost(
            reason=f"{who} is neither an Ironic node (no port has MAC "
            f"{mac or 'unknown'}) nor in [valence] node_inventory ({where}): "
            "enroll it in Ironic with a port of that MAC, or add it to the "
            "inventory with its driver and driver_info"
        )

    def borrow(self, node: dict, instance_uuid: str, marker: dict) -> None:
        """Claim and mark an Ironic node for the instance, in one update
        (Ironic refuses a claim of a node claimed by another: 409)."""
        ops = [{"op": "add", "path": f"/extra/{enrollment.EXTRA_KEY}", "value": marker}]
        if node.get("instance_uuid") != instance_uuid:
            ops.append({"op": "add", "path": "/instance_uuid", "value": instance_uuid})
        self.ironic.patch_node(node["uuid"], ops)

    def _driver_fields(self, entry: dict) -> dict:
        """The Ironic fields an inventory entry gives its node."""
        fields = {"driver": entry["driver"], "driver_info": entry["driver_info"]}
        if entry.get("resource_class"):
            fields["resource_class"] = entry["resource_class"]
        if entry["driver"] == "redfish":
            # As the RSD nodes managed through Redfish.
            fields["deploy_interface"] = self.conf.valence.deploy_interface
            fields["boot_interface"] = self.conf.valence.boot_interface
        fields.update({k: v for k, v in entry.items() if k.endswith("_interface")})
        return fields

    @staticmethod
    def _check_free(who: str, node: dict, instance_uuid: str) -> None:
        owner = node.get("instance_uuid") or enrollment.marker_of(node).get(
            "instance_uuid"
        )
        if owner == instance_uuid:
            return  # borrowed by an earlier try of this instance
        problem = None
        if owner:
            problem = f"it is in use by instance {owner}"
        elif node.get("maintenance"):
            problem = "it is in maintenance"
        elif node.get("provision_state") != "available" or node.get(
            "target_provision_state"
        ):
            problem = f"it is '{node.get('provision_state')}', not 'available'"
        if problem:
            raise UnmanageableHost(
                reason=f"{who} is Ironic node {node['uuid']}, but {problem}"
            )
