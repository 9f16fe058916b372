"""The ExpEther backend: Valence's ``expether`` driver and an NEC ExpEther pod.

An ExpEther "composed node" is an existing server (its EESV board) to which
pooled PCIe devices (NIC, SSD, GPU, ...) are attached by putting them in the
EESV's group; CPU and RAM are the server's own, and Valence knows nothing of
its BMC. Here every host is also a Redfish system of the emulator, so an
operator inventory can give Ironic its BMC.

What it answers is what Valence HEAD answers with this driver (valence-api.md
sections 5.1 to 5.8): compose uses only ``pci_device.type``, takes the first
EESV that is no node's ``index`` and, per type, the first free device (group
4093); a missing device is a 404 that leaves the earlier attachments of the
request in place.
"""

import dataclasses
import logging
import uuid as uuidlib

from mogan_valence.simulator import pod as pod_mod
from mogan_valence.simulator import state as state_mod

LOG = logging.getLogger(__name__)

FREE_GROUP = "4093"
BOARD_TYPE = "40g"
BOARD_DESCRIPTION = "ExpEther Board (40G)"
NODE_NOT_AVAILABLE = "Node not available"
DEVICE_NOT_AVAILABLE = "Requested device not available"
_EESV_PREFIX = "0x8cdf9d53a"
_EEIO_PREFIX = "0x8cdf9d53b"
_FIRST_GROUP = 100
_NAMESPACE = uuidlib.UUID("0f4b3a52-6f0e-4f3b-9d0c-8b6a3e2d7c15")
_HOST_MODEL = "Express5800/R120h-1M"
# type -> (model, PCI vendor id, device id, class code)
_CARDS = {
    "NIC": (
        "Intel Ethernet Converged Network Adapter X710",
        "0x8086",
        "0x1572",
        "0x020000",
    ),
    "SSD": ("Intel SSD DC P4600 1.6TB NVMe", "0x8086", "0x0a54", "0x010802"),
    "GPU": ("NVIDIA Tesla V100 PCIe 16GB", "0x10de", "0x1db4", "0x030200"),
}
_UNKNOWN_CARD = ("PCIe device", "0x0000", "0x0000", "0x000000")


@dataclasses.dataclass(frozen=True)
class Host:
    """One server with its EESV board, as Valence's node detail shows it."""

    eesv_id: str
    system: pod_mod.System
    serial_number: str
    host_serial_number: str
    host_model: str
    pooled_group_id: str

    @property
    def mac(self) -> str:
        # NOTE: a real EESV has a MAC of its own; the host's first NIC is
        # used here so that an engine can find the host's Ironic node by
        # port MAC.
        return self.system.nics[0].mac


@dataclasses.dataclass(frozen=True)
class Device:
    """One pooled PCIe device (the EEIO unit and its card)."""

    eeio_id: str
    type: str
    model: str


def hosts(pod: pod_mod.Pod) -> tuple[Host, ...]:
    found = []
    for i, system in enumerate(pod.systems, start=1):
        found.append(
            Host(
                eesv_id=system.eesv_id or f"{_EESV_PREFIX}{i:03x}",
                system=system,
                serial_number=system.serial_number or f"EESV{i:08d}",
                host_serial_number=system.host_serial_number or f"HOST{i:08d}",
                host_model=system.host_model or _HOST_MODEL,
                pooled_group_id=str(_FIRST_GROUP + i - 1),
            )
        )
    return tuple(found)


