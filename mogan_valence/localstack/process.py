"""Start and stop a service process safely.

A child runs in its own session (a Ctrl-C at the terminal reaches only its
parent, which stops it in order) and dies with its parent: on Linux it gets
``PR_SET_PDEATHSIG`` = SIGKILL, so that a parent killed with SIGKILL leaves no
service running behind it.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import requests

_PR_SET_PDEATHSIG = 1


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    prctl.restype = ctypes.c_int
    return prctl


# Resolved once, before any fork: the child must not load libraries.
_PRCTL = _load_prctl()


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child SIGKILLed when its parent dies.

    None where that is not possible (not Linux), or not safe.

    NOTE: the kernel sends the signal when the *thread* that forked the child
    ends, not the process. Only the main thread lives as long as the process,
    so from any other thread this returns None (the caller's own parent
    watch, if any, still applies).
    """
    if _PRCTL is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    prctl = _PRCTL

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            # The parent died between fork() and prctl(): nobody will send
            # the signal.
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def watch_parent(parent: int, interval: float = 0.5) -> threading.Thread:
    """In a child: exit at once when ``parent`` is no longer our parent.

    The portable fallback of ``die_with_parent`` (and the cover for a child
    started from a thread other than the main one).
    """

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(interval)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServiceProcess:
    """A child in its own session that dies with this process, with its
    output in a log file."""

    def __init__(self, name: str, cmd: list[str], log_path: str, env=None, cwd=None):
        self.name = name
        self.cmd = cmd
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=die_with_parent(),
                stdin=subprocess.DEVNULL,
            )

    def wait_http(self, url: str, timeout: float, ok=(200,), auth=None) -> None:
        """Poll ``url`` until it answers; fail fast if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before it was "
                    f"ready; see {self.log_path}"
                )
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=1, auth=auth).status_code in ok:
                    return
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} not ready after {timeout:.0f}s; see {self.log_path}"
        )

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the group, then SIGKILL it if it lingers."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        # Children may outlive the leader (Ironic's worker ignores SIGTERM
        # when it failed to start): kill whatever is left in the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
