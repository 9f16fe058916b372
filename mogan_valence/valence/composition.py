"""A flavor's ``composition`` and the Valence request it becomes.

Two forms (ARCHITECTURE section 5):

- ``{"valence_flavor": "<uuid>"}``: compose from a flavor defined in Valence;
- inline: ``cpu_cores``, ``cpu_model``, ``ram_mib``, ``ram_type``, ``disk_gb``,
  ``disk_type``, ``pci_devices``; Valence wants every value as a string, and
  disks go through the RSD 2.x ``local_drives`` extension.

Either form may name the pod manager with ``podm_id``; otherwise
``[valence] podm_id`` is used. ``validate`` names the first bad key it finds.
"""

from typing import Any

from oslo_utils import uuidutils

from mogan_valence.valence import exceptions

VALENCE_FLAVOR = "valence_flavor"
PODM_ID = "podm_id"

# key -> (type, lowest, highest): the highest values are far beyond any pod
# and only catch typos such as a size in bytes.
_INTEGERS = {
    "cpu_cores": (1, 4096),
    "ram_mib": (1, 64 * 1024 * 1024),
    "disk_gb": (1, 1_000_000),
}
_STRINGS = {"cpu_model", "ram_type"}
DISK_TYPES = ("HDD", "SSD")
MAX_PCI_DEVICES = 16
INLINE_KEYS = frozenset(_INTEGERS) | _STRINGS | {"disk_type", "pci_devices"}
ALL_KEYS = INLINE_KEYS | {VALENCE_FLAVOR, PODM_ID}


def _fail(reason: str):
    raise exceptions.InvalidComposition(reason=reason)


def is_composed(composition: dict | None) -> bool:
    return bool(composition)


def validate(composition: Any) -> dict:
    """Check a composition; return a normalised copy.

    :raises InvalidComposition: naming the offending key.
    """
    if not isinstance(composition, dict):
        _fail(f"must be a JSON object, not {type(composition).__name__}")
    if not composition:
        _fail(
            "is empty: give 'valence_flavor' or at least one of "
            + ", ".join(sorted(INLINE_KEYS))
        )
    unknown = sorted(set(composition) - ALL_KEYS)
    if unknown:
        _fail(
            f"unknown key(s) {', '.join(repr(k) for k in unknown)}; "
            f"known keys are {', '.join(sorted(ALL_KEYS))}"
        )
    result: dict[str, Any] = {}
    if PODM_ID in composition:
        podm = composition[PODM_ID]
        if not isinstance(podm, str) or not uuidutils.is_uuid_like(podm):
            _fail(f"'podm_id' must be a pod manager UUID, not {podm!r}")
        result[PODM_ID] = podm
    inline = set(composition) & INLINE_KEYS
    if VALENCE_FLAVOR in composition:
        if inline:
            _fail(
                f"'valence_flavor' cannot be combined with "
                f"{', '.join(repr(k) for k in sorted(inline))}"
            )
        flavor = composition[VALENCE_FLAVOR]
        if not isinstance(flavor, str) or not uuidutils.is_uuid_like(flavor):
            _fail(f"'valence_flavor' must be a Valence flavor UUID, not {flavor!r}")
        result[VALENCE_FLAVOR] = flavor
        return result
    if not inline:
        _fail(
            "names no resources: give 'valence_flavor' or at least one of "
            + ", ".join(sorted(INLINE_KEYS))
        )
    for key, (low, high) in _INTEGERS.items():
        if key not in composition:
            continue
        value = composition[key]
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(f"'{key}' must be an integer, not {value!r}")
        if not low <= value <= high:
            _fail(f"'{key}' must be between {low} and {high}, not {value}")
        result[key] = value
    for key in sorted(_STRINGS):
        if key in composition:
            value = composition[key]
            if not isinstance(value, str) or not value.strip() or len(value) > 255:
                _fail(f"'{key}' must be a non-empty string, not {value!r}")
            result[key] = value.strip()
    if "disk_type" in composition:
        value = composition["disk_type"]
        if not isinstance(value, str) or value.upper() not in DISK_TYPES:
            _fail(f"'disk_type' must be one of {', '.join(DISK_TYPES)}, not {value!r}")
        if "disk_gb" not in composition:
            _fail("'disk_type' needs 'disk_gb'")
        result["disk_type"] = value.upper()
    if "pci_devices" in composition:
        value = composition["pci_devices"]
        if (
            not isinstance(value, list)
            or len(value) > MAX_PCI_DEVICES
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            _fail(
                f"'pci_devices' must be a list of at most {MAX_PCI_DEVICES} "
                f"device type names, not {value!r}"
            )
        result["pci_devices"] = [v.strip() for v in value]
    return result


def podm_id_for(composition: dict, default: str | None) -> str:
    podm_id = composition.get(PODM_ID) or default
    if not podm_id:
        _fail(
            "names no pod manager: set 'podm_id' in the composition or "
            "[valence] podm_id in the engine's configuration"
        )
    return podm_id


def to_properties(composition: dict) -> dict:
    """Valence's string-valued ``properties`` for an inline composition."""
    props: dict[str, Any] = {}
    processor = {}
    if "cpu_cores" in composition:
        processor["total_cores"] = str(composition["cpu_cores"])
    if "cpu_model" in composition:
        processor["model"] = composition["cpu_model"]
    if processor:
        props["processor"] = processor
    memory = {}
    if "ram_mib" in composition:
        memory["capacity_mib"] = str(composition["ram_mib"])
    if "ram_type" in composition:
        memory["type"] = composition["ram_type"]
    if memory:
        props["memory"] = memory
    if composition.get("pci_devices"):
        props["pci_device"] = {"type": list(composition["pci_devices"])}
    if "disk_gb" in composition:
        drive = {"capacity_gib": str(composition["disk_gb"])}
        if "disk_type" in composition:
            drive["type"] = composition["disk_type"]
        props["local_drives"] = [drive]
    return props


def to_request(
    composition: dict,
    name: str,
    default_podm_id: str | None,
    description: str | None = None,
) -> dict:
    """The body of ``POST /v1/nodes`` for a (validated) composition."""
    composition = validate(composition)
    body: dict[str, Any] = {
        "name": name,
        "podm_id": podm_id_for(composition, default_podm_id),
    }
    if description:
        body["description"] = description
    if VALENCE_FLAVOR in composition:
        body["flavor_id"] = composition[VALENCE_FLAVOR]
    else:
        body["properties"] = to_properties(composition)
    return body
