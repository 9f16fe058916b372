"""Version documents (public: no token needed)."""

import flask

from mogan_valence.api import views
from mogan_valence.api.controllers import state

blueprint = flask.Blueprint("root", __name__)


def _v1(root: str) -> dict:
    return {
        "id": "v1",
        "status": "CURRENT",
        "links": [{"href": f"{root}/v1/", "rel": "self"}],
    }


@blueprint.get("/")
def versions():
    root = views.base_url(state()["conf"])
    return {
        "name": "OpenStack Mogan API",
        "description": "Bare metal compute service that composes servers on "
        "demand (mogan-valence).",
        "default_version": _v1(root),
        "versions": [_v1(root)],
    }


@blueprint.get("/v1")
@blueprint.get("/v1/")
def v1():
    root = views.base_url(state()["conf"])
    doc = _v1(root)
    for collection in ("servers", "flavors"):
        doc[collection] = [
            {"href": f"{root}/v1/{collection}/", "rel": "self"},
            {"href": f"{root}/{collection}/", "rel": "bookmark"},
        ]
    return doc
