"""The JSON of servers and flavors, as python-moganclient and its OSC
plugin read them (see shared reference mogan-api.md)."""

import flask

from mogan_valence.common import states
from mogan_valence.engine import timing


def _time(value):
    return value.isoformat() if value is not None else None


def base_url(conf) -> str:
    return (conf.api.public_endpoint or flask.request.host_url).rstrip("/")


def links(conf, collection: str, uuid: str) -> list[dict]:
    root = base_url(conf)
    return [
        {"href": f"{root}/v1/{collection}/{uuid}", "rel": "self"},
        {"href": f"{root}/{collection}/{uuid}", "rel": "bookmark"},
    ]


def server(conf, instance, fault=None, short: bool = False) -> dict:
    extra = instance.extra or {}
    body = {
        "uuid": instance.uuid,
        "name": instance.name,
        "description": instance.description,
        "status": instance.status,
        "power_state": instance.power_state,
        "links": links(conf, "servers", instance.uuid),
    }
    if short:
        return body
    body.update(
        flavor_uuid=instance.flavor_uuid,
        image_uuid=instance.image_source,
        availability_zone=None,
        # No Neutron here: a non-empty value would make OSC look networks up.
        addresses={},
        metadata=dict(extra.get("metadata") or {}),
        partitions=dict(extra.get("partitions") or {}),
        key_name=None,
        locked=False,
        project_id=instance.project_id,
        user_id=instance.user_id,
        launched_at=_time(instance.launched_at),
        created_at=_time(instance.created_at),
        updated_at=_time(instance.updated_at),
        composed=bool(instance.composed),
        steps=list(extra.get(timing.STEPS_KEY) or []),
    )
    # A fault shows on a server in ERROR, and on an ACTIVE one when a power
    # action failed since it became ACTIVE.
    if fault is not None and (
        instance.status == states.ERROR
        or (
            instance.launched_at is not None
            and fault.created_at is not None
            and fault.created_at >= instance.launched_at
        )
    ):
        body["fault"] = {
            "code": fault.code,
            "message": fault.message,
            "detail": fault.detail,
            "created_at": _time(fault.created_at),
        }
    return body


def flavor(conf, obj, admin: bool) -> dict:
    body = {
        "uuid": obj.uuid,
        "name": obj.name,
        "description": obj.description,
        "is_public": obj.is_public,
        "links": links(conf, "flavors", obj.uuid),
    }
    if admin:
        body.update(
            disabled=obj.disabled,
            resources=dict(obj.resources or {}),
            resource_aggregates={},
            resource_traits=dict(obj.resource_traits or {}),
            composition=dict(obj.composition or {}) or None,
            created_at=_time(obj.created_at),
            updated_at=_time(obj.updated_at),
        )
    return body
