"""Flavor request bodies."""

from oslo_utils import strutils

from mogan_valence.api import schemas
from mogan_valence.common.schema import SchemaValidator

_DESCRIPTION = schemas.nullable(
    schemas.string(schemas.LIMITS["description"], blank=True)
)

CREATE = {
    "type": "object",
    "properties": {
        "name": schemas.string(schemas.LIMITS["name"]),
        "description": _DESCRIPTION,
        # OSC sends counts as strings ({"CUSTOM_GOLD": "1"}).
        "resources": {
            "type": ["object", "null"],
            "additionalProperties": {
                "enum": [1, "1"],
                "errorMessage": "must be 1 (a flavor takes a whole node), not {value}",
            },
        },
        "resource_aggregates": {
            "type": ["object", "null"],
            "additionalProperties": schemas.string(255, blank=True),
        },
        "resource_traits": {"type": ["object", "null"]},
        "composition": {"type": ["object", "null"]},
        "is_public": schemas.BOOLEAN_ISH,
        "disabled": schemas.BOOLEAN_ISH,
    },
    "required": ["name"],
    "additionalProperties": False,
}

PATCHABLE = ("/name", "/description", "/is_public", "/disabled")

PATCH = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "properties": {
            "op": {"enum": ["add", "replace", "remove"]},
            "path": {
                "enum": list(PATCHABLE),
                "errorMessage": f"can only be one of {', '.join(PATCHABLE)}, not "
                "{value}",
            },
            "value": {},
        },
        "required": ["op", "path"],
        "additionalProperties": False,
    },
}

ACCESS = {
    "type": "object",
    "properties": {"tenant_id": schemas.string(255)},
    "required": ["tenant_id"],
    "additionalProperties": False,
}

create = SchemaValidator(CREATE, root="flavor")
patch = SchemaValidator(PATCH, root="patch")
access = SchemaValidator(ACCESS, root="access")


_BOOLEANS = {
    field: SchemaValidator(schemas.BOOLEAN_ISH, root=field)
    for field in ("is_public", "disabled")
}


def boolean(value, field: str) -> bool:
    """``is_public`` or ``disabled``: a boolean, or one of the strings OSC
    sends for one.

    :raises InvalidInput: naming the field for anything else ("maybe" is
        not false).
    """
    _BOOLEANS[field].validate(value)
    return value if isinstance(value, bool) else strutils.bool_from_string(value)
