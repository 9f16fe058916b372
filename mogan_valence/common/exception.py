"""Exceptions shared by every layer.

Each exception formats ``msg_fmt`` with the keyword arguments it was raised
with, so that the message names what is wrong; ``code`` is the HTTP-like
status a client would map it to.
"""


class MoganValenceException(Exception):
    msg_fmt = "An unknown error occurred."
    code = 500

    def __init__(self, message: str | None = None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                # A programming error in a raise site must not hide the
                # original problem: keep the template and the arguments.
                message = f"{self.msg_fmt} {kwargs!r}"
        self.message = message
        super().__init__(message)


class NotFound(MoganValenceException):
    msg_fmt = "Resource could not be found."
    code = 404


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance)s could not be found."


class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor)s could not be found."


class Conflict(MoganValenceException):
    msg_fmt = "Conflict."
    code = 409


class DuplicateName(Conflict):
    msg_fmt = "A %(resource)s named %(name)s already exists."


class Forbidden(MoganValenceException):
    msg_fmt = "Not allowed: %(reason)s"
    code = 403


class InvalidInput(MoganValenceException):
    msg_fmt = "Invalid input: %(reason)s"
    code = 400


class InvalidStateTransition(MoganValenceException):
    msg_fmt = "Instance %(instance)s cannot go from %(current)s to %(target)s."
    code = 409


class MigrationError(MoganValenceException):
    msg_fmt = "Database migration failed: %(reason)s"


class QuotaExceeded(Forbidden):
    msg_fmt = (
        "Quota exceeded for %(resource)s in project %(project)s: %(requested)d "
        "requested, %(in_use)d of %(limit)d in use."
    )


class ServiceUnavailable(MoganValenceException):
    msg_fmt = "%(service)s is unavailable: %(reason)s"
    code = 503
