"""The engine service: the manager behind an RPC server, plus periodic tasks."""

import logging
import threading

import oslo_messaging as messaging
from oslo_config import cfg

from mogan_valence.engine import manager as manager_mod
from mogan_valence.engine import rpc

LOG = logging.getLogger(__name__)


class EngineService:
    def __init__(
        self,
        manager: manager_mod.EngineManager,
        transport=None,
        conf: cfg.ConfigOpts = cfg.CONF,
    ):
        self.conf = conf
        self.manager = manager
        self.transport = transport or rpc.get_transport(conf)
        self._server = None
        self._stop = threading.Event()
        self._periodic: list[threading.Thread] = []

    def start(self) -> None:
        """Resume this host's unfinished work, serve RPC, then (with a
        jobboard) claim jobs.

        In that order: a request queued for an instance while the engine was
        down finds the instance already owned by its resumed flow (and waits
        or is refused as busy), instead of starting it a second time.
        """
        self.manager.init_host()
        resumed = self.manager.resume_unfinished()
        if resumed:
            LOG.warning("Resuming %d operation(s) left unfinished", resumed)
        target = messaging.Target(
            topic=self.conf.engine.topic,
            server=self.conf.engine.host,
            version=self.manager.RPC_API_VERSION,
        )
        self._server = rpc.get_server(self.transport, target, [self.manager])
        self._server.start()
        self.manager.start_jobs()
        periodic = list(self.manager.periodic_tasks())
        for extension in self.manager.extensions:
            periodic.extend(extension.periodic_tasks())
        for task in periodic:
            thread = threading.Thread(
                target=self._run_periodic,
                args=(task,),
                name=f"periodic-{task.name}",
                daemon=True,
            )
            thread.start()
            self._periodic.append(thread)
        LOG.info(
            "Engine %s listening on topic %s",
            self.conf.engine.host,
            self.conf.engine.topic,
        )

    def _run_periodic(self, task) -> None:
        """Run ``task`` every interval, on one engine at a time: an engine
        that finds another running it skips that turn."""
        while not self._stop.wait(task.interval):
            try:
                with self.manager.coordinator.try_lock(f"periodic-{task.name}") as mine:
                    if mine:
                        task.run()
            except Exception:  # noqa: BLE001  (next run tries again)
                LOG.exception("Periodic task %s failed", task.name)

    def stop(self, graceful_timeout: float | None = None) -> bool:
        """Stop taking requests, then let work in flight finish (bounded)."""
        self._stop.set()
        if self._server is not None:
            self._server.stop()
            self._server.wait()
            self._server = None
        # Before the locks go: a periodic task (the reconciler) still
        # running holds one.
        for thread in self._periodic:
            thread.join(timeout=5)
        idle = self.manager.del_host(timeout=graceful_timeout)
        LOG.info("Engine %s stopped", self.conf.engine.host)
        return idle
