"""One Flask blueprint per resource."""

import flask
from oslo_utils import uuidutils

from mogan_valence.api import errors
from mogan_valence.common import exception


def body() -> object:
    """The request's JSON body; 400 when there is none or it is not JSON."""
    data = flask.request.get_json(silent=True)
    if data is None:
        raise exception.InvalidInput(reason="the request body must be JSON")
    return data


def lookup(kind: str, uuid: str, get, allowed):
    """``get(context, uuid)`` if ``uuid`` is a UUID naming something the
    caller may see (``allowed(context, obj)``); 404 in every other case, so
    that another project's resource and a missing one look the same."""
    ctx = context()
    if uuidutils.is_uuid_like(uuid):
        try:
            obj = get(ctx, uuid)
        except exception.NotFound:
            obj = None
        if obj is not None and obj.uuid == uuid and allowed(ctx, obj):
            return obj
    raise errors.not_found(kind, uuid)


def state():
    """What the app was built with: ``conf``, ``engine`` (the RPC API)."""
    return flask.current_app.config["mogan_valence"]


def context():
    return flask.g.context


def paging(conf) -> tuple[int | None, str | None]:
    """``limit`` (capped at [api] max_limit) and ``marker`` of a list."""
    limit = flask.request.args.get("limit")
    if limit is not None:
        try:
            limit = int(limit)
        except ValueError:
            raise exception.InvalidInput(
                reason=f"'limit' must be a positive integer, not {limit!r}"
            ) from None
        if limit < 1:
            raise exception.InvalidInput(
                reason=f"'limit' must be a positive integer, not {limit}"
            )
    limit = min(limit or conf.api.max_limit, conf.api.max_limit)
    return limit, flask.request.args.get("marker")
