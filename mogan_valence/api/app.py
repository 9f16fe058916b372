"""The WSGI application and its middleware pipeline.

Outermost first: oslo.middleware's HTTPProxyToWSGI (client URL through a
proxy), RequestId, CORS and RequestBodySizeLimiter in every mode; then,
for every path but the version documents, keystonemiddleware's auth_token
(``[api] auth_strategy = keystone``) or the noauth stand-in; then the Flask
app. The request context comes only from what auth_token verified
(auth_token first strips any identity header a caller sent).
"""

import logging

import flask
from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
from oslo_middleware import sizelimit

from mogan_valence.api import errors
from mogan_valence.api import policy
from mogan_valence.api.controllers import flavors
from mogan_valence.api.controllers import quotas
from mogan_valence.api.controllers import root
from mogan_valence.api.controllers import servers
from mogan_valence.common import context as mv_context

LOG = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/", "/v1", "/v1/"})
# Identity headers the noauth stand-in sets (and first removes from the
# request, as auth_token does).
_IDENTITY_HEADERS = (
    "HTTP_X_IDENTITY_STATUS",
    "HTTP_X_USER_ID",
    "HTTP_X_USER_NAME",
    "HTTP_X_PROJECT_ID",
    "HTTP_X_PROJECT_NAME",
    "HTTP_X_ROLES",
    "HTTP_X_SYSTEM_SCOPE",
    "HTTP_X_DOMAIN_ID",
    "HTTP_X_SERVICE_TOKEN",
    "HTTP_X_SERVICE_ROLES",
)


class NoAuth:
    """Every request is an admin of ``[api] noauth_project_id``."""

    def __init__(self, app, project_id: str):
        self.app = app
        self.project_id = project_id

    def __call__(self, environ, start_response):
        for key in _IDENTITY_HEADERS:
            environ.pop(key, None)
        environ.update(
            HTTP_X_IDENTITY_STATUS="Confirmed",
            HTTP_X_USER_ID="noauth",
            HTTP_X_USER_NAME="noauth",
            HTTP_X_PROJECT_ID=self.project_id,
            HTTP_X_PROJECT_NAME="noauth",
            HTTP_X_ROLES="admin,member,reader",
        )
        return self.app(environ, start_response)


class PublicPaths:
    """The version documents answer without a token."""

    def __init__(self, public_app, protected_app):
        self.public_app = public_app
        self.protected_app = protected_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        if path in PUBLIC_PATHS:
            return self.public_app(environ, start_response)
        return self.protected_app(environ, start_response)


def build_flask_app(conf: cfg.ConfigOpts, engine) -> flask.Flask:
    """The Flask app alone (no middleware).

    :param engine: the engine's ``rpcapi.EngineAPI`` (every change goes
        through it).
    """
    app = flask.Flask("mogan_valence.api")
    app.config["mogan_valence"] = {"conf": conf, "engine": engine}
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    for blueprint in (
        root.blueprint,
        flavors.blueprint,
        servers.blueprint,
        quotas.blueprint,
    ):
        app.register_blueprint(blueprint)
    errors.register(app)

    @app.before_request
    def _context():
        environ = flask.request.environ
        ctx = mv_context.RequestContext.from_environ(environ)
        ctx.is_admin = policy.is_admin(ctx) if ctx.roles else False
        flask.g.context = ctx

    @app.after_request
    def _request_id(response):
        rid = flask.request.environ.get(request_id.ENV_REQUEST_ID)
        if rid:
            response.headers["Openstack-Request-Id"] = rid
        return response

    return app


def build_wsgi_app(conf: cfg.ConfigOpts, engine):
    """The whole pipeline around the Flask app."""
    app = build_flask_app(conf, engine)
    if conf.api.auth_strategy == "keystone":
        protected = auth_token.AuthProtocol(app.wsgi_app, {"oslo_config_config": conf})
    else:
        LOG.warning(
            "[api] auth_strategy = noauth: every request acts as an admin of "
            "project %s. Use it for the embedded stack and demos only.",
            conf.api.noauth_project_id,
        )
        protected = NoAuth(app.wsgi_app, conf.api.noauth_project_id)
    pipeline = PublicPaths(app.wsgi_app, protected)
    pipeline = sizelimit.RequestBodySizeLimiter(pipeline, conf)
    pipeline = cors.CORS(pipeline, conf)
    pipeline = request_id.RequestId(pipeline)
    pipeline = http_proxy_to_wsgi.HTTPProxyToWSGI(pipeline, conf)
    return pipeline
