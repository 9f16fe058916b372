"""Request contexts carried with every RPC call."""

from oslo_context import context


class RequestContext(context.RequestContext):
    pass


def get_admin_context() -> RequestContext:
    return RequestContext(is_admin=True, overwrite=False)
