"""Locks and bounded slots shared by every engine (tooz), or by the threads
of one engine when no coordination backend is configured.

- ``lock(name)``: one holder at a time (an instance is acted on by one
  engine; the reconciler runs on one engine);
- ``try_lock(name)``: the same, without waiting (yields whether it holds);
- ``slot(name, size)``: at most ``size`` holders at a time (concurrent
  composes on one pod manager), made of ``size`` locks.

With tooz, held locks expire unless refreshed: a heartbeat thread refreshes
them, so the locks of an engine that dies are free again after the
backend's lock timeout (``[engine] jobboard_expiration_time`` unless the
URL has ``?timeout=``).
"""

import contextlib
import logging
import random
import threading
import time
import urllib.parse

from oslo_config import cfg

from mogan_valence.common import exception

LOG = logging.getLogger(__name__)

# How long a slot waits between two rounds of tries, at most.
SLOT_POLL_MAX = 1.0


class CoordinationError(exception.MoganValenceException):
    msg_fmt = "Coordination failed: %(reason)s"


def backend_url(conf: cfg.ConfigOpts) -> str | None:
    """``[coordination] backend_url``, or the jobboard's Redis when unset."""
    url = conf.coordination.backend_url
    if url:
        return url
    board = conf.engine.jobboard_backend
    if board and board != "none":
        return board
    return None


class Held:
    """What ``lock`` yields: ``lost`` turns true when the backend says the
    lock is no longer ours (it expired while this engine could not reach
    the backend, or the backend lost its data): whoever holds it must stop
    at its next step."""

    lost = False


class LocalCoordinator:
    """Locks of one process: the single-engine path."""

    def __init__(self):
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float | None = None, cancel=None):
        lock = self._lock(name)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not lock.acquire(timeout=0.2):
            if deadline is not None and time.monotonic() > deadline:
                raise CoordinationError(reason=f"lock {name} not free after {timeout}s")
            if cancel is not None and cancel():
                raise CoordinationError(reason=f"gave up waiting for lock {name}")
        try:
            yield Held()
        finally:
            lock.release()

    @contextlib.contextmanager
    def try_lock(self, name: str):
        lock = self._lock(name)
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                lock.release()

    @contextlib.contextmanager
    def slot(self, name: str, size: int, timeout: float | None = None):
        with self._guard:
            slots = self._slots.setdefault(name, threading.BoundedSemaphore(size))
        if not slots.acquire(timeout=timeout):
            raise CoordinationError(reason=f"no {name} slot free after {timeout}s")
        try:
            yield
        finally:
            slots.release()


