"""The disaggregated pod: resource blocks in zones, and how a constrained
composition request is matched against the free ones.

Every Compute block is a whole server board (its own processors, memory
and one NIC) whose BMC is one sushy-tools fake system; the other blocks
(Processor, Memory, Storage, Network) are pooled parts that a composed
system may add. Blocks can be composed together only within one zone.
"""

import dataclasses
import uuid as uuidlib

_NAMESPACE = uuidlib.UUID("0b7e4d1c-5a8f-4e26-9c3d-7f1a2b6c8d40")

GIB = 1024**3
COMPUTE = "Compute"
PROCESSOR = "Processor"
MEMORY = "Memory"
STORAGE = "Storage"
NETWORK = "Network"
BLOCK_TYPES = (COMPUTE, PROCESSOR, MEMORY, STORAGE, NETWORK)


@dataclasses.dataclass(frozen=True)
class Processor:
    cores: int
    model: str = "Intel Xeon Silver 4208"
    type: str = "CPU"
    speed_mhz: int = 2100


@dataclasses.dataclass(frozen=True)
class Dimm:
    capacity_mib: int
    type: str = "DRAM"


@dataclasses.dataclass(frozen=True)
class Drive:
    capacity_bytes: int
    media: str = "SSD"


@dataclasses.dataclass(frozen=True)
class Nic:
    mac: str
    speed_mbps: int = 10000


@dataclasses.dataclass(frozen=True)
class Block:
    """A resource block; only Compute blocks have a ``bmc_uuid``."""

    id: str
    type: str
    zones: tuple[str, ...]
    processors: tuple[Processor, ...] = ()
    memory: tuple[Dimm, ...] = ()
    drives: tuple[Drive, ...] = ()
    nics: tuple[Nic, ...] = ()
    bmc_uuid: str | None = None


@dataclasses.dataclass(frozen=True)
class Pod:
    blocks: tuple[Block, ...]
    zones: tuple[str, ...]

    def block(self, block_id: str) -> Block:
        for block in self.blocks:
            if block.id == block_id:
                return block
        raise KeyError(block_id)

    @property
    def computes(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.type == COMPUTE)


def _mac(kind: int, index: int) -> str:
    return f"52:54:01:{kind:02x}:{(index >> 8) & 0xFF:02x}:{index & 0xFF:02x}"


def uniform(computes: int, zones: int = 2) -> Pod:
    """``computes`` Compute blocks spread over ``zones`` zones; each zone also
    gets, per Compute block, one Processor, one Memory, two Storage and one
    Network block, so that every board can grow within its zone.

    A Compute block: 2 CPUs x 8 cores, 4 x 16 GiB DIMMs (64 GiB), one 10 GbE
    NIC. A Processor block: 2 CPUs x 16 cores. A Memory block: 4 x 32 GiB.
    Storage blocks: one 480 GB or one 1.92 TB drive. A Network block: one
    25 GbE NIC.
    """
    if computes < 1:
        raise ValueError("a pod needs at least one Compute block")
    if zones < 1:
        raise ValueError("a pod needs at least one zone")
    zones = min(zones, computes)
    zone_ids = tuple(str(z) for z in range(1, zones + 1))
    blocks = []
    counters = dict.fromkeys(BLOCK_TYPES, 0)

    def add(kind: str, zone: str, **parts) -> None:
        counters[kind] += 1
        blocks.append(
            Block(id=f"{kind}Block{counters[kind]}", type=kind, zones=(zone,), **parts)
        )

    for i in range(computes):
        zone = zone_ids[i % zones]
        n = i + 1
        bmc_uuid = str(uuidlib.uuid5(_NAMESPACE, f"ComputeBlock{n}"))
        add(
            COMPUTE,
            zone,
            processors=(Processor(8), Processor(8)),
            memory=(Dimm(16384),) * 4,
            nics=(Nic(_mac(1, n)),),
            bmc_uuid=bmc_uuid,
        )
        add(
            PROCESSOR,
            zone,
            processors=(Processor(16, "Intel Xeon Gold 6226R"),) * 2,
        )
        add(MEMORY, zone, memory=(Dimm(32768),) * 4)
        add(STORAGE, zone, drives=(Drive(480 * 10**9),))
        add(STORAGE, zone, drives=(Drive(1920 * 10**9),))
        add(NETWORK, zone, nics=(Nic(_mac(2, n), 25000),))
    return Pod(blocks=tuple(blocks), zones=zone_ids)


# -- constrained composition ------------------------------------------------------

# A requirement: (kind, count, predicate over one part of that kind, where)
# where ``kind`` says which blocks hold such parts and ``where`` names the
# request property for error messages.


@dataclasses.dataclass
class Requirement:
    part: str  # "processors" | "memory" | "drives" | "nics"
    count: int
    fits: object  # callable(part) -> bool
    where: str


PART_BLOCK_TYPE = {
    "processors": PROCESSOR,
    "memory": MEMORY,
    "drives": STORAGE,
    "nics": NETWORK,
}


def plan(
    pod: Pod,
    free: set[str],
    requirements: list[Requirement],
    zone: str | None = None,
) -> list[str] | None:
    """Free blocks of one zone meeting every requirement, a Compute block
    first; None when no zone can. Smallest additions first, so that big
    blocks stay for big asks; each part serves one requirement only."""
    zones = [zone] if zone is not None else list(pod.zones)
    for zone_id in zones:
        in_zone = [b for b in pod.blocks if b.id in free and zone_id in b.zones]
        for compute in (b for b in in_zone if b.type == COMPUTE):
            chosen = _grow(compute, in_zone, requirements)
            if chosen is not None:
                return chosen
    return None


def _grow(
    compute: Block, in_zone: list[Block], requirements: list[Requirement]
) -> list[str] | None:
    chosen = [compute]
    used: set[tuple[str, int, str]] = set()  # (block id, index, part)
    for req in requirements:
        need = req.count
        need -= _take(chosen, req, used, need)
        if need <= 0:
            continue
        extra = [
            b
            for b in in_zone
            if b.type == PART_BLOCK_TYPE[req.part] and b not in chosen
        ]
        extra.sort(key=lambda b: (len(getattr(b, req.part)), _size(b, req.part)))
        for block in extra:
            if not any(req.fits(p) for p in getattr(block, req.part)):
                continue
            chosen.append(block)
            need -= _take([block], req, used, need)
            if need <= 0:
                break
        if need > 0:
            return None
    return [b.id for b in chosen]


def _take(blocks: list[Block], req: Requirement, used: set, need: int) -> int:
    taken = 0
    for block in blocks:
        for index, part in enumerate(getattr(block, req.part)):
            key = (block.id, index, req.part)
            if taken >= need:
                return taken
            if key not in used and req.fits(part):
                used.add(key)
                taken += 1
    return taken


def _size(block: Block, part: str) -> int:
    sizes = {
        "processors": lambda p: p.cores,
        "memory": lambda d: d.capacity_mib,
        "drives": lambda d: d.capacity_bytes,
        "nics": lambda n: n.speed_mbps,
    }
    return sum(sizes[part](p) for p in getattr(block, part))
