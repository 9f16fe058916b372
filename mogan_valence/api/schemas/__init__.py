"""JSON Schemas of the REST API's request bodies, one module per resource.

A body is validated before any handler code runs; a refusal is a 400
naming the field (``common.schema``).
"""

LIMITS = {"name": 255, "description": 65535, "image": 255}


def string(max_length: int, *, blank: bool = False) -> dict:
    schema = {"type": "string", "maxLength": max_length}
    if not blank:
        schema["minLength"] = 1
    return schema


def nullable(schema: dict) -> dict:
    return dict(schema, type=[schema["type"], "null"])


# OSC's KeyValueAction sends booleans as the raw strings it was given.
BOOLEAN_ISH = {
    "anyOf": [
        {"type": "boolean"},
        {"enum": ["True", "False", "true", "false", "1", "0", "yes", "no"]},
    ],
    "errorMessage": "must be a boolean (true or false), not {value}",
}