class ToozCoordinator:
    """Locks in a tooz backend (Redis), shared by every engine."""

    def __init__(self, url: str, member_id: str):
        from tooz import coordination as tooz_coordination

        self._url = url
        self._member_id = member_id
        try:
            self._coordinator = tooz_coordination.get_coordinator(
                url, member_id.encode()
            )
        except Exception as e:  # noqa: BLE001  (named without the URL)
            raise CoordinationError(
                reason="[coordination] backend_url (or [engine] jobboard_backend) "
                f"is not a usable tooz URL ({type(e).__name__})"
            ) from None
        self._stop = threading.Event()
        self._heart: threading.Thread | None = None
        self._held: dict[int, tuple[Held, object]] = {}
        self._held_lock = threading.Lock()

    def start(self) -> None:
        self._coordinator.start(start_heart=False)
        # NOTE: tooz's own heart beats once per lock timeout, the very time
        # a lock lives; beating four times as often keeps held locks alive.
        interval = max(float(getattr(self._coordinator, "lock_timeout", 30)) / 4, 0.5)
        self._heart = threading.Thread(
            target=self._beat, args=(interval,), name="coordination-heart", daemon=True
        )
        self._heart.start()
        LOG.info("Coordinating with other engines as %s", self._member_id)

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self._coordinator.heartbeat()
            except Exception as e:  # noqa: BLE001  (the next beat tries again)
                LOG.warning("Coordination heartbeat failed: %s", e)
            self._check_held()

    def _check_held(self) -> None:
        """Mark the locks the backend no longer gives us as lost (not on a
        failure to ask: that is not knowing, and the lock may well be ours)."""
        with self._held_lock:
            held = list(self._held.values())
        for handle, lock in held:
            try:
                ours = lock.is_still_owner()
            except Exception as e:  # noqa: BLE001  (unknown: not lost)
                LOG.debug("Could not check lock %s: %s", lock.name, e)
                continue
            if not ours and not handle.lost:
                handle.lost = True
                LOG.error("Lock %s is no longer held by this engine", lock.name)

    def stop(self) -> None:
        self._stop.set()
        try:
            self._coordinator.stop()
        except Exception as e:  # noqa: BLE001  (the locks expire anyway)
            LOG.warning("Could not leave the coordination backend cleanly: %s", e)

    def _get(self, name: str):
        return self._coordinator.get_lock(f"mogan-valence-{name}".encode())

    @staticmethod
    def _release(lock, name: str) -> None:
        try:
            lock.release()
        except Exception as e:  # noqa: BLE001  (it expires by itself)
            LOG.warning("Could not release lock %s: %s", name, e)

    def _try(self, name: str):
        """The lock ``name`` if it could be taken now, else None (a backend
        that cannot be asked, Redis restarting, counts as not free)."""
        lock = self._get(name)
        try:
            return lock if lock.acquire(blocking=False) else None
        except Exception as e:  # noqa: BLE001  (not taken; asked again later)
            LOG.warning("Could not ask for lock %s: %s", name, e)
            return None

    @staticmethod
    def _wait(take, what: str, timeout: float | None, cancel=None):
        """Call ``take`` until it gives something, backing off; give up
        after ``timeout`` or once ``cancel()`` is true.

        NOTE: polled rather than a blocking acquire, so that a backend that
        is down for a moment is waited for, not fatal.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.05
        while True:
            got = take()
            if got is not None:
                return got
            if deadline is not None and time.monotonic() > deadline:
                raise CoordinationError(reason=f"{what} not free after {timeout}s")
            if cancel is not None and cancel():
                raise CoordinationError(reason=f"gave up waiting for {what}")
            time.sleep(delay)
            delay = min(delay * 1.5, SLOT_POLL_MAX)

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float | None = None, cancel=None):
        """Hold ``name``; wait for it up to ``timeout`` (or until
        ``cancel()`` is true), then raise ``CoordinationError``."""
        lock = self._wait(lambda: self._try(name), f"lock {name}", timeout, cancel)
        held = Held()
        with self._held_lock:
            self._held[id(held)] = (held, lock)
        try:
            yield held
        finally:
            with self._held_lock:
                self._held.pop(id(held), None)
            self._release(lock, name)

    @contextlib.contextmanager
    def try_lock(self, name: str):
        lock = self._try(name)
        try:
            yield lock is not None
        finally:
            if lock is not None:
                self._release(lock, name)

    @contextlib.contextmanager
    def slot(self, name: str, size: int, timeout: float | None = None):
        def take():
            for i in random.sample(range(size), size):
                lock = self._try(f"{name}-slot-{i}")
                if lock is not None:
                    return f"{name}-slot-{i}", lock
            return None

        slot_name, lock = self._wait(take, f"a {name} slot", timeout)
        try:
            yield
        finally:
            self._release(lock, slot_name)


def get_coordinator(conf: cfg.ConfigOpts, member_id: str):
    """The coordinator this configuration asks for (not started).

    Unless the URL says otherwise, a lock outlives a dead engine as long as
    a jobboard claim does (``[engine] jobboard_expiration_time``): the job
    of a dead engine is taken over when both have expired.
    """
    url = backend_url(conf)
    if not url:
        return LocalCoordinator()
    return ToozCoordinator(
        tooz_url(url, conf.engine.jobboard_expiration_time), member_id
    )


def tooz_url(url: str, expiry: int) -> str:
    """The URL as tooz reads it, for a redis:// URL as the jobboard reads it.

    tooz takes the database and TLS from the query and the password as it
    is written: ``/N`` becomes ``db=N``, ``rediss://`` becomes ``ssl=true``,
    a percent-encoded password is decoded (unless it holds a character a
    URL cannot carry there), and ``timeout`` defaults to ``expiry``.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return url  # another tooz backend: as given
    query = urllib.parse.parse_qs(parts.query)
    query.setdefault("timeout", [str(expiry)])
    db = parts.path.strip("/")
    if db:
        query.setdefault("db", [db])
    if parts.scheme == "rediss":
        query.setdefault("ssl", ["true"])
    netloc = parts.netloc
    if parts.password:
        password = urllib.parse.unquote(parts.password)
        if not set(password) & set("/?#"):
            user = parts.username or ""
            host = netloc.rpartition("@")[2]
            netloc = f"{user}:{password}@{host}"
    return urllib.parse.urlunsplit(
        ("redis", netloc, "", urllib.parse.urlencode(query, doseq=True), "")
    )
