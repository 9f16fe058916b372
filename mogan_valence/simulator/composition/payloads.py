"""The JSON documents the simulator serves for its own resources."""

from mogan_valence.simulator.composition import pod as pod_mod
from mogan_valence.simulator.composition import requests as req_mod
from mogan_valence.simulator.composition import state as state_mod

V1 = "/redfish/v1"
CS = f"{V1}/CompositionService"
BLOCKS = f"{CS}/ResourceBlocks"
ZONES = f"{CS}/ResourceZones"
RESERVATIONS = f"{CS}/CompositionReservations"
SYSTEMS = f"{V1}/Systems"
SPECIFIC_CAPS = f"{SYSTEMS}/Capabilities"
CONSTRAINED_CAPS = f"{SYSTEMS}/ConstrainedCompositionCapabilities"
OK = {"State": "Enabled", "Health": "OK"}

# The collection a block's parts live in, and the schema of one part.
PARTS = {
    "Processors": ("processors", "#Processor.v1_18_0.Processor"),
    "Memory": ("memory", "#Memory.v1_19_0.Memory"),
    "Drives": ("drives", "#Drive.v1_17_0.Drive"),
    "EthernetInterfaces": ("nics", "#EthernetInterface.v1_10_0.EthernetInterface"),
}


_SINGULAR = {
    "Processors": "processor",
    "Memory": "DIMM",
    "Drives": "drive",
    "EthernetInterfaces": "NIC",
}


def ref(uri: str) -> dict:
    return {"@odata.id": uri}


def collection(uri: str, odata_type: str, name: str, members: list[str]) -> dict:
    return {
        "@odata.id": uri,
        "@odata.type": f"#{odata_type}.{odata_type}",
        "Name": name,
        "Members": [ref(m) for m in members],
        "Members@odata.count": len(members),
    }


def block_parts(block: pod_mod.Block) -> dict[str, list[str]]:
    uris = {}
    for collection_name, (attr, _) in PARTS.items():
        uris[collection_name] = [
            f"{BLOCKS}/{block.id}/{collection_name}/{n}"
            for n in range(1, len(getattr(block, attr)) + 1)
        ]
    return uris


def block(b: pod_mod.Block, st: state_mod.BlockState) -> dict:
    body = {
        "@odata.id": f"{BLOCKS}/{b.id}",
        "@odata.type": "#ResourceBlock.v1_4_3.ResourceBlock",
        "Id": b.id,
        "Name": f"{b.type} resource block {b.id}",
        "ResourceBlockType": [b.type],
        "Status": {
            "State": "Enabled",
            "Health": "OK" if st.state != "Failed" else "Critical",
        },
        "CompositionStatus": {
            "CompositionState": st.state,
            "Reserved": st.reservation is not None,
            "SharingCapable": False,
        },
        "Pool": "Free" if st.state == state_mod.UNUSED else "Active",
        "Links": {
            "Zones": [ref(f"{ZONES}/{z}") for z in b.zones],
            "ComputerSystems": [ref(f"{SYSTEMS}/{st.system}")] if st.system else [],
            "Chassis": [],
        },
    }
    for name, uris in block_parts(b).items():
        body[name] = [ref(u) for u in uris]
    return body


def part(b: pod_mod.Block, collection_name: str, n: int) -> dict | None:
    attr, odata_type = PARTS[collection_name]
    items = getattr(b, attr)
    if not 1 <= n <= len(items):
        return None
    item = items[n - 1]
    body = {
        "@odata.id": f"{BLOCKS}/{b.id}/{collection_name}/{n}",
        "@odata.type": odata_type,
        "Id": str(n),
        "Name": f"{b.id} {_SINGULAR[collection_name]} {n}",
        "Status": OK,
    }
    if attr == "processors":
        body.update(
            ProcessorType=item.type,
            Model=item.model,
            TotalCores=item.cores,
            TotalThreads=item.cores * 2,
            MaxSpeedMHz=item.speed_mhz,
            InstructionSet="x86-64",
            ProcessorArchitecture="x86",
        )
    elif attr == "memory":
        body.update(MemoryType=item.type, CapacityMiB=item.capacity_mib)
    elif attr == "drives":
        body.update(
            CapacityBytes=item.capacity_bytes, MediaType=item.media, Protocol="NVMe"
        )
    else:
        body.update(
            MACAddress=item.mac,
            PermanentMACAddress=item.mac,
            SpeedMbps=item.speed_mbps,
            LinkStatus="LinkUp",
            InterfaceEnabled=True,
        )
    return body


