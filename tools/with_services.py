#!/usr/bin/env python3
"""Run a command with private database servers started on loopback.

Starts, in a fresh directory and on free ports, every server of the list below
that this machine has installed (Debian packages: postgresql, mariadb-server,
rabbitmq-server), exports where they are, runs the command, and stops them
whatever happened:

- OS_TEST_DBAPI_ADMIN_CONNECTION: ';'-separated admin URLs (oslo.db's
  opportunistic test fixtures read it);
- MOGAN_VALENCE_TEST_TRANSPORT_URL: the RabbitMQ broker for the functional
  tests (oslo.messaging transport URL).

A server that is not installed is reported and left out: the tests that need
it skip, saying so, unless MOGAN_VALENCE_REQUIRE_SERVICES=1 (CI), where this
script fails instead.

Usage: tools/with_services.py [--services postgresql,mariadb] -- COMMAND...
"""

import argparse
import concurrent.futures
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

READY_TIMEOUT = 60.0


def log(msg: str) -> None:
    print(f"with_services: {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, name: str, logfile: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see {logfile}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} not ready after {READY_TIMEOUT:.0f}s; see {logfile}")


def stop_group(proc: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGTERM a child's process group, SIGKILL it if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run(cmd: list[str], logfile: str, **kw) -> None:
    with open(logfile, "ab") as out:
        subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT, **kw)


