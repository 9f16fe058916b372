"""oslo.messaging plumbing: transport, serializer, server and client."""

import oslo_messaging as messaging
from oslo_config import cfg

from mogan_valence.common import context as mv_context
from mogan_valence.objects import base as objects_base


class RequestContextSerializer(messaging.Serializer):
    """Objects through the object serializer, contexts as dicts."""

    def __init__(self):
        self._base = objects_base.MoganObjectSerializer()

    def serialize_entity(self, ctxt, entity):
        return self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt, entity):
        return self._base.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt):
        return ctxt.to_dict()

    def deserialize_context(self, ctxt):
        return mv_context.RequestContext.from_dict(ctxt)


def get_transport(conf: cfg.ConfigOpts = cfg.CONF, url: str | None = None):
    """The RPC transport of ``[DEFAULT] transport_url`` (or ``url``)."""
    # Typed errors raised by the engine reach clients as the same classes.
    return messaging.get_rpc_transport(
        conf, url=url, allowed_remote_exmods=["mogan_valence.common.exception"]
    )


def get_server(transport, target, endpoints):
    return messaging.get_rpc_server(
        transport,
        target,
        endpoints,
        executor="threading",
        serializer=RequestContextSerializer(),
    )


def get_client(transport, target, version_cap=None):
    return messaging.get_rpc_client(
        transport,
        target,
        version_cap=version_cap,
        serializer=RequestContextSerializer(),
    )
