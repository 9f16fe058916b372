"""Server request bodies (what python-moganclient 0.1.0 and its OSC plugin
send), and what this service refuses of them."""

from mogan_valence.api import schemas
from mogan_valence.common import states
from mogan_valence.common.schema import SchemaValidator

UNSUPPORTED = (
    "is not supported: this service has no config drive, keys or availability zones"
)

_UUID = {"type": "string", "format": "uuid"}
_NETWORK = {
    "type": "object",
    "properties": {"net_id": _UUID, "port_id": _UUID},
    "additionalProperties": False,
}
_PARTITION = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": "^[0-9]{1,9}$"},
    ],
    "errorMessage": "must be a whole number of GiB or MiB, not {value}",
}
_REFUSED = {"not": {}, "errorMessage": UNSUPPORTED}

CREATE = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": schemas.string(schemas.LIMITS["name"]),
                "description": schemas.nullable(
                    schemas.string(schemas.LIMITS["description"], blank=True)
                ),
                # A Glance image UUID or an http(s) URL (see api/images.py).
                "image_uuid": schemas.string(schemas.LIMITS["image"]),
                "flavor_uuid": schemas.string(255),
                # Accepted for the client's sake (OSC requires --nic); there
                # is no Neutron here, so they are not acted on.
                "networks": {"type": "array", "maxItems": 16, "items": _NETWORK},
                "metadata": {
                    "type": "object",
                    "maxProperties": 64,
                    "propertyNames": {"pattern": "^[a-zA-Z0-9-_:. ]{1,255}$"},
                    "additionalProperties": schemas.string(255, blank=True),
                },
                "partitions": {
                    "type": "object",
                    "properties": {
                        "root_gb": _PARTITION,
                        "ephemeral_gb": _PARTITION,
                        "swap_mb": _PARTITION,
                    },
                    "additionalProperties": False,
                },
                "min_count": {"const": 1, "errorMessage": "must be 1, not {value}"},
                "max_count": {"const": 1, "errorMessage": "must be 1, not {value}"},
                "availability_zone": {"type": "null"},
                "key_name": _REFUSED,
                "user_data": _REFUSED,
                "personality": _REFUSED,
                "adminPass": _REFUSED,
            },
            "required": ["name", "image_uuid", "flavor_uuid"],
            "additionalProperties": False,
        },
        "scheduler_hints": {"type": "object", "maxProperties": 0},
    },
    "required": ["server"],
    "additionalProperties": False,
}

POWER = {
    "type": "object",
    "properties": {"target": {"enum": list(states.POWER_TARGETS)}},
    "required": ["target"],
    "additionalProperties": False,
}

create = SchemaValidator(CREATE)
power = SchemaValidator(POWER, root="power")
