"""/v1/servers: a project's servers, for its readers and members.

Another project's server is 404 to a project-scoped caller, before any
policy check; admins see every project's.
"""

import flask
from oslo_utils import strutils

from mogan_valence.api import errors
from mogan_valence.api import images
from mogan_valence.api import policy
from mogan_valence.api import views
from mogan_valence.api.controllers import body
from mogan_valence.api.controllers import context
from mogan_valence.api.controllers import flavors
from mogan_valence.api.controllers import lookup
from mogan_valence.api.controllers import paging
from mogan_valence.api.controllers import state
from mogan_valence.api.schemas import servers as schema
from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.objects import instance as instance_obj
from mogan_valence.objects import instance_fault as fault_obj

blueprint = flask.Blueprint("servers", __name__, url_prefix="/v1/servers")


def _owned(uuid: str) -> instance_obj.Instance:
    """The server if the caller's project owns it (or an admin asks)."""
    return lookup(
        "Server",
        uuid,
        instance_obj.Instance.get,
        lambda ctx, obj: (
            obj.status != states.DELETED
            and (ctx.is_admin or obj.project_id == ctx.project_id)
        ),
    )


def _target(obj) -> dict:
    return {"project_id": obj.project_id, "user_id": obj.user_id}


def _list(short: bool):
    ctx = context()
    conf = state()["conf"]
    policy.authorize("mogan:server:get", ctx)
    project = ctx.project_id
    all_tenants = flask.request.args.get("all_tenants", "false").lower()
    if all_tenants in ("1", "true", "yes"):
        policy.authorize("mogan:server:get_all_tenants", ctx)
        project = None
    limit, marker = paging(conf)
    try:
        found = instance_obj.Instance.list(
            ctx, project_id=project, limit=limit, marker=marker
        )
    except exception.InstanceNotFound:
        raise exception.InvalidInput(
            reason=f"'marker' {marker} is not a server of this list"
        ) from None
    faults = {}
    if not short:
        faults = fault_obj.InstanceFault.get_latest_for_instances(
            ctx, [i.uuid for i in found if i.status == states.ERROR]
        )
    return {
        "servers": [
            views.server(conf, i, faults.get(i.uuid), short=short) for i in found
        ]
    }


@blueprint.get("")
def list_servers():
    return _list(short=True)


@blueprint.get("/detail")
def list_servers_detail():
    return _list(short=False)


@blueprint.get("/<uuid>")
def get_server(uuid):
    ctx = context()
    obj = _owned(uuid)
    policy.authorize("mogan:server:get", ctx, _target(obj))
    fault = fault_obj.InstanceFault.get_latest_for_instances(ctx, [obj.uuid])
    return views.server(state()["conf"], obj, fault.get(obj.uuid))


@blueprint.get("/<uuid>/states")
def get_states(uuid):
    ctx = context()
    obj = _owned(uuid)
    policy.authorize("mogan:server:get", ctx, _target(obj))
    return {"power_state": obj.power_state, "status": obj.status, "locked": False}


@blueprint.put("/<uuid>/states/power")
def set_power_state(uuid):
    ctx = context()
    obj = _owned(uuid)
    policy.authorize("mogan:server:set_power_state", ctx, _target(obj))
    data = body()
    schema.power.validate(data)
    state()["engine"].set_power_state(ctx, obj.uuid, data["target"])
    return "", 202


@blueprint.post("")
def create_server():
    ctx = context()
    conf = state()["conf"]
    policy.authorize("mogan:server:create", ctx)
    data = body()
    schema.create.validate(data)
    server = data["server"]
    image = images.check(server["image_uuid"], ctx.is_admin, conf)
    flavor_uuid = server["flavor_uuid"]
    # A flavor the caller may not see does not exist for it; a request
    # naming one is a bad request, not a missing server collection.
    try:
        flavor = flavors.visible(flavor_uuid)
    except errors.ApiError as e:
        raise errors.ApiError(e.message, 400) from None
    obj = state()["engine"].create_instance(
        ctx,
        name=server["name"],
        flavor=flavor.uuid,
        image_source=image,
        description=server.get("description"),
        metadata=server.get("metadata"),
        partitions=server.get("partitions"),
    )
    response = flask.jsonify(views.server(conf, obj))
    response.status_code = 201
    response.headers["Location"] = views.links(conf, "servers", obj.uuid)[0]["href"]
    return response


@blueprint.delete("/<uuid>")
def delete_server(uuid):
    """``?force_release=true`` (admins): release a composed node whose
    cleaning failed, past the teardown's safety stop. Logged."""
    ctx = context()
    obj = _owned(uuid)
    policy.authorize("mogan:server:delete", ctx, _target(obj))
    force = flask.request.args.get("force_release", "false")
    if not strutils.is_valid_boolstr(force):
        raise exception.InvalidInput(
            reason=f"'force_release' must be true or false, not {force!r}"
        )
    if strutils.bool_from_string(force):
        policy.authorize("mogan:server:force_release", ctx, _target(obj))
        state()["engine"].delete_instance(ctx, obj.uuid, force_release=True)
    else:
        state()["engine"].delete_instance(ctx, obj.uuid)
    return "", 204
