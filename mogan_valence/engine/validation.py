"""JSON Schemas of the engine's requests, and the validator that applies them.

Like Ironic's ``api/schemas``: each request has a module-level schema, and
one function (``SchemaValidator.validate``) turns the most relevant error
into ``InvalidInput`` whose message reads ``'<field>': <problem>``.

A schema may carry ``errorMessage`` (the ajv-errors convention) to word a
problem for users: a string for any failure of that (sub)schema, or a
mapping from keyword to message; ``{value}`` is replaced by the offending
value. Maximum lengths are those of the database columns, so an over-long
value is refused before anything is written.
"""

import urllib.parse
from collections.abc import Callable
from typing import Any

import jsonschema
from oslo_utils import uuidutils

from mogan_valence.common import exception

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


def _is_image_source(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return True  # "type" or "minLength" reports it
    if uuidutils.is_uuid_like(value):
        return True
    return urllib.parse.urlsplit(value).scheme in IMAGE_SCHEMES


def _is_uuid(value: Any) -> bool:
    # A value that is not a string is reported by "type".
    return not isinstance(value, str) or uuidutils.is_uuid_like(value)


# NOTE: a checker of our own, not jsonschema's global one: its "uuid" wants
# the hyphenated form only, where the rest of OpenStack takes any form
# oslo.utils accepts.
FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("uuid")(_is_uuid)
FORMAT_CHECKER.checks("image-source")(_is_image_source)

# NOTE: jsonschema counts 16.0 as an integer (JSON has only numbers); a
# float is refused here, as Valence and Placement would take "16.0" badly.
_TYPE_CHECKER = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, v: isinstance(v, int) and not isinstance(v, bool)
)
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, type_checker=_TYPE_CHECKER
)


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


# -- the validator ---------------------------------------------------------------

_TYPES = {
    "array": "a list",
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "null": "null",
    "number": "a number",
    "object": "a JSON object",
    "string": "a string",
}
_SHOW_MAX = 60


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOW_MAX else f"{text[: _SHOW_MAX - 3]}..."


def _type(error) -> str:
    types = error.validator_value
    types = [types] if isinstance(types, str) else types
    return f"must be {' or '.join(_TYPES.get(t, t) for t in types)}"


def _min_length(error) -> str:
    if not error.instance.strip():
        return "must not be empty or blank"
    return f"must be at least {error.validator_value} characters long"


def _range(error) -> str:
    low, high = error.schema.get("minimum"), error.schema.get("maximum")
    if low is not None and high is not None:
        return f"must be between {low} and {high}, not {error.instance}"
    word = "at least" if error.validator == "minimum" else "at most"
    return f"must be {word} {error.validator_value}, not {error.instance}"


# keyword -> the problem it reports, for errors about the value at the path.
_PROBLEMS: dict[str, Callable[[Any], str]] = {
    "type": lambda e: f"{_type(e)}, not {_show(e.instance)}",
    "minLength": _min_length,
    "maxLength": lambda e: (
        f"must be at most {e.validator_value} characters long, not {len(e.instance)}"
    ),
    "minimum": _range,
    "maximum": _range,
    "const": lambda e: f"must be {e.validator_value!r}, not {_show(e.instance)}",
    "enum": lambda e: (
        f"must be one of {', '.join(map(repr, e.validator_value))}, "
        f"not {_show(e.instance)}"
    ),
    "minProperties": lambda e: "must not be empty",
    "maxProperties": lambda e: (
        f"must have at most {e.validator_value} entries, not {len(e.instance)}"
    ),
    "maxItems": lambda e: (
        f"must have at most {e.validator_value} items, not {len(e.instance)}"
    ),
    "format": lambda e: f"must be a {e.validator_value}, not {_show(e.instance)}",
    "pattern": lambda e: f"must match {e.validator_value}, not {_show(e.instance)}",
    "not": lambda e: "is not allowed",
}


def _field(root: str | None, path) -> str:
    """``'flavor.resource_traits.CUSTOM_X'``, ``'pci_devices'[0]``."""
    keys: list[str] = [root] if root else []
    tail = ""
    for part in path:
        if isinstance(part, int):
            tail += f"[{part}]"
        elif tail:
            tail += f".{part}"
        else:
            keys.append(str(part))
    return f"'{'.'.join(keys)}'{tail}" if keys else tail


def _custom(error) -> str | None:
    message = (
        error.schema.get("errorMessage") if isinstance(error.schema, dict) else None
    )
    if isinstance(message, dict):
        message = message.get(error.validator)
    if message is None:
        return None
    return message.replace("{value}", _show(error.instance))


def _describe(error) -> tuple[list, str]:
    """The paths (below the error's) that are wrong, and what is wrong."""
    custom = _custom(error)
    if custom is not None:
        return [[]], custom
    value = error.instance
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = error.schema.get("properties", {})
        extra = sorted(str(k) for k in value if k not in known)
        return [[k] for k in extra], (
            f"unknown key{'s' if len(extra) > 1 else ''}; "
            f"known keys are {', '.join(sorted(known))}"
        )
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in value]
        return [[k] for k in missing], "is required"
    if error.validator == "dependentRequired":
        for key, needed in error.validator_value.items():
            missing = [n for n in needed if key in value and n not in value]
            if missing:
                return [[key]], f"needs {', '.join(map(repr, missing))}"
    problem = _PROBLEMS.get(error.validator)
    return [[]], problem(error) if problem else error.message


class SchemaValidator:
    """Validates values against one schema; refuses them with ``error``.

    :param root: the name of the whole value in messages (``flavor``), or
        None when the exception already says what it is.
    :param error: an ``InvalidInput`` class, raised with ``reason=``.
    """

    def __init__(
        self,
        schema: dict,
        root: str | None = None,
        error: type[exception.InvalidInput] = exception.InvalidInput,
    ):
        _Validator.check_schema(schema)
        self.schema = schema
        self.root = root
        self.error = error
        self._validator = _Validator(schema, format_checker=FORMAT_CHECKER)

    def reason(self, value: Any) -> str | None:
        """What is wrong with ``value`` (the most relevant error), or None."""
        error = jsonschema.exceptions.best_match(self._validator.iter_errors(value))
        if error is None:
            return None
        below, problem = _describe(error)
        fields = ", ".join(
            f
            for f in (_field(self.root, [*error.absolute_path, *p]) for p in below)
            if f
        )
        return f"{fields}: {problem}" if fields else problem

    def validate(self, value: Any) -> None:
        reason = self.reason(value)
        if reason is not None:
            raise self.error(reason=reason)


_FLAVOR = SchemaValidator(CREATE_FLAVOR_SCHEMA, root="flavor")
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
