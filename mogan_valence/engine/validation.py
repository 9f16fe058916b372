"""JSON Schemas of the engine's requests, and the validator that applies them.

Like Ironic's ``api/schemas``: each request has a module-level schema, and
the shared validator (``common.schema.SchemaValidator``) turns the most relevant error
into ``InvalidInput`` whose message reads ``'<field>': <problem>``.

A schema may carry ``errorMessage`` (the ajv-errors convention) to word a
problem for users: a string for any failure of that (sub)schema, or a
mapping from keyword to message; ``{value}`` is replaced by the offending
value. Maximum lengths are those of the database columns, so an over-long
value is refused before anything is written.
"""

import urllib.parse
from typing import Any

from oslo_utils import uuidutils

from mogan_valence.common import exception
from mogan_valence.common import schema
from mogan_valence.common.schema import SchemaValidator

# Column sizes of mogan_valence/db/models.py.
FLAVOR_NAME_MAX = 255
INSTANCE_NAME_MAX = 255
NODE_NAME_MAX = 255
IMAGE_SOURCE_MAX = 255
# A flavor is named by its uuid or its name.
FLAVOR_REF_MAX = 255
# ``description`` is Text: 65535 on MySQL, the smallest of the backends.
DESCRIPTION_MAX = 65535
RESOURCE_CLASS_MAX = 255
# Keystone's project ids are 32 hex digits; anything id-like is accepted.
PROJECT_ID_MAX = 255
PROJECT_ID_PATTERN = "^[A-Za-z0-9_-]+$"
TRAIT_MAX = 255
# Standard traits (HW_CPU_X86_AVX2) and custom ones (CUSTOM_RAID5).
TRAIT_PATTERN = "^[A-Z][A-Z0-9_]*$"
# What Ironic can deploy from, besides a Glance image UUID.
IMAGE_SCHEMES = ("http", "https", "file", "oci")

FORBIDDEN_TRAITS = (
    "'forbidden' is not supported: Ironic's allocation API can only require "
    "traits, so a flavor cannot forbid one; use 'required' or leave the trait out"
)
NEEDS_PLACEMENT = (
    "a flavor needs a resource class (resources) to schedule on, or a composition"
)


@schema.FORMAT_CHECKER.checks("image-source")
def _is_image_source(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return True  # "type" or "minLength" reports it
    if uuidutils.is_uuid_like(value):
        return True
    return urllib.parse.urlsplit(value).scheme in IMAGE_SCHEMES


# -- schemas -------------------------------------------------------------------


def _string(max_length: int, *, blank: bool = False, **extra) -> dict:
    schema = {"type": "string", "maxLength": max_length, **extra}
    if not blank:
        schema["minLength"] = 1
    return schema


def _nullable(schema: dict) -> dict:
    return dict(schema, type=[schema["type"], "null"])


_DESCRIPTION = _nullable(_string(DESCRIPTION_MAX, blank=True))

_TRAIT_NAME = {
    "maxLength": TRAIT_MAX,
    "pattern": TRAIT_PATTERN,
    # NOTE: Python's "$" also matches before a final newline.
    "not": {"pattern": "\n"},
    "errorMessage": (
        f"a trait name must be at most {TRAIT_MAX} upper-case letters, digits "
        "and underscores, starting with a letter (e.g. CUSTOM_RAID5), not {value}"
    ),
}

CREATE_FLAVOR_SCHEMA = {
    "type": "object",
    "properties": {
        "name": _string(FLAVOR_NAME_MAX),
        "description": _DESCRIPTION,
        "resources": {
            "type": ["object", "null"],
            "maxProperties": 1,
            "propertyNames": {
                "minLength": 1,
                "maxLength": RESOURCE_CLASS_MAX,
                "errorMessage": (
                    f"a resource class must be 1 to {RESOURCE_CLASS_MAX} "
                    "characters long, not {value}"
                ),
            },
            "additionalProperties": {
                "type": "integer",
                "const": 1,
                "errorMessage": "must be 1 (a flavor takes a whole node), not {value}",
            },
            "errorMessage": {
                "maxProperties": "a flavor names one resource class, not {value}"
            },
        },
        "resource_traits": {
            "type": ["object", "null"],
            "propertyNames": _TRAIT_NAME,
            "additionalProperties": {
                "if": {"const": "forbidden"},
                "then": {"not": {}, "errorMessage": FORBIDDEN_TRAITS},
                "else": {"const": "required"},
            },
        },
        # Its content is the extension's business (EngineExtension.validate_flavor).
        "composition": {"type": ["object", "null"]},
        "is_public": {"type": "boolean"},
    },
    "required": ["name"],
    "additionalProperties": False,
}

CREATE_INSTANCE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": _string(INSTANCE_NAME_MAX),
        "flavor": _string(FLAVOR_REF_MAX),
        "image_source": _string(
            IMAGE_SOURCE_MAX,
            format="image-source",
            errorMessage={
                "format": "{value} is neither an image UUID nor a "
                f"{'/'.join(IMAGE_SCHEMES)} URL"
            },
        ),
        "description": _DESCRIPTION,
    },
    "required": ["name", "flavor", "image_source"],
    "additionalProperties": False,
}