def zone(pod: pod_mod.Pod, zone_id: str) -> dict:
    return {
        "@odata.id": f"{ZONES}/{zone_id}",
        "@odata.type": "#Zone.v1_6_1.Zone",
        "Id": zone_id,
        "Name": f"Resource zone {zone_id}",
        "ZoneType": "ZoneOfResourceBlocks",
        "Status": OK,
        "Links": {
            "ResourceBlocks": [
                ref(f"{BLOCKS}/{b.id}") for b in pod.blocks if zone_id in b.zones
            ]
        },
    }


def collection_capabilities(pod: pod_mod.Pod, forms: tuple[str, ...]) -> dict:
    use_cases = {
        req_mod.SPECIFIC: ("ComputerSystemComposition", SPECIFIC_CAPS),
        req_mod.CONSTRAINED: ("ComputerSystemConstrainedComposition", CONSTRAINED_CAPS),
    }
    return {
        "@odata.type": "#CollectionCapabilities.v1_4_1.CollectionCapabilities",
        "Capabilities": [
            {
                "UseCase": use_cases[form][0],
                "CapabilitiesObject": ref(use_cases[form][1]),
                "Links": {
                    "TargetCollection": ref(SYSTEMS),
                    "RelatedItem": [ref(f"{ZONES}/{z}") for z in pod.zones],
                },
            }
            for form in req_mod.FORMS
            if form in forms
        ],
    }


LIMITS = {"MinCompute": 1, "MaxCompute": 1}


def specific_capabilities() -> dict:
    return {
        "@odata.id": SPECIFIC_CAPS,
        "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
        "Id": "Capabilities",
        "Name": "Specific composition of a computer system",
        "Name@Redfish.RequiredOnCreate": True,
        "Name@Redfish.SetOnlyOnCreate": True,
        "Description@Redfish.OptionalOnCreate": True,
        "HostName@Redfish.OptionalOnCreate": True,
        "Boot": {
            "BootSourceOverrideEnabled@Redfish.OptionalOnCreate": True,
            "BootSourceOverrideTarget@Redfish.OptionalOnCreate": True,
        },
        "Links": {
            "ResourceBlocks@Redfish.RequiredOnCreate": True,
            "ResourceBlocks@Redfish.UpdatableAfterCreate": False,
            "@Redfish.ResourceBlockLimits": LIMITS,
        },
    }


def constrained_capabilities() -> dict:
    opt = "@Redfish.OptionalOnCreate"
    req = "@Redfish.RequiredOnCreate"
    count = {"@Redfish.RequestedCountRequired": True}
    return {
        "@odata.id": CONSTRAINED_CAPS,
        "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
        "Id": "ConstrainedCompositionCapabilities",
        "Name": "Constrained composition of a computer system",
        f"Name{req}": True,
        "Name@Redfish.SetOnlyOnCreate": True,
        f"Description{opt}": True,
        f"HostName{opt}": True,
        "@Redfish.ZoneAffinity@Redfish.OptionalOnCreate": True,
        "@Redfish.ResourceBlockLimits": LIMITS,
        "Processors": {
            f"Members{opt}": True,
            "Members": [
                {
                    **count,
                    f"TotalCores{opt}": True,
                    f"ProcessorType{opt}": True,
                    f"Model{opt}": True,
                }
            ],
        },
        "Memory": {
            f"Members{opt}": True,
            "Members": [{**count, f"CapacityMiB{opt}": True, f"MemoryType{opt}": True}],
        },
        "Storage": {
            f"Members{opt}": True,
            "Members": [
                {
                    **count,
                    "Drives": [
                        {**count, f"CapacityBytes{opt}": True, f"MediaType{opt}": True}
                    ],
                }
            ],
        },
        "SimpleStorage": {
            f"Members{opt}": True,
            "Members": [{**count, "Devices": [{**count, f"CapacityBytes{opt}": True}]}],
        },
        "EthernetInterfaces": {
            f"Members{opt}": True,
            "Members": [{**count, f"SpeedMbps{opt}": True}],
        },
    }


def composed_summary(pod: pod_mod.Pod, block_ids: list[str]) -> dict:
    """What a composed system of these blocks has: summaries and the URIs
    of its parts (which live in the blocks)."""
    blocks = [pod.block(b) for b in block_ids]
    processors = [p for b in blocks for p in b.processors]
    mib = sum(d.capacity_mib for b in blocks for d in b.memory)
    return {
        "ProcessorSummary": {
            "Count": len(processors),
            "CoreCount": sum(p.cores for p in processors),
            "Model": processors[0].model if processors else None,
            "Status": OK,
        },
        "MemorySummary": {
            "TotalSystemMemoryGiB": mib / 1024,
            "Status": OK,
        },
        "Links": {"ResourceBlocks": [ref(f"{BLOCKS}/{b}") for b in block_ids]},
    }


def composed_parts(pod: pod_mod.Pod, block_ids: list[str], name: str) -> list[str]:
    return [u for b in block_ids for u in block_parts(pod.block(b))[name]]
