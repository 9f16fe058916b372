"""mogan-valence-engine: the engine's RPC service."""

import signal
import sys
import threading

from oslo_config import cfg

from mogan_valence.common import config
from mogan_valence.engine import extensions
from mogan_valence.engine import manager
from mogan_valence.engine import service
from mogan_valence.ironic import client as ironic_client
from mogan_valence.ironic import exceptions as ironic_exc
from mogan_valence import objects

CONF = cfg.CONF


def main(argv: list[str] | None = None) -> int:
    config.parse_args(sys.argv[1:] if argv is None else argv)
    config.setup_logging()
    objects.register_all()
    try:
        ironic = ironic_client.IronicClient.from_conf(CONF)
        svc = service.EngineService(manager.EngineManager(ironic, CONF))
        svc.start()
    except (extensions.ExtensionLoadError, ironic_exc.IronicError) as e:
        print(f"mogan-valence-engine: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    svc.stop(graceful_timeout=CONF.engine.graceful_shutdown_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