class PostgreSQL:
    name = "postgresql"

    def __init__(self, base: str):
        self.dir = os.path.join(base, "postgresql")
        self.port = free_port()
        self.log = os.path.join(base, "postgresql.log")
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        self.bindir = os.path.dirname(bins[-1]) if bins else None
        # PostgreSQL refuses to run as root: run it as the postgres user.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def available(self) -> bool:
        return self.bindir is not None

    def start(self) -> str:
        os.makedirs(self.dir)
        if self.as_user:
            shutil.chown(self.dir, "postgres")
            shutil.chown(os.path.dirname(self.dir), "postgres")
        run(
            self.as_user
            + [
                f"{self.bindir}/initdb",
                "-D",
                f"{self.dir}/data",
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
            self.log,
        )
        run(
            self.as_user
            + [
                f"{self.bindir}/pg_ctl",
                "-D",
                f"{self.dir}/data",
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c full_page_writes=off -c synchronous_commit=off",
                "-l",
                f"{self.dir}/server.log",
                "start",
            ],
            self.log,
        )
        wait_for_port(self.port, None, self.name, self.log)
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            run(
                self.as_user
                + [
                    f"{self.bindir}/pg_ctl",
                    "-D",
                    f"{self.dir}/data",
                    "-m",
                    "immediate",
                    "stop",
                ],
                self.log,
            )


class MariaDB:
    name = "mariadb"
    USER = "openstack_citest"

    def __init__(self, base: str):
        self.dir = os.path.join(base, "mariadb")
        self.port = free_port()
        self.sock = os.path.join(self.dir, "mysqld.sock")
        self.log = os.path.join(base, "mariadb.log")
        self.proc = None

    def available(self) -> bool:
        return bool(shutil.which("mariadb-install-db") and self._server())

    @staticmethod
    def _server() -> str | None:
        return shutil.which("mariadbd") or (
            "/usr/sbin/mariadbd" if os.path.exists("/usr/sbin/mariadbd") else None
        )

    def start(self) -> str:
        os.makedirs(self.dir)
        user = ["--user=root"] if os.geteuid() == 0 else []
        run(
            [
                "mariadb-install-db",
                f"--datadir={self.dir}/data",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ]
            + user,
            self.log,
        )
        out = open(self.log, "ab")  # noqa: SIM115  (kept open for the server's life)
        self.proc = subprocess.Popen(
            [
                self._server(),
                "--no-defaults",
                f"--datadir={self.dir}/data",
                f"--socket={self.sock}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.dir}/mariadb.pid",
                "--innodb-flush-log-at-trx-commit=0",
                "--skip-log-bin",
            ]
            + user,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, self.proc, self.name, self.log)
        sql = "".join(
            f"CREATE USER '{self.USER}'@'{host}' IDENTIFIED BY '{self.USER}';"
            f"GRANT ALL PRIVILEGES ON *.* TO '{self.USER}'@'{host}' WITH GRANT OPTION;"
            for host in ("localhost", "127.0.0.1")
        )
        run(
            ["mariadb", "--no-defaults", "-S", self.sock, "-u", "root", "-e", sql],
            self.log,
        )
        return f"mysql+pymysql://{self.USER}:{self.USER}@127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_group(self.proc)


class RabbitMQ:
    """A private RabbitMQ node, with its own epmd, that touches nothing global."""

    name = "rabbitmq"
    SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"

    def __init__(self, base: str):
        self.dir = os.path.join(base, "rabbitmq")
        self.port = free_port()
        self.epmd_port = free_port()
        self.log = os.path.join(base, "rabbitmq.log")
        self.proc = None

    def available(self) -> bool:
        return os.path.exists(self.SERVER) and bool(shutil.which("epmd"))

    def _env(self) -> dict:
        node = f"mvtest{self.port}@localhost"
        return dict(
            os.environ,
            HOME=self.dir,
            RABBITMQ_NODENAME=node,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(free_port()),
            RABBITMQ_MNESIA_BASE=f"{self.dir}/mnesia",
            RABBITMQ_LOG_BASE=f"{self.dir}/log",
            RABBITMQ_LOGS="-",
            RABBITMQ_PID_FILE=f"{self.dir}/rabbitmq.pid",
            RABBITMQ_ENABLED_PLUGINS_FILE=f"{self.dir}/enabled_plugins",
            RABBITMQ_CONFIG_FILE=f"{self.dir}/rabbitmq",
            ERL_EPMD_PORT=str(self.epmd_port),
        )

    def start(self) -> str:
        os.makedirs(self.dir)
        with open(f"{self.dir}/enabled_plugins", "w") as f:
            f.write("[].\n")
        with open(f"{self.dir}/rabbitmq.conf", "w") as f:
            f.write("loopback_users = none\n")
        out = open(self.log, "ab")  # noqa: SIM115  (kept open for the server's life)
        self.proc = subprocess.Popen(
            [self.SERVER],
            env=self._env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, self.proc, self.name, self.log)
        return f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_group(self.proc)
        # epmd daemonises out of the process group; ours has a private port.
        subprocess.run(
            ["epmd", "-port", str(self.epmd_port), "-kill"],
            capture_output=True,
            check=False,
        )


SERVICES = {"postgresql": PostgreSQL, "mariadb": MariaDB, "rabbitmq": RabbitMQ}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", default=",".join(SERVICES))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    required = os.environ.get("MOGAN_VALENCE_REQUIRE_SERVICES") == "1"

    base = tempfile.mkdtemp(prefix="mogan-valence-services-")
    wanted = [SERVICES[name](base) for name in args.services.split(",") if name]
    missing = [s.name for s in wanted if not s.available()]
    if missing:
        if required:
            log(f"not installed: {', '.join(missing)} (required here)")
            return 1
        log(f"not installed, tests that need them will skip: {', '.join(missing)}")
    present = [s for s in wanted if s.available()]
    started = []
    env = dict(os.environ)
    try:
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=max(len(present), 1)
        ) as pool:
            futures = {pool.submit(s.start): s for s in present}
            urls = []
            errors = []
            for future, service in futures.items():
                try:
                    url = future.result()
                    started.append(service)
                    if service.name == "rabbitmq":
                        env["MOGAN_VALENCE_TEST_TRANSPORT_URL"] = url
                    else:
                        urls.append(url)
                except Exception as e:  # noqa: BLE001  (reported, then fatal)
                    errors.append(f"{service.name}: {e}")
        if errors:
            for err in errors:
                log(f"failed to start {err}")
            return 1
        if started:
            names = ", ".join(s.name for s in started)
            log(f"started {names} in {time.monotonic() - t0:.1f}s")
        if urls:
            # sqlite:// stays in the list: setting the variable replaces
            # oslo.db's default, which is SQLite alone.
            env["OS_TEST_DBAPI_ADMIN_CONNECTION"] = ";".join(["sqlite://"] + urls)
        return subprocess.call(command, env=env)
    finally:
        for service in reversed(started):
            service.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
