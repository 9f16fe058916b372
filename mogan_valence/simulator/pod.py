"""The simulated pod: computer systems, a pool of drives, a pool of PCIe
devices.

A pod file is JSON::

    {"systems": [{"id": "System1", "cpu_model": "Intel Xeon Gold 6148",
                  "cpu_cores": 20, "ram_mib": 65536, "ram_type": "DDR4",
                  "pci_devices": ["NIC"],
                  "nics": [{"mac": "52:54:00:00:01:01", "speed_mbps": 10000}],
                  "eesv_id": "0x8cdf9d53a001", "serial_number": "...",
                  "host_serial_number": "...", "host_model": "..."}],
     "drives": [{"id": "Drive1", "capacity_gib": 480, "type": "SSD"}],
     "devices": [{"id": "0x8cdf9d53b001", "type": "GPU", "model": "..."}]}

``uuid`` and NIC MACs may be omitted; they are derived from the ids so that
the same pod file always gives the same identities. ``drives`` serve the RSD
backend, ``devices`` (the ExpEther pool) and the ``eesv_id``/serial/model
keys the ExpEther backend; each backend ignores the other's keys.
"""

import dataclasses
import json
import uuid as uuidlib

_NAMESPACE = uuidlib.UUID("6c1f4f9a-3b0e-4a53-9d4e-5a2b1f0c7e11")


class PodFileError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Nic:
    mac: str
    speed_mbps: int = 10000


@dataclasses.dataclass(frozen=True)
class System:
    id: str
    uuid: str
    cpu_model: str
    cpu_cores: int
    ram_mib: int
    ram_type: str
    nics: tuple[Nic, ...]
    pci_devices: tuple[str, ...] = ("NIC",)
    # ExpEther: the host's EESV board and the server itself; None means
    # derived from the system's position in the pod (see expether.py).
    eesv_id: str | None = None
    serial_number: str | None = None
    host_serial_number: str | None = None
    host_model: str | None = None

    @property
    def path(self) -> str:
        """The Redfish path of this system (what Ironic's redfish driver needs)."""
        return f"/redfish/v1/Systems/{self.uuid}"


@dataclasses.dataclass(frozen=True)
class Drive:
    id: str
    capacity_gib: int
    type: str


@dataclasses.dataclass(frozen=True)
class PciDevice:
    """A PCIe device of the ExpEther pool (an EEIO unit and its card)."""

    type: str
    id: str | None = None
    model: str | None = None


@dataclasses.dataclass(frozen=True)
class Pod:
    systems: tuple[System, ...]
    drives: tuple[Drive, ...]
    # None: the ExpEther backend's default pool for this many systems.
    devices: tuple[PciDevice, ...] | None = None

    def system(self, system_id: str) -> System:
        for system in self.systems:
            if system.id == system_id:
                return system
        raise KeyError(system_id)

    def drive(self, drive_id: str) -> Drive:
        for drive in self.drives:
            if drive.id == drive_id:
                return drive
        raise KeyError(drive_id)


def _mac(index: int, nic: int) -> str:
    return f"52:54:00:{(index >> 8) & 0xFF:02x}:{index & 0xFF:02x}:{nic:02x}"


def uniform(count: int) -> Pod:
    """A pod of ``count`` identical systems and two drives per system."""
    if count < 1:
        raise PodFileError("a pod needs at least one system")
    systems = tuple(
        System(
            id=f"System{i}",
            uuid=str(uuidlib.uuid5(_NAMESPACE, f"System{i}")),
            cpu_model="Intel Xeon Gold 6148",
            cpu_cores=40,
            ram_mib=262144,
            ram_type="DDR4",
            nics=(Nic(_mac(i, 1)), Nic(_mac(i, 2))),
        )
        for i in range(1, count + 1)
    )
    drives = []
    for i in range(1, count + 1):
        drives.append(Drive(id=f"Drive{2 * i - 1}", capacity_gib=960, type="SSD"))
        drives.append(Drive(id=f"Drive{2 * i}", capacity_gib=4000, type="HDD"))
    return Pod(systems=systems, drives=tuple(drives))


