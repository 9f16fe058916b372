"""mogan-valence-api: the Mogan v1 REST API on a pure-Python WSGI server."""

import logging
import signal
import sys

from cheroot import wsgi
from oslo_config import cfg

from mogan_valence.api import service
from mogan_valence.common import metrics
from mogan_valence.common import states
from mogan_valence.objects import instance as instance_obj

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    application = service.prepare(sys.argv[1:] if argv is None else argv)
    try:
        # Its own port, not a route of the API: the API is the public front
        # door, and metrics are for the operator's Prometheus only.
        if CONF.api.metrics_port:
            metrics.register_instance_states(
                instance_obj.Instance.count_by_status, states.ALL_STATES
            )
            metrics.serve(CONF.api.metrics_host, CONF.api.metrics_port)
    except OSError as e:
        print(f"mogan-valence-api: [api] metrics_port: {e}", file=sys.stderr)
        return 1
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
