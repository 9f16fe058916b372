"""Start and stop a service process safely."""

import contextlib
import os
import signal
import socket
import subprocess
import time

import requests


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServiceProcess:
    """A child in its own process group, with its output in a log file."""

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