def default_pool(host_count: int) -> tuple[pod_mod.PciDevice, ...]:
    """One NIC and one SSD per host, and a few GPUs to share."""
    pool = [pod_mod.PciDevice("NIC") for _ in range(host_count)]
    pool += [pod_mod.PciDevice("SSD") for _ in range(host_count)]
    pool += [pod_mod.PciDevice("GPU") for _ in range(max(2, host_count // 2))]
    return tuple(pool)


def devices(pod: pod_mod.Pod) -> tuple[Device, ...]:
    raw = pod.devices if pod.devices is not None else default_pool(len(pod.systems))
    return tuple(
        Device(
            eeio_id=d.id or f"{_EEIO_PREFIX}{j:03x}",
            type=d.type,
            model=d.model or _CARDS.get(d.type, _UNKNOWN_CARD)[0],
        )
        for j, d in enumerate(raw, start=1)
    )


def expether_error(status: int, detail: str) -> state_mod.ValenceError:
    """Valence's ExpEtherException: the ExpEther manager's style of code."""
    return state_mod.ValenceError(status, f"{status}00", "ExpEther Exception", detail)


class ExpEtherBackend:
    driver = "expether"

    def __init__(self, state: state_mod.State):
        self.state = state
        self.hosts = hosts(state.pod)
        self.pool = devices(state.pod)
        ids = [h.eesv_id for h in self.hosts] + [d.eeio_id for d in self.pool]
        if len(ids) != len(set(ids)):
            raise pod_mod.PodFileError("EESV and device ids must all differ")
        self._hosts = {h.eesv_id: h for h in self.hosts}
        with state.lock:
            if state.registered_default:
                self.sync_devices(state_mod.DEFAULT_PODM_UUID)
            state.save()

    # -- devices -----------------------------------------------------------------

    def sync_devices(self, podm_id: str) -> None:
        """Records for the pod's devices this pod manager does not have yet
        (what Valence's device sync does when a pod manager is added)."""
        with self.state.lock:
            stamp = state_mod.now()
            for device in self.pool:
                uuid = str(uuidlib.uuid5(_NAMESPACE, f"{podm_id}/{device.eeio_id}"))
                if uuid in self.state.devices:
                    continue
                _, vendor, device_id, class_code = _CARDS.get(
                    device.type, _UNKNOWN_CARD
                )
                self.state.devices[uuid] = {
                    "uuid": uuid,
                    "podm_id": podm_id,
                    "node_id": None,
                    "type": device.type,
                    "pooled_group_id": FREE_GROUP,
                    "state": "free",
                    "properties": {
                        "model": device.model,
                        "vendor_id": vendor,
                        "device_id": device_id,
                        "class_code": class_code,
                    },
                    "extra": {"eeio_id": device.eeio_id},
                    "resource_uri": f"devices/{device.eeio_id}",
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            self.state.save()

    def forget_pod_manager(self, podm_id: str) -> None:
        with self.state.lock:
            for uuid in [
                u for u, d in self.state.devices.items() if d["podm_id"] == podm_id
            ]:
                del self.state.devices[uuid]
            self.state.save()

    def get_device(self, uuid: str) -> dict:
        try:
            return self.state.devices[uuid]
        except KeyError:
            raise state_mod.not_found(f"Device {uuid} not found in database.") from None

    def _attach(self, device: dict, host: Host) -> None:
        device.update(
            node_id=host.eesv_id,
            pooled_group_id=host.pooled_group_id,
            state="allocated",
            updated_at=state_mod.now(),
        )

    @staticmethod
    def _detach(device: dict) -> None:
        device.update(
            node_id=None,
            pooled_group_id=FREE_GROUP,
            state="free",
            updated_at=state_mod.now(),
        )

    # -- nodes -------------------------------------------------------------------

    def host(self, eesv_id: str) -> Host:
        return self._hosts[eesv_id]

    def _free_host(self) -> Host:
        used = {n["index"] for n in self.state.nodes.values()}
        for host in self.hosts:
            if host.eesv_id not in used:
                return host
        raise expether_error(404, NODE_NOT_AVAILABLE)

    def compose(
        self,
        name: str,
        description: str | None,
        podm_id: str,
        requirements: dict,
        failed: bool = False,
        race_window: float | None = None,
    ) -> dict:
        """Only ``pci_device.type`` counts: the server's CPU and RAM are its own.

        :param race_window: seconds between choosing the EESV and attaching
            to it, outside the lock (the real driver's race); None composes
            atomically.
        """
        wanted = (requirements.get("pci_device") or {}).get("type") or []
        with self.state.lock:
            self.state.get_pod_manager(podm_id)
            host = self._free_host()
            if race_window is None:
                return self._commit(name, podm_id, host, wanted)
        LOG.info("Double-allocation fault: %s took %s, waiting", name, host.eesv_id)
        state_mod.pause(race_window)
        with self.state.lock:
            return self._commit(name, podm_id, host, wanted)

    def _commit(self, name: str, podm_id: str, host: Host, wanted: list) -> dict:
        for kind in wanted:
            device = next(
                (
                    d
                    for d in self.state.devices.values()
                    if d["type"] == kind and d["pooled_group_id"] == FREE_GROUP
                ),
                None,
            )
            if device is None:
                # NOTE: as Valence HEAD, the devices attached so far stay
                # attached to the EESV (no rollback).
                self.state.save()
                raise expether_error(404, DEVICE_NOT_AVAILABLE)
            self._attach(device, host)
        node = self._record(name, podm_id, host)
        self.state.save()
        LOG.info(
            "Composed node %s (%s) on %s with %s",
            node["uuid"],
            name,
            host.eesv_id,
            ", ".join(str(k) for k in wanted) or "no device",
        )
        return {k: node[k] for k in ("index", "name", "resource_uri", "uuid")}

    def _record(self, name: str, podm_id: str, host: Host) -> dict:
        stamp = state_mod.now()
        node = {
            "uuid": str(uuidlib.uuid4()),
            "name": name,
            "podm_id": podm_id,
            "index": host.eesv_id,
            "resource_uri": f"devices/{host.eesv_id}",
            "system_id": host.system.id,
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.state.nodes[node["uuid"]] = node
        return node

    def detail(self, node: dict) -> dict:
        host = self.host(node["index"])
        detail = {
            "description": BOARD_DESCRIPTION,
            "host_model": host.host_model,
            "host_serial_number": host.host_serial_number,
            "index": host.eesv_id,
            "mac_address": host.mac,
            "name": host.eesv_id,
            "pooled_group_id": host.pooled_group_id,
            # The EESV board's power, not the server's (that is Redfish's).
            "power_state": "on",
            "resource_uri": f"devices/{host.eesv_id}",
            "serial_number": host.serial_number,
            "type": BOARD_TYPE,
        }
        return state_mod.with_record(detail, node)

    def release(self, node_id: str) -> dict:
        """Detach every device of the node's EESV (even one another node
        with the same index, or a failed compose, attached)."""
        with self.state.lock:
            node = self.state.get_node(node_id)
            for device in self.state.devices.values():
                if device["node_id"] == node["index"]:
                    self._detach(device)
            del self.state.nodes[node_id]
            self.state.save()
        LOG.info("Released node %s (%s) on %s", node_id, node["name"], node["index"])
        return node

    def action(self, node: dict, body: dict) -> None:
        action = next(iter(body))
        if action not in ("attach", "detach"):
            raise expether_error(400, f"Unsupported action: {action}")
        uuid = body[action]["resource_id"]
        with self.state.lock:
            device = self.get_device(uuid)
            if action == "attach":
                if device["state"] == "allocated":
                    raise expether_error(
                        400,
                        f"Device {uuid} already assigned to a different node: "
                        f"{device['node_id']}",
                    )
                self._attach(device, self.host(node["index"]))
            else:
                if device["node_id"] != node["index"]:
                    raise expether_error(
                        400, f"Device {uuid} is not attached to node {node['index']}"
                    )
                self._detach(device)
            self.state.save()

    def manage(self, podm_id: str, index: str) -> dict:
        with self.state.lock:
            self.state.get_pod_manager(podm_id)
            if any(n["index"] == index for n in self.state.nodes.values()):
                raise state_mod.ValenceError(
                    409,
                    "Conflict",
                    "Resource Already Exists",
                    f"Node '{index}' already managed by Valence",
                )
            if index not in self._hosts:
                raise expether_error(404, f"Device {index} not found")
            node = self._record(index, podm_id, self._hosts[index])
            self.state.save()
        return {k: node[k] for k in ("index", "name", "resource_uri", "uuid")}

    @staticmethod
    def register_params(detail: dict, pod_manager: dict, request: dict):
        """What the expether driver asks Ironic for: (node, port).

        The BMC is not Valence's to know: ``driver_info`` must come in the
        request; ``driver`` defaults to ``pxe_ipmitool`` as in Valence.
        """
        if "driver_info" not in request:
            raise state_mod.ValenceError(
                500,
                "Internal Server Error",
                "An unknown exception occured",
                "Unexpected error while registering node with Ironic: "
                "driver_info is required to register an ExpEther node",
            )
        if not request.get("mac"):
            # NOTE: Valence HEAD reads an unset local when no mac is given.
            raise state_mod.ValenceError(
                500,
                "UnboundLocalError",
                "UnboundLocalError",
                "cannot access local variable 'port_args' where it is not "
                "associated with a value",
            )
        node = {"driver": "pxe_ipmitool", "name": detail["name"]}
        node.update({k: v for k, v in request.items() if k != "mac"})
        return node, {"address": request["mac"]}

    def host_entries(self) -> list[dict]:
        return [
            {
                "eesv": h.eesv_id,
                "mac": h.mac,
                "serial_number": h.serial_number,
                "host_serial_number": h.host_serial_number,
                "host_model": h.host_model,
                "pooled_group_id": h.pooled_group_id,
                "system": h.system.id,
                "redfish_system_id": h.system.path,
            }
            for h in self.hosts
        ]
