"""Quota request bodies."""

from mogan_valence.common.schema import SchemaValidator
from mogan_valence.objects import quota as quota_obj

LIMIT_MAX = 2**31 - 1

UPDATE = {
    "type": "object",
    "properties": {
        "quota": {
            "type": "object",
            "properties": {
                resource: {
                    "type": ["integer", "null"],
                    "minimum": -1,
                    "maximum": LIMIT_MAX,
                    "errorMessage": "must be an integer from -1 (unlimited) to "
                    f"{LIMIT_MAX}, or null (back to the default), not {{value}}",
                }
                for resource in quota_obj.RESOURCES
            },
            "minProperties": 1,
            "additionalProperties": False,
            "errorMessage": {
                "minProperties": "names no resource: give some of "
                + ", ".join(quota_obj.RESOURCES)
            },
        },
    },
    "required": ["quota"],
    "additionalProperties": False,
}

update = SchemaValidator(UPDATE, root="body")
