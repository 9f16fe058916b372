"""Checking a notification against its sample in doc/notifications/:
the same event type and priority, a publisher of the engine, and a payload
of the same shape: the same objects and versions, exactly their fields,
values of the sample's JSON types, None only where a field is nullable."""

import json
import pathlib

from oslo_versionedobjects import fields as ovo_fields

from mogan_valence.objects import base as objects_base

SAMPLES = pathlib.Path(__file__).resolve().parents[1] / "doc" / "notifications"
NS = "mogan_object"


def sample(event_type: str) -> dict:
    return json.loads((SAMPLES / f"{event_type}.json").read_text())


def sample_event_types() -> list[str]:
    return sorted(p.name[: -len(".json")] for p in SAMPLES.glob("*.json"))


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def check_object(want: dict | None, got, path: str = "payload") -> list[str]:
    """Problems of the object primitive ``got`` (``want``: the sample's,
    None where the sample had no value there)."""
    if not isinstance(got, dict) or f"{NS}.name" not in got:
        return [f"{path}: not an object primitive: {got!r}"]
    problems = []
    name = got[f"{NS}.name"]
    classes = objects_base.MoganObjectRegistry.obj_classes().get(name)
    if not classes:
        return [f"{path}: unknown object {name}"]
    cls = classes[0]
    if want is not None:
        for key in ("name", "namespace", "version"):
            if want.get(f"{NS}.{key}") != got.get(f"{NS}.{key}"):
                problems.append(
                    f"{path}: {key} {got.get(f'{NS}.{key}')!r}, sample has "
                    f"{want.get(f'{NS}.{key}')!r}"
                )
    data = got.get(f"{NS}.data") or {}
    if set(data) != set(cls.fields):
        problems.append(
            f"{path}: fields {sorted(data)}, {name} has {sorted(cls.fields)}"
        )
    wanted = (want or {}).get(f"{NS}.data") or {}
    for field_name, field in cls.fields.items():
        value = data.get(field_name)
        where = f"{path}.{field_name}"
        if value is None:
            if not field.nullable:
                problems.append(f"{where}: None, but it is not nullable")
            continue
        if isinstance(field, ovo_fields.ObjectField):
            problems += check_object(wanted.get(field_name), value, where)
            continue
        expected = wanted.get(field_name)
        if expected is not None and _kind(expected) != _kind(value):
            problems.append(
                f"{where}: a {_kind(value)}, the sample has a {_kind(expected)}"
            )
        if isinstance(value, dict) and isinstance(expected, dict) and expected:
            kinds = {_kind(v) for v in expected.values()}
            if len(kinds) == 1:
                (kind,) = kinds
                bad = [k for k, v in value.items() if _kind(v) != kind]
                if bad:
                    problems.append(f"{where}: values of {bad} are not {kind}s")
    return problems


def check(event_type: str, priority: str, publisher_id: str, payload) -> list[str]:
    """Problems of a received notification, against its sample."""
    try:
        want = sample(event_type)
    except FileNotFoundError:
        return [f"{event_type}: no sample in {SAMPLES}"]
    problems = []
    if priority.upper() != want["priority"]:
        problems.append(f"{event_type}: priority {priority}, not {want['priority']}")
    prefix = want["publisher_id"].split(":", 1)[0] + ":"
    if not publisher_id.startswith(prefix):
        problems.append(f"{event_type}: publisher {publisher_id}, not {prefix}<host>")
    return problems + check_object(want["payload"], payload, event_type)
