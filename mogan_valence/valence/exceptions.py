"""Typed errors of the Valence client.

Each carries what Valence said: its code (``valence_code``), ``title`` and
``detail``, and the HTTP ``status``. Valence answers many errors as HTTP 500
with an exception class name as its code (for example ``KeyError`` for a
missing ``podm_id``), so callers decide on the type, never on the message.
"""

from mogan_valence.common import exception


class ValenceError(exception.MoganValenceException):
    msg_fmt = "Valence error: %(detail)s"

    def __init__(
        self,
        message=None,
        *,
        status=None,
        code=None,
        title=None,
        detail=None,
        method=None,
        url=None,
    ):
        self.status = status
        # NOTE: .code is the HTTP-like status every project exception has;
        # Valence's own code (a string such as "KeyError") is valence_code.
        self.code = status if isinstance(status, int) else 500
        self.valence_code = code
        self.title = title
        self.detail = detail
        self.method = method
        self.url = url
        if message is None:
            where = f"{method} {url}" if method and url else "Valence"
            parts = [p for p in (title, detail) if p]
            if code and code != title:
                parts.insert(0, str(code))
            text = ": ".join(parts) if parts else "no details given"
            message = (
                f"{where} failed ({status}): {text}" if status else f"{where}: {text}"
            )
        super().__init__(message)


class ValenceNotFound(ValenceError):
    """404: no such node, flavor or pod manager."""


class ValenceConflict(ValenceError):
    """409: a name or index already in use, or no capacity."""


class ValenceNoCapacity(ValenceConflict):
    """The pod has no free system (or drive) matching the request."""


class ValenceValidationError(ValenceError):
    """400: Valence refused the request body."""


class ValenceServerError(ValenceError):
    """5xx, including Valence's framework errors answered as 500."""


class ValenceServiceUnavailable(ValenceServerError):
    """503: Valence (or its database) is unavailable for now."""


class ValenceUnreachable(ValenceError):
    """No answer: connection refused, reset or timed out."""


class ValenceComposeOutcomeUnknown(ValenceError):
    """A compose was sent but its outcome could not be learnt.

    The node may exist: look it up by its name before composing again.
    """


class InvalidComposition(exception.InvalidInput):
    msg_fmt = "Invalid composition: %(reason)s"
