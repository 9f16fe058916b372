"""The engine's workers: a bounded pool, and one owner per instance.

An instance is owned by at most one worker at a time, from the moment its
operation is handed over until that worker ends (including the bookkeeping
it does after the instance shows ACTIVE or ERROR). Both ways work arrives,
an RPC request and the resume of a saved flow at start, go through
``WorkerPool.submit``, so they can never run one instance twice.

The threads are daemons: a stopping engine waits for them only as long as
``[engine] graceful_shutdown_timeout`` says. Work still running then is
abandoned safely, since every flow is saved after each step and resumed by
the next start.
"""

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable

from mogan_valence.common import exception

LOG = logging.getLogger(__name__)


def busy(instance_uuid: str) -> exception.Conflict:
    return exception.Conflict(
        f"instance {instance_uuid} is still busy with its previous operation; try again"
    )


class WorkerPool:
    """``size`` daemon threads taking work from one queue."""

    def __init__(self, size: int, name: str = "engine"):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._owners: dict[str, concurrent.futures.Future] = {}
        # Held while an owner is checked and set, and by callers that must
        # change an instance and hand it over to a worker as one step.
        self.lock = threading.RLock()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as e:  # noqa: BLE001  (kept on the future)
                LOG.exception("Operation %s failed unexpectedly", fn.__name__)
                future.set_exception(e)

    # -- ownership ----------------------------------------------------------------

    def owner(self, instance_uuid: str) -> concurrent.futures.Future | None:
        """The unfinished work that owns this instance, if any."""
        with self.lock:
            future = self._owners.get(instance_uuid)
        return future if future is not None and not future.done() else None

    def check_free(self, instance_uuid: str) -> None:
        """:raises Conflict: a worker still owns the instance."""
        if self.owner(instance_uuid) is not None:
            raise busy(instance_uuid)

    def wait_for_owner(self, instance_uuid: str, timeout: float) -> None:
        """Give the worker that owns an instance up to ``timeout`` to end."""
        owner = self.owner(instance_uuid)
        if owner is not None:
            concurrent.futures.wait([owner], timeout=timeout)

    def submit(
        self, instance_uuid: str, fn: Callable, *args
    ) -> concurrent.futures.Future:
        """Run ``fn(*args)`` on a worker that owns ``instance_uuid`` until
        it ends.

        :raises Conflict: another worker owns it.
        :raises exception.MoganValenceException: the pool is stopping.
        """
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self.lock:
            if self._stopping:
                raise exception.MoganValenceException(
                    "the engine is stopping; try again"
                )
            self.check_free(instance_uuid)
            self._owners[instance_uuid] = future
        future.add_done_callback(lambda f: self._forget(instance_uuid, f))
        self._queue.put((future, fn, args))
        return future

    def _forget(self, instance_uuid: str, future) -> None:
        with self.lock:
            if self._owners.get(instance_uuid) is future:
                del self._owners[instance_uuid]

    # -- stopping -----------------------------------------------------------------

    def pending(self) -> set[concurrent.futures.Future]:
        with self.lock:
            return {f for f in self._owners.values() if not f.done()}

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no work runs; False if some still does at ``timeout``."""
        _, not_done = concurrent.futures.wait(self.pending(), timeout=timeout)
        return not not_done

    def stop(self, timeout: float | None = None) -> bool:
        """Take no more work; wait up to ``timeout`` for work in flight.

        Returns False if work was still running when the time ran out; its
        threads are left to die with the process.
        """
        with self.lock:
            self._stopping = True
        idle = self.wait_idle(timeout)
        for _ in self._threads:
            self._queue.put(None)
        if not idle:
            LOG.warning(
                "Stopping with %d operation(s) still running; they resume at "
                "the next start",
                len(self.pending()),
            )
        return idle
