"""Flows as jobs on a taskflow jobboard (Redis), for several engines.

With ``[engine] jobboard_backend`` set, the engine that takes a request
saves the flow (``persistence``, in the shared database) and posts it as a
job; every engine runs a ``Conductor`` that claims jobs and runs them with
the same ``FlowRunner`` as the single-engine path. What keeps one flow on
one engine:

- **claims that expire.** A claim is made with ``expiry=`` (taskflow's
  Redis claims are otherwise forever) and extended at every step (a
  listener) and every quarter of the expiry (a heartbeat thread, for steps
  that last longer than a claim), as Octavia does. An engine that dies
  stops extending: after ``jobboard_expiration_time`` another engine claims
  the job and resumes the flow, running again only the step that was
  interrupted (each step is idempotent).
- **a lock per instance** (``coordination``), held while a job runs: the
  delete posted right after a create's final step waits for the create's
  bookkeeping to end, wherever it runs.
- **SIGTERM hands jobs back.** ``stop`` suspends each flow after the step
  it is running and abandons its claim, so another engine takes it over at
  once.

A flow saved but never posted (an engine killed between the two, or jobs
lost with Redis' data) is found by ``sweep``, run by one engine at a time,
and posted again.
"""

import datetime
import logging
import sys
import threading
import time
import urllib.parse

from oslo_utils import timeutils
from oslo_utils import uuidutils
from taskflow.conductors.backends import impl_nonblocking
from taskflow.jobs import backends as job_backends
from taskflow.listeners import base as listener_base
from taskflow.types import timing as tf_timing

from mogan_valence.common import coordination
from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.engine import persistence
from mogan_valence.objects import instance as instance_obj

LOG = logging.getLogger(__name__)

# How long a conductor idles between two looks at the board when it found
# nothing to claim (taskflow's default is 0.5 s: it adds to every create).
# A job this engine posts wakes its own conductor at once (``_IdleWait``).
IDLE_WAIT = 0.2
# A flow saved this many expiration times ago and on no job is an orphan.
ORPHAN_AGE_FACTOR = 2
SWEEP_LOCK = "jobboard-sweep"


class JobboardError(exception.MoganValenceException):
    msg_fmt = "The jobboard is not usable: %(reason)s"


def board_conf(url: str, namespace: str) -> dict:
    """taskflow's Redis board configuration from a redis:// URL.

    :raises JobboardError: not a Redis URL, or a bad one.
    """
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("redis", "rediss"):
        raise JobboardError(
            reason="[engine] jobboard_backend must be 'none' or a redis:// or "
            f"rediss:// URL, not a {parsed.scheme or 'schemeless'} URL"
        )
    try:
        port = parsed.port or 6379
        db = int(parsed.path.strip("/") or 0)
    except ValueError:
        # NOTE: not the parser's message: it may quote a part of a password.
        raise JobboardError(
            reason="[engine] jobboard_backend is not a valid URL: a port or "
            "database number is not a number (percent-encode '/', '?', '#' "
            "and '@' in a password)"
        ) from None
    conf = {
        "board": "redis",
        "host": parsed.hostname or "127.0.0.1",
        "port": port,
        "db": db,
        "namespace": namespace,
        "socket_timeout": 5.0,
        "socket_connect_timeout": 5.0,
        "retry_on_timeout": True,
    }
    if parsed.username:
        conf["username"] = urllib.parse.unquote(parsed.username)
    if parsed.password:
        conf["password"] = urllib.parse.unquote(parsed.password)
    if parsed.scheme == "rediss":
        conf["ssl"] = True
    return conf


def enabled(conf) -> bool:
    return (conf.engine.jobboard_backend or "none") != "none"


class ExtendExpiryListener(listener_base.Listener):
    """Extends the job's claim at every state change of the flow."""

    def __init__(self, engine, extend):
        super().__init__(engine)
        self._extend = extend

    def _flow_receiver(self, state, details):
        self._extend()

    def _task_receiver(self, state, details):
        self._extend()

    def _retry_receiver(self, state, details):
        self._extend()


class _QuietBoardFailures(logging.LoggerAdapter):
    """The conductor's log, with its board failures (one per look at the
    board, five a second while Redis is down) said once a minute, without
    the traceback."""

    EVERY = 60.0

    def warn(self, msg, *args, **kwargs):  # taskflow calls the old name
        self.warning(msg, *args, **kwargs)

    def __init__(self, logger):
        super().__init__(logger, {})
        self._last = 0.0

    def exception(self, msg, *args, **kwargs):
        now = time.monotonic()
        if now - self._last >= self.EVERY:
            self._last = now
            self.warning(
                "%s (said once a minute while it lasts): %s",
                msg % args if args else msg,
                sys.exc_info()[1],
            )


