"""Wait for something with a deadline, polling with back-off.

The first polls come fast (a fake-hardware node changes state in a fraction of
a second); the interval then grows by ``factor`` up to ``interval_max``, so a
long wait (a real deploy) costs few requests. Every wait has a deadline.
"""

import time
from collections.abc import Callable
from typing import TypeVar

from oslo_config import cfg

T = TypeVar("T")


class PollTimeout(Exception):
    def __init__(self, what: str, timeout: float, last):
        super().__init__(f"Timed out after {timeout:.0f}s waiting for {what}")
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
    conf = cfg.CONF.engine
    interval = interval_min if interval_min is not None else conf.poll_interval_min
    cap = interval_max if interval_max is not None else conf.poll_interval_max
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
