"""Parsing a ComputerSystem composition request (specific or constrained)
into what the pod can plan with; every error names the property at fault."""

import dataclasses

from mogan_valence.simulator.composition import errors
from mogan_valence.simulator.composition import pod as pod_mod

BLOCKS_PREFIX = "/redfish/v1/CompositionService/ResourceBlocks/"
SPECIFIC = "specific"
CONSTRAINED = "constrained"
FORMS = (SPECIFIC, CONSTRAINED)
CONSTRAINED_KEYS = (
    "Processors",
    "Memory",
    "Storage",
    "SimpleStorage",
    "EthernetInterfaces",
)
COUNT = "@Redfish.RequestedCount"


@dataclasses.dataclass
class Request:
    name: str
    form: str
    block_ids: list[str] = dataclasses.field(default_factory=list)
    requirements: list[pod_mod.Requirement] = dataclasses.field(default_factory=list)
    zone: str | None = None
    # Optional properties kept on the composed system.
    extra: dict = dataclasses.field(default_factory=dict)


def parse(body, pod: pod_mod.Pod, forms: tuple[str, ...], where: str = "") -> Request:
    """:param where: a prefix for property paths (a manifest stanza's)."""
    if not isinstance(body, dict):
        raise errors.malformed(f"{where or 'the body'} must be a JSON object")
    name = body.get("Name")
    if name is None:
        raise errors.missing(f"{where}Name")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_value(f"{where}Name", name, "a non-empty string")
    extra = {k: body[k] for k in ("Description", "HostName") if k in body}
    if "Boot" in body:
        if not isinstance(body["Boot"], dict):
            raise errors.bad_value(f"{where}Boot", body["Boot"], "an object")
        extra["Boot"] = body["Boot"]
    links = body.get("Links")
    if links is not None and not isinstance(links, dict):
        raise errors.bad_value(f"{where}Links", links, "an object")
    specific = links is not None and "ResourceBlocks" in links
    constrained = any(k in body for k in CONSTRAINED_KEYS) or (
        "@Redfish.ZoneAffinity" in body
    )
    if specific and constrained:
        raise errors.bad_value(
            f"{where}Links/ResourceBlocks",
            links["ResourceBlocks"],
            "a request is either specific (Links.ResourceBlocks) or "
            "constrained (@Redfish.RequestedCount), not both",
        )
    form = SPECIFIC if specific else CONSTRAINED
    if form not in forms:
        if form == SPECIFIC:
            prop, what = "Links/ResourceBlocks", "specific composition"
        else:
            prop = next((k for k in CONSTRAINED_KEYS if k in body), "Links")
            what = "constrained composition"
            if prop == "Links":
                # Neither form's properties: name what the advertised form needs.
                raise errors.missing(f"{where}Links/ResourceBlocks")
        raise errors.RedfishError(
            400,
            "PropertyNotWritable",
            f"The property {where}{prop} cannot be set: this service does not "
            f"offer {what} (see @Redfish.CollectionCapabilities).",
            prop=f"#/{where}{prop}",
        )
    request = Request(name=name, form=form, extra=extra)
    if form == SPECIFIC:
        request.block_ids = _block_ids(links["ResourceBlocks"], pod, where)
    else:
        request.requirements = _requirements(body, where)
        zone = body.get("@Redfish.ZoneAffinity")
        if zone is not None:
            if not isinstance(zone, str) or zone not in pod.zones:
                raise errors.bad_value(
                    f"{where}@Redfish.ZoneAffinity",
                    zone,
                    f"one of the zones {', '.join(pod.zones)}",
                )
            request.zone = zone
    return request