class _IdleWait(tf_timing.Timeout):
    """The conductor's wait between two looks at the board, which ``wake``
    ends early without stopping the conductor (``interrupt`` stops it).

    NOTE: the Redis board tells no conductor that a job was posted: each
    looks again after its idle wait, which added 0.1 s on average to every
    create, delete and power action on a board. The engine that posts a job
    wakes its own conductor, which claims the job at once if it has room;
    the other engines see it at their next look as before.
    """

    def __init__(self, value):
        super().__init__(value)
        self._woken = threading.Event()

    def wake(self) -> None:
        self._woken.set()

    def interrupt(self):
        super().interrupt()
        self._woken.set()

    def wait(self):
        self._woken.wait(self.value)
        self._woken.clear()

    def reset(self):
        super().reset()
        self._woken.clear()


class Conductor(impl_nonblocking.NonBlockingConductor):
    """Claims jobs with an expiry and runs their saved flows."""

    WAIT_TIMEOUT = IDLE_WAIT

    def __init__(self, name, board, store, runner, coordinator, expiry, size):
        super().__init__(
            name,
            board,
            max_simultaneous_jobs=size,
            log=_QuietBoardFailures(LOG),
        )
        self._store = store
        self._runner = runner
        self._coordinator = coordinator
        self._expiry = expiry
        self._running: dict[str, object] = {}
        self._running_lock = threading.Lock()
        self._lost: set[str] = set()
        # NOTE: the stock conductor claims without an expiry, and a Redis
        # claim without one outlives a dead engine forever.
        self._jobboard = _ExpiringClaims(board, expiry)
        self._wait_timeout = _IdleWait(self.WAIT_TIMEOUT)

    def wake(self) -> None:
        """Look at the board now: a job was just posted."""
        self._wait_timeout.wake()

    @property
    def stopping(self) -> bool:
        return self._wait_timeout.is_stopped()

    def running_jobs(self) -> list:
        with self._running_lock:
            return list(self._running.values())

    def extend(self, job) -> None:
        try:
            job.extend_expiry(self._expiry)
        except Exception as e:  # noqa: BLE001  (the heartbeat tries again)
            LOG.warning("Could not extend the claim on job %s: %s", job.name, e)

    def check_claims(self) -> None:
        """Extend the claim of every running job, and mark a job whose
        claim is no longer ours (it lapsed while Redis was out of reach, or
        Redis lost it) as lost: its flow stops at its next step, since
        another engine may take it over."""
        for job in self.running_jobs():
            self.extend(job)
            try:
                owner = self._jobboard.find_owner(job)
            except TypeError:
                owner = None  # taskflow's way of saying the claim is gone
            except Exception as e:  # noqa: BLE001  (not knowing is not losing)
                LOG.debug("Could not check the claim on job %s: %s", job.name, e)
                continue
            if owner != self._name and job.uuid not in self._lost:
                self._lost.add(job.uuid)
                LOG.error(
                    "Job %s is no longer claimed by this engine (owner: %s); "
                    "its flow stops after the step it runs",
                    job.name,
                    owner,
                )

    def _dispatch_job(self, job):
        """Run the job's flow; True when it ended (consume), False to hand
        it back (abandon): the engine stops, the claim or the instance lock
        was lost, or the end was not recorded. Never raises (taskflow would
        trash the job)."""
        with self._running_lock:
            self._running[job.uuid] = job
        try:
            return self._run_job(job)
        except Exception:  # noqa: BLE001  (handed back, tried again)
            LOG.exception("Job %s could not run; handing it back", job.name)
            time.sleep(1.0)
            return False
        finally:
            with self._running_lock:
                self._running.pop(job.uuid, None)
            self._lost.discard(job.uuid)

    def _run_job(self, job) -> bool:
        try:
            ended = self._run_locked(job, job.details["instance_uuid"])
        except coordination.CoordinationError:
            return False  # stopping while waiting for the instance: handed back
        if not ended and not self.stopping:
            # Not recorded (the database?): give it back after a pause, so
            # that the engines do not spin on it.
            time.sleep(1.0)
        return ended

    def _run_locked(self, job, instance_uuid: str) -> bool:
        name = f"instance-{instance_uuid}"
        with self._coordinator.lock(name, cancel=lambda: self.stopping) as held:

            def stop_here() -> bool:
                return self.stopping or held.lost or job.uuid in self._lost

            if stop_here():
                return False
            # Read under the lock: the flow may have moved on.
            saved = self._store.load(job.book_uuid)
            if saved is None:
                LOG.info("Job %s: its flow has ended already", job.name)
                return True
            LOG.info("Engine %s runs job %s", self._name, job.name)
            return self._runner.run(
                None,
                saved,
                resumed=True,
                listeners=[
                    lambda engine: ExtendExpiryListener(
                        engine, lambda: self.extend(job)
                    )
                ],
                stopping=stop_here,
            )


class _ExpiringClaims:
    """The board, with ``claim`` bound to an expiry."""

    def __init__(self, board, expiry):
        self._board = board
        self._expiry = expiry

    def claim(self, job, who):
        return self._board.claim(job, who, expiry=self._expiry)

    def __getattr__(self, name):
        return getattr(self._board, name)