UPDATE_FLAVOR_SCHEMA = {
    "type": "object",
    "properties": {
        "name": _string(FLAVOR_NAME_MAX),
        "description": _DESCRIPTION,
        "is_public": {"type": "boolean"},
        "disabled": {"type": "boolean"},
    },
    "minProperties": 1,
    "additionalProperties": False,
}

QUOTA_LIMIT_MAX = 2**31 - 1
_QUOTA_LIMIT = {
    "type": ["integer", "null"],
    "minimum": -1,
    "maximum": QUOTA_LIMIT_MAX,
    "errorMessage": f"must be an integer from -1 (unlimited) to {QUOTA_LIMIT_MAX}, "
    "or null (the default), not {value}",
}

UPDATE_QUOTA_SCHEMA = {
    "type": "object",
    "properties": {
        "project_id": _string(
            PROJECT_ID_MAX,
            pattern=PROJECT_ID_PATTERN,
            errorMessage="must be a project id (letters, digits, '-' and '_'), "
            "not {value}",
        ),
        "limits": {
            "type": "object",
            "properties": {
                r: _QUOTA_LIMIT for r in ("servers", "cores", "ram_mib", "disk_gb")
            },
            "minProperties": 1,
            "additionalProperties": False,
        },
    },
    "required": ["project_id", "limits"],
    "additionalProperties": False,
}

_FLAVOR = SchemaValidator(CREATE_FLAVOR_SCHEMA, root="flavor")
_QUOTA = SchemaValidator(UPDATE_QUOTA_SCHEMA, root="quota")
_FLAVOR_UPDATE = SchemaValidator(UPDATE_FLAVOR_SCHEMA, root="flavor")
_INSTANCE = SchemaValidator(CREATE_INSTANCE_SCHEMA, root="instance")


def _stripped(values: Any, keys: tuple[str, ...]) -> Any:
    """A copy with the given string values stripped, checked as stored."""
    if not isinstance(values, dict):
        return values
    return {
        k: v.strip() if k in keys and isinstance(v, str) else v
        for k, v in values.items()
    }


def validate_flavor_request(values: dict) -> dict:
    """Check the arguments of ``create_flavor``; return them normalised.

    :param values: ``name`` and optionally ``resources``, ``resource_traits``,
        ``composition``, ``description`` and ``is_public``.
    :raises InvalidInput: naming the first bad field.
    """
    values = _stripped(values, ("name",))
    _FLAVOR.validate(values)
    result = {
        "name": values["name"],
        "description": values.get("description"),
        "resources": dict(values.get("resources") or {}),
        "resource_traits": dict(values.get("resource_traits") or {}),
        "composition": dict(values.get("composition") or {}) or None,
        "is_public": values.get("is_public", True),
    }
    if not result["resources"] and not result["composition"]:
        raise exception.InvalidInput(reason=NEEDS_PLACEMENT)
    return result


def validate_instance_request(values: dict) -> dict:
    """Check the arguments of ``create_instance``; return them normalised.

    :param values: ``name``, ``flavor`` (a uuid or name), ``image_source``
        and optionally ``description``.
    :raises InvalidInput: naming the first bad field.
    """
    values = _stripped(values, ("name", "flavor", "image_source"))
    _INSTANCE.validate(values)
    return {
        "name": values["name"],
        "flavor": values["flavor"],
        "image_source": values["image_source"],
        "description": values.get("description"),
    }


def validate_flavor_update(values: dict) -> dict:
    """Check the changes of ``update_flavor``; return them normalised.

    :raises InvalidInput: naming the first bad field.
    """
    values = _stripped(values, ("name",))
    _FLAVOR_UPDATE.validate(values)
    return dict(values)


def validate_quota_update(project_id: Any, limits: Any) -> dict:
    """Check the arguments of ``update_quota``; return the limits.

    :raises InvalidInput: naming the first bad field.
    """
    _QUOTA.validate({"project_id": project_id, "limits": limits})
    return dict(limits)
