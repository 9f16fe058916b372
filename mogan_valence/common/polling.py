"""Wait for something with a deadline, polling with back-off.

The first polls come fast (a fake-hardware node changes state in a fraction of
a second); the interval then grows by ``factor`` up to ``interval_max``, so a
long wait (a real deploy) costs few requests. Every wait has a deadline.

``wait_for`` waits for any condition; ``wait_for_status`` waits for a
resource to reach one of a set of statuses, with progress callbacks and a
timeout that names the last status seen. Every status wait of the CLI, the
demo, the tempest plugin, the benchmarks and the functional tests goes
through it. This module imports only oslo.config (read only when an interval
is left to the ``[engine]`` defaults), so the tempest plugin can use it.
"""

import logging
import time
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from oslo_config import cfg

LOG = logging.getLogger(__name__)

T = TypeVar("T")


class PollTimeout(Exception):
    def __init__(self, what: str, timeout: float, last, message: str | None = None):
        super().__init__(
            message or f"Timed out after {timeout:.0f}s waiting for {what}"
        )
        self.what = what
        self.timeout = timeout
        self.last = last


def wait_for(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    interval_min: float | None = None,
    interval_max: float | None = None,
    factor: float = 1.5,
    delay_first: bool = False,
    clock=time.monotonic,
    sleep=time.sleep,
) -> T:
    """Call ``fetch`` until ``done(result)``; return that result.

    ``done`` may raise to stop early (a failure state). Intervals default to
    ``[engine] poll_interval_min`` and ``poll_interval_max``. With
    ``delay_first`` the first look waits one interval: right after asking for
    a change, an immediate look only finds it still in progress.

    :raises PollTimeout: carrying the last result, when the deadline passes.
    """
    # NOTE: [engine] is read only when an interval is left to it: a caller
    # outside the services (the tempest plugin) has no such group.
    interval = interval_min
    if interval is None:
        interval = cfg.CONF.engine.poll_interval_min
    cap = interval_max
    if cap is None:
        cap = cfg.CONF.engine.poll_interval_max
    cap = max(cap, interval)
    deadline = clock() + timeout
    if delay_first:
        sleep(min(interval, timeout))
        interval = min(interval * factor, cap)
    while True:
        result = fetch()
        if done(result):
            return result
        remaining = deadline - clock()
        if remaining <= 0:
            raise PollTimeout(what, timeout, result)
        sleep(min(interval, remaining))
        interval = min(interval * factor, cap)


class StatusTimeout(PollTimeout):
    """A status wait's deadline passed; ``status`` is the last one seen."""

    def __init__(self, what: str, timeout: float, last, status):
        super().__init__(
            what,
            timeout,
            last,
            f"Timed out after {timeout:g}s waiting for {what}; last status: {status}",
        )
        self.status = status


class StatusFailed(Exception):
    """The resource reached one of the wait's ``failed`` statuses."""

    def __init__(self, what: str, status, last):
        super().__init__(f"Gave up waiting for {what}: status is {status}")
        self.what = what
        self.status = status
        self.last = last


_UNSEEN = object()


def wait_for_status(
    fetch: Callable[[], T],
    wanted: Iterable[Hashable],
    *,
    timeout: float,
    what: str,
    status: Callable[[T], Hashable] = lambda resource: resource,
    failed: Iterable[Hashable] | None = None,
    interval: float | None = None,
    interval_max: float | None = None,
    on_change: Callable[[T, Hashable], None] | None = None,
    on_poll: Callable[[T, Hashable], None] | None = None,
    clock=time.monotonic,
    sleep=time.sleep,
) -> T:
    """Call ``fetch`` until ``status(resource)`` is in ``wanted``; return
    that resource (the last one observed).

    :param fetch: one look at the resource (a dict, an object, None once it
        is gone: whatever ``status`` understands).
    :param wanted: the statuses that end the wait.
    :param status: the resource's status; by default ``fetch`` returns the
        status itself. A caller whose end is more than one field (a power
        state after a given update, a fault newer than the request) makes
        the status say so.
    :param failed: statuses that end the wait with ``StatusFailed``.
    :param interval: seconds between looks; alone, a fixed interval; with
        ``interval_max``, the first of a back-off (``wait_for``). Both None:
        ``[engine] poll_interval_min`` and ``poll_interval_max``.
    :param on_change: ``(resource, status)`` at the first look and at every
        change of status: progress lines.
    :param on_poll: ``(resource, status)`` after every look: a progress line
        rewritten in place.
    :raises StatusTimeout: (a ``PollTimeout``) naming ``what``, the timeout
        and the last status, when the deadline passes.
    :raises StatusFailed: when a status in ``failed`` is seen.
    """
    wanted = frozenset(wanted)
    failed = frozenset(failed or ())
    seen = {"status": _UNSEEN}

    def done(resource) -> bool:
        current = status(resource)
        changed = current != seen["status"]
        seen["status"] = current
        if on_poll is not None:
            on_poll(resource, current)
        if changed and on_change is not None:
            on_change(resource, current)
        if current in failed:
            raise StatusFailed(what, current, resource)
        return current in wanted

    try:
        return wait_for(
            fetch,
            done,
            timeout=timeout,
            what=what,
            interval_min=interval,
            interval_max=interval_max if interval_max is not None else interval,
            clock=clock,
            sleep=sleep,
        )
    except PollTimeout as e:
        raise StatusTimeout(what, timeout, e.last, seen["status"]) from None


def look_until_found(
    look: Callable[[], list],
    *,
    window: float,
    what: str,
    transient: tuple = (),
    interval_min: float = 0.25,
    interval_max: float = 2.0,
    clock=time.monotonic,
    sleep=time.sleep,
) -> list:
    """Call ``look`` until it finds something or ``window`` seconds passed
    (one look when 0); ``[]`` when nothing was found.

    A look that fails with one of ``transient`` counts as "nothing yet"; if
    the last look failed, its error is raised rather than claiming that
    nothing exists.
    """
    window = max(float(window), 0.0)
    failure: list[Exception] = []

    def once():
        try:
            found = look()
        except transient as e:
            LOG.warning("Looking for %s failed: %s", what, e)
            failure[:] = [e]
            return None
        failure.clear()
        return found

    try:
        return wait_for(
            once,
            bool,
            timeout=window,
            what=what,
            interval_min=min(interval_min, window) if window else 0.0,
            interval_max=interval_max,
            clock=clock,
            sleep=sleep,
        )
    except PollTimeout:
        if failure:
            raise failure[0] from None
        LOG.info("No %s appeared within %.1fs", what, window)
        return []
