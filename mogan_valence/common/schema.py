"""JSON Schema validation with messages that name the field.

The one validator every request schema of this project goes through (the
engine's, the extension's composition, the REST API's): it turns the most
relevant error into ``InvalidInput`` whose message reads
``'<field>': <problem>``. A schema may carry ``errorMessage`` (the
ajv-errors convention) to word a problem for users: a string for any
failure of that (sub)schema, or a mapping from keyword to message;
``{value}`` is replaced by the offending value.
"""

from collections.abc import Callable
from typing import Any

import jsonschema
from oslo_utils import uuidutils

from mogan_valence.common import exception


def _is_uuid(value: Any) -> bool:
    # A value that is not a string is reported by "type".
    return not isinstance(value, str) or uuidutils.is_uuid_like(value)


# NOTE: a checker of our own, not jsonschema's global one: its "uuid" wants
# the hyphenated form only, where the rest of OpenStack takes any form
# oslo.utils accepts.
FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("uuid")(_is_uuid)

# NOTE: jsonschema counts 16.0 as an integer (JSON has only numbers); a
# float is refused here, as Valence and Placement would take "16.0" badly.
_TYPE_CHECKER = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, v: isinstance(v, int) and not isinstance(v, bool)
)
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, type_checker=_TYPE_CHECKER
)


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