def _positive_int(where: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise PodFileError(f"{where} must be a positive integer, not {value!r}")
    return value


def from_dict(data: dict) -> Pod:
    if not isinstance(data, dict) or not isinstance(data.get("systems"), list):
        raise PodFileError("a pod file is an object with a 'systems' list")
    systems = []
    seen = set()
    for n, raw in enumerate(data["systems"]):
        where = f"systems[{n}]"
        if not isinstance(raw, dict) or not raw.get("id"):
            raise PodFileError(f"{where} needs an 'id'")
        if raw["id"] in seen:
            raise PodFileError(f"{where}: duplicate id {raw['id']!r}")
        seen.add(raw["id"])
        nics = raw.get("nics") or [{}]
        systems.append(
            System(
                id=str(raw["id"]),
                uuid=str(raw.get("uuid") or uuidlib.uuid5(_NAMESPACE, str(raw["id"]))),
                cpu_model=str(raw.get("cpu_model", "Intel Xeon")),
                cpu_cores=_positive_int(f"{where}.cpu_cores", raw.get("cpu_cores", 8)),
                ram_mib=_positive_int(f"{where}.ram_mib", raw.get("ram_mib", 16384)),
                ram_type=str(raw.get("ram_type", "DDR4")),
                nics=tuple(
                    Nic(
                        mac=str(nic.get("mac") or _mac(n + 1, k + 1)).lower(),
                        speed_mbps=_positive_int(
                            f"{where}.nics[{k}].speed_mbps",
                            nic.get("speed_mbps", 10000),
                        ),
                    )
                    for k, nic in enumerate(nics)
                ),
                pci_devices=tuple(raw.get("pci_devices", ["NIC"])),
                **_optional_strings(
                    raw,
                    ("eesv_id", "serial_number", "host_serial_number", "host_model"),
                ),
            )
        )
    drives = []
    for n, raw in enumerate(data.get("drives", [])):
        where = f"drives[{n}]"
        if not isinstance(raw, dict) or not raw.get("id"):
            raise PodFileError(f"{where} needs an 'id'")
        drives.append(
            Drive(
                id=str(raw["id"]),
                capacity_gib=_positive_int(
                    f"{where}.capacity_gib", raw.get("capacity_gib")
                ),
                type=str(raw.get("type", "SSD")),
            )
        )
    if not systems:
        raise PodFileError("a pod needs at least one system")
    eesv_ids = [s.eesv_id for s in systems if s.eesv_id]
    if len(eesv_ids) != len(set(eesv_ids)):
        raise PodFileError("systems: duplicate eesv_id")
    return Pod(systems=tuple(systems), drives=tuple(drives), devices=_devices(data))


def _optional_strings(raw: dict, keys: tuple[str, ...]) -> dict:
    return {k: str(raw[k]) for k in keys if raw.get(k) is not None}


def _devices(data: dict) -> tuple[PciDevice, ...] | None:
    if "devices" not in data:
        return None
    if not isinstance(data["devices"], list):
        raise PodFileError("'devices' must be a list")
    devices = []
    seen = set()
    for n, raw in enumerate(data["devices"]):
        where = f"devices[{n}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise PodFileError(f"{where} needs a 'type' (NIC, SSD, GPU, ...)")
        device = PciDevice(
            type=raw["type"],
            **_optional_strings(raw, ("id", "model")),
        )
        if device.id is not None:
            if device.id in seen:
                raise PodFileError(f"{where}: duplicate id {device.id!r}")
            seen.add(device.id)
        devices.append(device)
    return tuple(devices)


def load(path: str) -> Pod:
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise PodFileError(f"cannot read pod file {path}: {e}") from e
    return from_dict(data)


# -- matching a Valence request against the pod --------------------------------


def _int(value) -> int:
    return int(str(value))


def system_fits(system: System, requirements: dict) -> bool:
    """Whether ``system`` satisfies processor, memory and pci requirements.

    ``requirements`` is Valence's string-valued ``properties``.
    """
    processor = requirements.get("processor") or {}
    memory = requirements.get("memory") or {}
    pci = (requirements.get("pci_device") or {}).get("type") or []
    if "total_cores" in processor and _int(processor["total_cores"]) > system.cpu_cores:
        return False
    if (
        "model" in processor
        and processor["model"].lower() not in system.cpu_model.lower()
    ):
        return False
    if "capacity_mib" in memory and _int(memory["capacity_mib"]) > system.ram_mib:
        return False
    if "type" in memory and memory["type"].upper() != system.ram_type.upper():
        return False
    return all(kind in system.pci_devices for kind in pci)


def pick_drives(
    pod: Pod, free_drive_ids: set[str], wanted: list[dict]
) -> list[str] | None:
    """Free drives satisfying each ``local_drives`` entry, or None."""
    chosen: list[str] = []
    # Smallest fitting drive first, so that big drives stay for big asks.
    candidates = sorted(
        (pod.drive(d) for d in free_drive_ids), key=lambda d: (d.capacity_gib, d.id)
    )
    for want in wanted:
        size = _int(want.get("capacity_gib", 1))
        kind = want.get("type")
        for drive in candidates:
            if drive.id in chosen:
                continue
            if drive.capacity_gib >= size and (
                kind is None or kind.upper() == drive.type.upper()
            ):
                chosen.append(drive.id)
                break
        else:
            return None
    return chosen