class JobBoard:
    """This engine's view of the board: posting, the conductor, the sweep.

    :param conf: the engine's configuration.
    :param store: the shared ``persistence.FlowStore``.
    :param runner: the ``flow_runner.FlowRunner`` jobs run with.
    :param coordinator: a started ``coordination`` coordinator.
    """

    def __init__(self, conf, store, runner, coordinator):
        self.conf = conf
        self.store = store
        self.expiry = conf.engine.jobboard_expiration_time
        # NOTE: one name per process, not per host: a claim by the same name
        # is extended, not refused, so an engine restarted within the
        # expiry would otherwise keep its dead predecessor's jobs forever.
        self.name = f"{conf.engine.host}-{uuidutils.generate_uuid()[:8]}"
        try:
            self.board = job_backends.fetch(
                conf.engine.jobboard_name,
                board_conf(conf.engine.jobboard_backend, conf.engine.jobboard_name),
                persistence=store.backend,
            )
            self.board.connect()
        except JobboardError:
            raise
        except Exception as e:  # noqa: BLE001  (fatal at start, named)
            raise JobboardError(reason=str(e)) from e
        self.conductor = Conductor(
            self.name,
            self.board,
            store,
            runner,
            coordinator,
            self.expiry,
            conf.engine.workers_pool_size,
        )
        self.coordinator = coordinator
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    # -- posting ---------------------------------------------------------------

    def post(self, saved: persistence.SavedFlow) -> None:
        """Post a saved flow as a job.

        :raises JobboardError: the board could not take it (the flow stays
            saved; the sweep posts it later).
        """
        try:
            job = self.board.post(
                f"{saved.kind}-{saved.instance_uuid}",
                book=saved.book,
                details={
                    "flow_uuid": saved.flow_detail.uuid,
                    "instance_uuid": saved.instance_uuid,
                },
            )
        except Exception as e:  # noqa: BLE001  (named for the caller)
            raise JobboardError(reason=f"could not post a job: {e}") from e
        LOG.debug("Posted job %s (%s)", job.name, job.uuid)
        self.conductor.wake()

    # -- running ---------------------------------------------------------------

    def start(self) -> None:
        for target, name in (
            (self.conductor.run, "jobboard-conductor"),
            (self._heartbeat, "jobboard-heartbeat"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        LOG.info(
            "Engine %s claims jobs from the board (claims expire after %ss)",
            self.name,
            self.expiry,
        )

    def _heartbeat(self) -> None:
        """Extend the claim of every running job, for steps that last
        longer than a claim (a deploy, a cleaning)."""
        while not self._stop.wait(self.expiry / 4):
            self.conductor.check_claims()

    def stop(self, timeout: float | None) -> bool:
        """Suspend every flow after its current step and hand its job back,
        waiting up to ``timeout``.

        Returns False if flows were still running then: their claims and
        locks must then be left to expire (the process exits without
        releasing them), since a job handed back while its step still runs
        could run on two engines at once.
        """
        self.conductor.stop()
        done = self.conductor.wait(timeout)
        self._stop.set()
        if not done:
            LOG.warning(
                "%d job(s) still running; their claims expire in %ss and "
                "another engine takes them over",
                len(self.conductor.running_jobs()),
                self.expiry,
            )
            return False
        try:
            self.board.close()
        except Exception:  # noqa: BLE001
            LOG.debug("Closing the board failed", exc_info=True)
        return True

    # -- orphans ---------------------------------------------------------------

    def sweep(self) -> int:
        """Post again every saved flow that no job carries and that is old
        enough not to be on its way to the board; one engine at a time.

        Returns how many were posted.
        """
        with self.coordinator.try_lock(SWEEP_LOCK) as held:
            if not held:
                return 0
            posted = {
                job.book_uuid
                for job in self.board.iterjobs(only_unclaimed=False, ensure_fresh=True)
            }
            horizon = timeutils.utcnow() - datetime.timedelta(
                seconds=self.expiry * ORPHAN_AGE_FACTOR
            )
            count = 0
            for saved in self.store.unfinished():
                if saved.book.uuid in posted:
                    continue
                if saved.book.created_at and saved.book.created_at > horizon:
                    continue  # maybe on its way to the board
                if not self._worth_posting(saved):
                    continue
                LOG.warning(
                    "The %s of instance %s is saved but on no job; posting it again",
                    saved.kind,
                    saved.instance_uuid,
                )
                try:
                    self.post(saved)
                except JobboardError as e:
                    LOG.warning("%s", e)
                    continue
                count += 1
            return count

    def _worth_posting(self, saved: persistence.SavedFlow) -> bool:
        """False (and the flow forgotten) for a create whose instance was
        never written (the engine died in between; the caller got an error)
        and for any flow of a deleted instance."""
        try:
            instance = instance_obj.Instance.get(None, saved.instance_uuid)
        except exception.InstanceNotFound:
            status = None
        else:
            status = instance.status
        if status not in (None, states.DELETED):
            return True
        LOG.info(
            "Dropping the saved %s of %s: the instance is %s",
            saved.kind,
            saved.instance_uuid,
            status or "not there",
        )
        self.store.done(saved)
        return False
