"""mogan-valence-engine: the engine's RPC service."""

import ctypes
import gc
import logging
import os
import signal
import sys
import threading

from oslo_config import cfg

from mogan_valence.common import config
from mogan_valence.common import coordination
from mogan_valence.common import metrics
from mogan_valence.common import states
from mogan_valence.engine import extensions
from mogan_valence.engine import jobboard
from mogan_valence.engine import manager
from mogan_valence.engine import service
from mogan_valence.ironic import client as ironic_client
from mogan_valence.ironic import exceptions as ironic_exc
from mogan_valence import objects
from mogan_valence.objects import instance as instance_obj

CONF = cfg.CONF


M_ARENA_MAX = -8  # glibc's mallopt() parameter number


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas before any worker thread starts.

    glibc gives each thread that allocates an arena of its own, up to eight
    per core; with a pool of worker threads that mostly wait on the network
    the arenas, not the data, make most of the engine's resident memory.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def _freeze_startup_objects() -> None:
    """Leave what start-up made out of the garbage collector's full passes.

    A started engine holds some 200,000 objects of its own and of its
    libraries (modules, configuration, SQLAlchemy's and taskflow's
    metadata, RPC) that live as long as it does. Python's oldest-generation
    collection walks all of them each time it runs: about 0.12 s of CPU,
    every few dozen operations (``make bench-engine-cost``). Frozen, they
    are no longer walked; what the engine allocates from then on is
    collected as before.
    """
    gc.collect()
    gc.freeze()


def serve_metrics(host: str, port: int) -> None:
    """Serve /metrics on host:port (nothing when port is 0), instances by
    state included.

    :raises OSError: the address cannot be bound.
    """
    if port:
        metrics.register_instance_states(
            instance_obj.Instance.count_by_status, states.ALL_STATES
        )
        metrics.serve(host, port)


def main(argv: list[str] | None = None) -> int:
    _limit_malloc_arenas()
    config.parse_args(sys.argv[1:] if argv is None else argv)
    config.setup_logging()
    objects.register_all()
    try:
        serve_metrics(CONF.engine.metrics_host, CONF.engine.metrics_port)
    except OSError as e:
        print(f"mogan-valence-engine: [engine] metrics_port: {e}", file=sys.stderr)
        return 1
    try:
        ironic = ironic_client.IronicClient.from_conf(CONF)
        svc = service.EngineService(manager.EngineManager(ironic, CONF))
        svc.start()
    except (
        extensions.ExtensionLoadError,
        ironic_exc.IronicError,
        coordination.CoordinationError,
        jobboard.JobboardError,
    ) as e:
        print(f"mogan-valence-engine: {e}", file=sys.stderr)
        return 1
    _freeze_startup_objects()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    if not svc.stop(graceful_timeout=CONF.engine.graceful_shutdown_timeout):
        # Work still runs: end now, without waiting for its threads and
        # without releasing its locks (they expire; see EngineManager.del_host).
        logging.shutdown()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
