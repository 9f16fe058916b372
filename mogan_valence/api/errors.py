"""Error answers in Mogan's envelope.

python-moganclient reads ``error_message`` and ``json.loads`` it without a
guard, so the inner value is always a JSON string of ``{faultcode,
faultstring, debuginfo}``; a traceback never reaches a body.
"""

import json
import logging

import flask
from werkzeug import exceptions as http_exc

from mogan_valence.common import exception
from mogan_valence.common import secrets

LOG = logging.getLogger(__name__)


class ApiError(exception.MoganValenceException):
    """An answer with an HTTP status, raised by controllers."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def not_found(kind: str, ident) -> ApiError:
    return ApiError(f"{kind} {ident} could not be found.", 404)


def envelope(code: int, message: str) -> flask.Response:
    fault = {
        "faultcode": "Client" if code < 500 else "Server",
        "faultstring": secrets.mask(message),
        "debuginfo": None,
    }
    return flask.Response(
        json.dumps({"error_message": json.dumps(fault)}),
        status=code,
        mimetype="application/json",
    )


def register(app: flask.Flask) -> None:
    @app.errorhandler(exception.MoganValenceException)
    def _ours(error):
        code = getattr(error, "code", 500)
        if not isinstance(code, int) or code < 400:
            code = 500
        if code >= 500:
            LOG.error("Request failed: %s", secrets.mask(str(error)))
            return envelope(code, "The server could not complete the request.")
        return envelope(code, error.message)

    @app.errorhandler(http_exc.HTTPException)
    def _http(error):
        if error.code == 404:
            return envelope(404, "The resource could not be found.")
        return envelope(error.code or 500, error.description or error.name)

    @app.errorhandler(Exception)
    def _unexpected(error):
        LOG.exception(
            "Unexpected error in %s %s", flask.request.method, flask.request.path
        )
        return envelope(500, "The server could not complete the request.")
