"""A private Redis server on loopback, for the jobboard and coordination.

Multi-engine operation keeps taskflow's jobboard and tooz's locks in Redis.
The functional tests, the benchmarks and the embedded stack each need a Redis
of their own that nobody else writes to: this starts the Debian
``redis-server`` binary on 127.0.0.1, on a free port, with its data and log
in a directory of its own, and stops it again.

With ``persistent`` (the default) every write reaches the append-only file
before Redis answers (``appendfsync always``), so that a Redis killed with
SIGKILL and started again keeps its jobs, claims and locks, with their TTLs:
a test can crash Redis under the engines the way a power cut would.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time

from mogan_valence.localstack import process

BINARY = "redis-server"
# Debian's package installs it here; /usr/bin may be missing from a test's PATH.
_DEBIAN_BINARY = "/usr/bin/redis-server"

# How often start() tries another free port when the one it picked was taken
# between free_port() and redis-server's bind().
_PORT_ATTEMPTS = 3


def _binary() -> str | None:
    found = shutil.which(BINARY)
    if found:
        return found
    return _DEBIAN_BINARY if os.access(_DEBIAN_BINARY, os.X_OK) else None


def _ping(port: int) -> bool:
    """True when Redis answers PING with PONG (not while it loads its data,
    when it answers -LOADING)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``redis-server`` on 127.0.0.1, in ``work_dir``, started and stopped by
    this process (and SIGKILLed by the kernel if this process dies).

    ``port`` None picks a free port when the server is created; ``restart()``
    keeps it, and the directory, so the data (when ``persistent``) and the
    URL stay the same across restarts.
    """

    STOP_GRACE = 10.0

    def __init__(self, work_dir: str, port: int | None = None, persistent: bool = True):
        self.work_dir = os.path.abspath(work_dir)
        self.persistent = persistent
        self._port_chosen = port is None
        self.port = port if port is not None else process.free_port()
        self.log_path = os.path.join(self.work_dir, "redis.log")
        self._proc: process.ServiceProcess | None = None
        self._started_once = False

    @staticmethod
    def available() -> bool:
        """Whether the redis-server binary is installed (Debian package
        redis-server)."""
        return _binary() is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.running

    @property
    def pid(self) -> int | None:
        return self._proc.proc.pid if self.running else None

    def _command(self) -> list[str]:
        cmd = [
            _binary() or BINARY,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--daemonize",
            "no",
            "--supervised",
            "no",
            "--dir",
            self.work_dir,
            # To standard output, which ServiceProcess sends to log_path:
            # errors before Redis opens a log file land there too.
            "--logfile",
            "",
            "--save",
            "",
        ]
        if self.persistent:
            cmd += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            cmd += ["--appendonly", "no"]
        return cmd

    def start(self, timeout: float = 30) -> "RedisServer":
        """Start and wait until Redis answers PING.

        Raises RuntimeError, naming the log file, if redis-server exits or
        does not answer within ``timeout`` seconds.
        """
        if self.running:
            return self
        if not self.available():
            raise RuntimeError(
                "redis-server is not installed (Debian package redis-server)"
            )
        os.makedirs(self.work_dir, exist_ok=True)
        attempts = _PORT_ATTEMPTS if self._port_chosen and not self._started_once else 1
        for attempt in range(attempts):
            try:
                self._start_once(timeout)
            except _PortTaken:
                if attempt + 1 == attempts:
                    raise RuntimeError(
                        f"redis-server could not bind 127.0.0.1:{self.port}; "
                        f"see {self.log_path}"
                    ) from None
                self.port = process.free_port()
                continue
            self._started_once = True
            return self
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> None:
        log_start = _size(self.log_path)
        self._proc = process.ServiceProcess(
            "redis-server", self._command(), self.log_path, cwd=self.work_dir
        )
        self._proc.start()
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self._proc.proc.poll() is not None:
                    code = self._proc.proc.returncode
                    tail = _read_from(self.log_path, log_start)
                    if "Address already in use" in tail:
                        raise _PortTaken()
                    raise RuntimeError(
                        f"redis-server exited with {code} before it answered "
                        f"PING; see {self.log_path}: {_last_line(tail)}"
                    )
                if _ping(self.port):
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server did not answer PING on port {self.port} "
                        f"within {timeout:.0f}s; see {self.log_path}"
                    )
                time.sleep(0.02)
        except BaseException:
            self._proc.stop(grace=self.STOP_GRACE)
            self._proc = None
            raise

    def stop(self) -> None:
        """SIGTERM (Redis syncs its append-only file and exits), then SIGKILL
        if it lingers. Nothing happens if it is not running."""
        if self._proc is not None:
            self._proc.stop(grace=self.STOP_GRACE)
            self._proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would. With ``persistent`` every answered
        write is already on disk."""
        if self._proc is None or self._proc.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.proc.wait(timeout=10)
        self._proc = None

    def restart(self, timeout: float = 30) -> "RedisServer":
        """Stop, then start again on the same port, in the same directory."""
        self.stop()
        return self.start(timeout=timeout)

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RedisServer {self.url} {state} in {self.work_dir}>"


class _PortTaken(Exception):
    pass


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_from(path: str, offset: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(empty log)"
