"""/v1/quotas/{project_id}: a project's limits and usage.

Project readers see their own project's; admins see and set any project's.
Another project's quota is 404 to a project-scoped caller, as every other
resource of another project is.
"""

import re

import flask

from mogan_valence.api import errors
from mogan_valence.api import policy
from mogan_valence.api.controllers import body
from mogan_valence.api.controllers import context
from mogan_valence.api.controllers import state
from mogan_valence.api.schemas import quotas as schema
from mogan_valence.conf import quota as quota_conf
from mogan_valence.objects import quota as quota_obj

blueprint = flask.Blueprint("quotas", __name__, url_prefix="/v1/quotas")

_PROJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")


def _project(project_id: str) -> str:
    """The project if the caller may see its quota; 404 otherwise."""
    ctx = context()
    if _PROJECT_ID.fullmatch(project_id) and (
        ctx.is_admin or project_id == ctx.project_id
    ):
        return project_id
    raise errors.not_found("Quota of project", project_id)


def _show(project_id: str) -> dict:
    found = quota_obj.Quota.get(
        context(), project_id, quota_conf.defaults(state()["conf"])
    )
    return {
        "quota": {
            resource: {
                "limit": found.limits[resource],
                "in_use": found.in_use[resource],
                "default": resource in found.defaulted,
            }
            for resource in quota_obj.RESOURCES
        },
        "project_id": project_id,
    }


@blueprint.get("/<project_id>")
def get_quota(project_id):
    project_id = _project(project_id)
    policy.authorize("mogan:quota:get", context(), {"project_id": project_id})
    return _show(project_id)


@blueprint.put("/<project_id>")
def update_quota(project_id):
    ctx = context()
    project_id = _project(project_id)
    policy.authorize("mogan:quota:update", ctx, {"project_id": project_id})
    data = body()
    schema.update.validate(data)
    state()["engine"].update_quota(ctx, project_id, data["quota"])
    return _show(project_id)
