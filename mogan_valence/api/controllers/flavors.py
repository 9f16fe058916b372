"""/v1/flavors: list and show for readers; everything else for admins.

A private flavor is visible only to admins and to the projects on its
access list; to anyone else it does not exist (404).
"""

import flask

from mogan_valence.api import policy
from mogan_valence.api import views
from mogan_valence.api.controllers import body
from mogan_valence.api.controllers import context
from mogan_valence.api.controllers import lookup
from mogan_valence.api.controllers import state
from mogan_valence.api.schemas import flavors as schema
from mogan_valence.common import exception
from mogan_valence.objects import flavor as flavor_obj

blueprint = flask.Blueprint("flavors", __name__, url_prefix="/v1/flavors")


def visible(uuid: str) -> flavor_obj.Flavor:
    """The flavor if the caller may see it; 404 otherwise."""
    return lookup(
        "Flavor",
        uuid,
        flavor_obj.Flavor.get,
        lambda ctx, obj: ctx.is_admin or obj.visible_to(ctx.project_id),
    )


def _show(obj) -> dict:
    return views.flavor(state()["conf"], obj, admin=context().is_admin)


@blueprint.get("")
def list_flavors():
    ctx = context()
    policy.authorize("mogan:flavor:get", ctx)
    if ctx.is_admin:
        found = flavor_obj.Flavor.list(ctx)
    else:
        found = flavor_obj.Flavor.list(
            ctx, visible_to=ctx.project_id, include_disabled=False
        )
    return {"flavors": [_show(f) for f in found]}


@blueprint.get("/<uuid>")
def get_flavor(uuid):
    ctx = context()
    obj = visible(uuid)
    policy.authorize("mogan:flavor:get", ctx)
    return _show(obj)


@blueprint.post("")
def create_flavor():
    ctx = context()
    policy.authorize("mogan:flavor:create", ctx)
    data = body()
    schema.create.validate(data)
    obj = state()["engine"].create_flavor(
        ctx,
        name=data["name"],
        resources={k: 1 for k in (data.get("resources") or {})},
        resource_traits=data.get("resource_traits"),
        composition=data.get("composition"),
        description=data.get("description"),
        is_public=schema.boolean(data.get("is_public", True), "is_public"),
    )
    if schema.boolean(data.get("disabled", False), "disabled"):
        obj = state()["engine"].update_flavor(ctx, obj.uuid, {"disabled": True})
    response = flask.jsonify(_show(obj))
    response.status_code = 201
    response.headers["Location"] = views.links(state()["conf"], "flavors", obj.uuid)[0][
        "href"
    ]
    return response


@blueprint.patch("/<uuid>")
def update_flavor(uuid):
    ctx = context()
    obj = visible(uuid)
    policy.authorize("mogan:flavor:update", ctx)
    ops = body()
    schema.patch.validate(ops)
    values = {}
    for op in ops:
        field = op["path"].lstrip("/")
        if op["op"] == "remove":
            if field != "description":
                raise exception.InvalidInput(
                    reason=f"'patch': /{field} cannot be removed, only replaced"
                )
            values[field] = None
        elif "value" not in op:
            raise exception.InvalidInput(reason=f"'patch': /{field} needs a value")
        elif field in ("is_public", "disabled") and isinstance(op["value"], str):
            values[field] = schema.boolean(op["value"], field)
        else:
            values[field] = op["value"]
    return _show(state()["engine"].update_flavor(ctx, obj.uuid, values))


@blueprint.delete("/<uuid>")
def delete_flavor(uuid):
    ctx = context()
    obj = visible(uuid)
    policy.authorize("mogan:flavor:delete", ctx)
    state()["engine"].delete_flavor(ctx, obj.uuid)
    return "", 204


@blueprint.get("/<uuid>/access")
def list_access(uuid):
    ctx = context()
    obj = visible(uuid)
    policy.authorize("mogan:flavor:access", ctx)
    return {"flavor_access": obj.access_list(ctx)}


@blueprint.post("/<uuid>/access")
def add_access(uuid):
    ctx = context()
    obj = visible(uuid)
    policy.authorize("mogan:flavor:access", ctx)
    data = body()
    schema.access.validate(data)
    state()["engine"].add_flavor_access(ctx, obj.uuid, data["tenant_id"])
    return "", 204


@blueprint.delete("/<uuid>/access/<project_id>")
def remove_access(uuid, project_id):
    ctx = context()
    obj = visible(uuid)
    policy.authorize("mogan:flavor:access", ctx)
    state()["engine"].remove_flavor_access(ctx, obj.uuid, project_id)
    return "", 204