def _block_ids(refs, pod: pod_mod.Pod, where: str) -> list[str]:
    prop = f"{where}Links/ResourceBlocks"
    if not isinstance(refs, list) or not refs:
        raise errors.bad_value(prop, refs, "a non-empty list of references")
    ids = []
    for n, ref in enumerate(refs):
        uri = ref.get("@odata.id") if isinstance(ref, dict) else None
        if not isinstance(uri, str):
            raise errors.bad_value(f"{prop}/{n}", ref, 'an {"@odata.id": ...} object')
        block_id = uri.rstrip("/").removeprefix(BLOCKS_PREFIX)
        try:
            pod.block(block_id)
        except KeyError:
            raise errors.RedfishError(
                400,
                "ResourceNotFound",
                f"The resource block {uri} in {prop}/{n} does not exist.",
                prop=f"#/{prop}/{n}",
            ) from None
        if block_id in ids:
            raise errors.bad_value(f"{prop}/{n}", uri, "listed twice")
        ids.append(block_id)
    computes = [i for i in ids if pod.block(i).type == pod_mod.COMPUTE]
    if len(computes) != 1:
        raise errors.bad_value(
            prop,
            [f"{BLOCKS_PREFIX}{i}" for i in ids],
            f"a composed system needs exactly one Compute block, not "
            f"{len(computes)} (@Redfish.ResourceBlockLimits)",
        )
    shared = set.intersection(*(set(pod.block(i).zones) for i in ids))
    if not shared:
        raise errors.bad_value(
            prop,
            [f"{BLOCKS_PREFIX}{i}" for i in ids],
            "the resource blocks do not share a resource zone",
        )
    return ids


def _count(member, prop: str) -> int:
    if not isinstance(member, dict):
        raise errors.bad_value(prop, member, "an object")
    if COUNT not in member:
        raise errors.missing(f"{prop}/{COUNT}")
    count = member[COUNT]
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise errors.bad_value(f"{prop}/{COUNT}", count, "a positive integer")
    return count


def _number(member: dict, key: str, prop: str) -> int | None:
    value = member.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.bad_value(f"{prop}/{key}", value, "a non-negative integer")
    return value


def _text(member: dict, key: str, prop: str) -> str | None:
    value = member.get(key)
    if value is not None and not isinstance(value, str):
        raise errors.bad_value(f"{prop}/{key}", value, "a string")
    return value


def _members(body: dict, key: str, where: str) -> list[tuple[dict, str]]:
    if key not in body:
        return []
    section = body[key]
    prop = f"{where}{key}/Members"
    if not isinstance(section, dict) or not isinstance(section.get("Members"), list):
        raise errors.bad_value(f"{where}{key}", section, 'an object with "Members": []')
    return [(m, f"{prop}/{n}") for n, m in enumerate(section["Members"])]


def _requirements(body: dict, where: str) -> list[pod_mod.Requirement]:
    reqs = []
    for member, prop in _members(body, "Processors", where):
        count = _count(member, prop)
        cores = _number(member, "TotalCores", prop) or 0
        kind = _text(member, "ProcessorType", prop)
        model = _text(member, "Model", prop)

        def cpu_fits(p, cores=cores, kind=kind, model=model):
            return (
                p.cores >= cores
                and (kind is None or kind.lower() == p.type.lower())
                and (model is None or model.lower() in p.model.lower())
            )

        reqs.append(pod_mod.Requirement("processors", count, cpu_fits, prop))
    for member, prop in _members(body, "Memory", where):
        count = _count(member, prop)
        mib = _number(member, "CapacityMiB", prop) or 0
        kind = _text(member, "MemoryType", prop)

        def dimm_fits(d, mib=mib, kind=kind):
            return d.capacity_mib >= mib and (
                kind is None or kind.lower() == d.type.lower()
            )

        reqs.append(pod_mod.Requirement("memory", count, dimm_fits, prop))
    for key, drives_key in (("Storage", "Drives"), ("SimpleStorage", "Devices")):
        for member, prop in _members(body, key, where):
            controllers = _count(member, prop)
            drives = member.get(drives_key, [{COUNT: 1}])
            if not isinstance(drives, list):
                raise errors.bad_value(f"{prop}/{drives_key}", drives, "a list")
            for n, drive in enumerate(drives):
                dprop = f"{prop}/{drives_key}/{n}"
                count = _count(drive, dprop) * controllers
                size = _number(drive, "CapacityBytes", dprop) or 0
                media = _text(drive, "MediaType", dprop)

                def drive_fits(d, size=size, media=media):
                    return d.capacity_bytes >= size and (
                        media is None or media.lower() == d.media.lower()
                    )

                reqs.append(pod_mod.Requirement("drives", count, drive_fits, dprop))
    for member, prop in _members(body, "EthernetInterfaces", where):
        count = _count(member, prop)
        speed = _number(member, "SpeedMbps", prop) or 0
        reqs.append(
            pod_mod.Requirement(
                "nics", count, lambda nic, speed=speed: nic.speed_mbps >= speed, prop
            )
        )
    return reqs
