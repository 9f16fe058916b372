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

from mogan_valence.common import schema
from mogan_valence.valence import exceptions

VALENCE_FLAVOR = "valence_flavor"
PODM_ID = "podm_id"
# Which composition backend composes it ([valence] backend when absent),
# and, for "redfish", which of [redfish_composition] enabled_services.
BACKEND = "backend"
SERVICE = "service"
VALENCE = "valence"
REDFISH = "redfish"
BACKENDS = (VALENCE, REDFISH)
# Keys only the Valence backend understands.
VALENCE_ONLY = (VALENCE_FLAVOR, PODM_ID, "pci_devices")

# key -> (lowest, highest): the highest values are far beyond any pod and
# only catch typos such as a size in bytes.
_INTEGERS = {
    "cpu_cores": (1, 4096),
    "ram_mib": (1, 64 * 1024 * 1024),
    "disk_gb": (1, 1_000_000),
}
_STRINGS = {"cpu_model", "ram_type"}
DISK_TYPES = ("HDD", "SSD")
MAX_PCI_DEVICES = 16
INLINE_KEYS = frozenset(_INTEGERS) | _STRINGS | {"disk_type", "pci_devices"}

_GIVE = "give 'valence_flavor' or at least one of " + ", ".join(sorted(INLINE_KEYS))
_NON_BLANK = {
    "type": "string",
    "maxLength": 255,
    "pattern": r"\S",
    "errorMessage": {"pattern": "must not be blank, not {value}"},
}


def _uuid(what: str) -> dict:
    return {
        "type": "string",
        "format": "uuid",
        "errorMessage": f"must be {what} UUID, not {{value}}",
    }


def _case_insensitive(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


SCHEMA = {
    "type": "object",
    "minProperties": 1,
    "properties": {
        VALENCE_FLAVOR: _uuid("a Valence flavor"),
        BACKEND: {
            "type": "string",
            "enum": list(BACKENDS),
            "errorMessage": f"must be one of {', '.join(BACKENDS)}, not {{value}}",
        },
        SERVICE: {
            "type": "string",
            "maxLength": 32,
            "pattern": "^[a-z0-9][a-z0-9_]*$",
            "errorMessage": "must name a Redfish composition service "
            "(lower-case letters, digits, underscores), not {value}",
        },
        PODM_ID: _uuid("a pod manager"),
        **{
            key: {"type": "integer", "minimum": low, "maximum": high}
            for key, (low, high) in _INTEGERS.items()
        },
        **{key: _NON_BLANK for key in _STRINGS},
        "disk_type": {
            "type": "string",
            # NOTE: maxLength, because Python's "$" also matches before a
            # final newline.
            "maxLength": max(map(len, DISK_TYPES)),
            "pattern": "^(" + "|".join(map(_case_insensitive, DISK_TYPES)) + ")$",
            "errorMessage": f"must be one of {', '.join(DISK_TYPES)}, not {{value}}",
        },
        "pci_devices": {
            "type": "array",
            "maxItems": MAX_PCI_DEVICES,
            "items": dict(
                _NON_BLANK, errorMessage="must be a device type name, not {value}"
            ),
            "errorMessage": (
                f"must be a list of at most {MAX_PCI_DEVICES} device type names, "
                "not {value}"
            ),
        },
    },
    "additionalProperties": False,
    "dependentRequired": {"disk_type": ["disk_gb"]},
    "dependentSchemas": {
        VALENCE_FLAVOR: {
            "properties": {
                key: {
                    "not": {},
                    "errorMessage": "cannot be combined with 'valence_flavor'",
                }
                for key in sorted(INLINE_KEYS)
            }
        },
        # Only known keys are allowed: one more than podm_id is a resource.
        PODM_ID: {"minProperties": 2, "errorMessage": f"names no resources: {_GIVE}"},
    },
    "errorMessage": {
        "type": "must be a JSON object, not {value}",
        "minProperties": f"is empty: {_GIVE}",
    },
}
_VALIDATOR = schema.SchemaValidator(SCHEMA, error=exceptions.InvalidComposition)


def _fail(reason: str):
    raise exceptions.InvalidComposition(reason=reason)


def is_composed(composition: dict | None) -> bool:
    return bool(composition)


def backend_of(composition: dict | None, default: str | None = None) -> str:
    """The backend that composes it: its own ``backend``, else ``default``
    (``[valence] backend``), else Valence."""
    return (composition or {}).get(BACKEND) or default or VALENCE


def validate(composition: Any, default_backend: str | None = None) -> dict:
    """Check a composition; return a normalised copy.

    :param default_backend: ``[valence] backend``, the backend of a
        composition that names none (Valence when not given).
    :raises InvalidComposition: naming the offending key.
    """
    _VALIDATOR.validate(composition)
    if not (set(composition) & (INLINE_KEYS | {VALENCE_FLAVOR})):
        _fail(f"names no resources: {_GIVE}")
    backend = backend_of(composition, default_backend)
    if backend == REDFISH:
        for key in VALENCE_ONLY:
            if key in composition:
                _fail(
                    f"'{key}' is a Valence key; the redfish backend composes "
                    "from cpu_cores, cpu_model, ram_mib, ram_type, disk_gb "
                    "and disk_type"
                )
    elif SERVICE in composition:
        _fail(
            "'service' names a Redfish composition service; it needs "
            '"backend": "redfish"'
        )
    result = dict(composition)
    for key in _STRINGS & set(result):
        result[key] = result[key].strip()
    if "disk_type" in result:
        result["disk_type"] = result["disk_type"].upper()
    if "pci_devices" in result:
        result["pci_devices"] = [v.strip() for v in result["pci_devices"]]
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


# What the quota columns hold (a 32-bit integer on every backend).
_COUNT_MAX = 2**31 - 1


def _whole(value: Any) -> int:
    """A Valence property count ("16", 16, "16.0"); 0 when not a number,
    at most what the quota can count."""
    try:
        return min(_COUNT_MAX, max(0, int(float(value))))
    except (TypeError, ValueError, OverflowError):
        return 0


def requested_hardware(composition: dict, valence_flavor: dict | None = None) -> dict:
    """What a composition asks for, as the quota counts it: ``cores``,
    ``ram_mib`` and ``disk_gb``.

    :param valence_flavor: the Valence flavor a ``valence_flavor``
        composition names (its ``properties`` say what it asks for).
    """
    if VALENCE_FLAVOR not in composition:
        return {
            "cores": composition.get("cpu_cores", 0),
            "ram_mib": composition.get("ram_mib", 0),
            "disk_gb": composition.get("disk_gb", 0),
        }

    def section(record, key) -> dict:
        found = record.get(key) if isinstance(record, dict) else None
        return found if isinstance(found, dict) else {}

    props = section(valence_flavor, "properties")
    drives = props.get("local_drives")
    return {
        "cores": _whole(section(props, "processor").get("total_cores")),
        "ram_mib": _whole(section(props, "memory").get("capacity_mib")),
        "disk_gb": sum(
            _whole(d.get("capacity_gib"))
            for d in (drives if isinstance(drives, list) else [])
            if isinstance(d, dict)
        ),
    }
