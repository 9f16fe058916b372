"""Setting the API up in a process: configuration, logging, objects, the
RPC client of the engine, the middleware pipeline."""

from oslo_config import cfg

from mogan_valence.api import app as app_mod
from mogan_valence.common import config
from mogan_valence.engine import rpc
from mogan_valence.engine import rpcapi
from mogan_valence import objects

CONF = cfg.CONF


def prepare(argv: list[str], conf: cfg.ConfigOpts = CONF):
    """Parse ``argv``, set logging up, and return the WSGI application."""
    config.parse_args(argv, conf)
    config.setup_logging(conf)
    objects.register_all()
    return app_mod.build_wsgi_app(conf, rpcapi.EngineAPI(rpc.get_transport(conf), conf))
