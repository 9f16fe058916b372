"""mogan-valence-api: the Mogan v1 REST API on a pure-Python WSGI server."""

import logging
import signal
import sys

from cheroot import wsgi
from oslo_config import cfg

from mogan_valence.api import service

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    application = service.prepare(sys.argv[1:] if argv is None else argv)
    server = wsgi.Server(
        (CONF.api.host, CONF.api.port),
        application,
        numthreads=CONF.api.workers,
        server_name="mogan-valence-api",
    )

    def stop(*_):
        server.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    LOG.info("mogan-valence-api listening on %s:%s", CONF.api.host, CONF.api.port)
    server.prepare()
    print(f"mogan-valence-api: listening on {server.bind_addr}", flush=True)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
