"""A local stack for the benchmarks: the real Ironic (fake-hardware), the
Valence simulator, RabbitMQ (from tools/with_services.py), counting proxies in
front of Ironic and Valence, and the engine as a separate process."""

import contextlib
import datetime
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid as uuidlib

import psutil

from mogan_valence.common import context as mv_context
from mogan_valence.common import polling
from mogan_valence.common import states
from mogan_valence.db import api as db_api
from mogan_valence.localstack import ironic as local_ironic
from mogan_valence import objects
from mogan_valence.objects import instance as instance_obj
from mogan_valence.objects import instance_fault as fault_obj
from tests import fixtures as mv_fixtures
from tests.functional import faultproxy
from tests.functional import harness

CTX = mv_context.get_admin_context()
IMAGE = "http://127.0.0.1/images/bench.qcow2"
COMPOSITION = {"cpu_cores": 4, "ram_mib": 8192}


def transport_url() -> str:
    url = os.environ.get("MOGAN_VALENCE_TEST_TRANSPORT_URL")
    if not url:
        raise SystemExit(
            "run through tools/with_services.py (make bench-*): the "
            "engine needs RabbitMQ"
        )
    return url


class Stack:
    def __init__(self, systems: int, preset_nodes: int = 0, workers: int = 128):
        self.work = tempfile.mkdtemp(prefix="mogan-bench-")
        self.systems = systems
        self.preset_nodes = preset_nodes
        self.workers = workers
        self._exit = contextlib.ExitStack()
        # Seconds from the last create or delete request to the poll that
        # saw its end (what a client polling every 50 ms would see).
        self.last_seen = 0.0

    def __enter__(self):
        # The in-process simulator would print every request it serves.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            self.ironic = local_ironic.StandaloneIronic(
                os.path.join(self.work, "ironic")
            )
            os.makedirs(self.ironic.run_dir)
            self.ironic.start()
            self._exit.callback(self.ironic.stop)
            self.sim = mv_fixtures.Simulator(
                os.path.join(self.work, "valence"), systems=self.systems
            )
            self.sim.setUp()
            self._exit.callback(self.sim.cleanUp)
            self.ironic_proxy = faultproxy.FaultProxy(self.ironic.url).start()
            self.valence_proxy = faultproxy.FaultProxy(self.sim.url).start()
            self._exit.callback(self.ironic_proxy.stop)
            self._exit.callback(self.valence_proxy.stop)
            self.composed_class = f"bench-{uuidlib.uuid4().hex[:6]}"
            self.preset_class = f"bench-preset-{uuidlib.uuid4().hex[:6]}"
            if self.preset_nodes:
                self.ironic.enroll_fake_nodes(
                    self.preset_nodes, self.preset_class, prefix=self.preset_class
                )
            extra = harness.valence_section(
                self.valence_proxy.url, self.composed_class, reconcile_interval=0
            )
            self.engine = harness.EngineProcess(
                os.path.join(self.work, "engine"),
                transport_url(),
                self.ironic_proxy.url,
                extensions="valence",
                extra=extra + f"\n[engine]\nworkers_pool_size = {self.workers}\n",
            )
            # The product's defaults, not the test suite's fast polling.
            with open(self.engine.conf_path) as f:
                text = f.read().replace("debug = true", "debug = false")
                text = text.replace("poll_interval_min = 0.1\n", "")
                text = text.replace("poll_interval_max = 1.0\n", "")
            with open(self.engine.conf_path, "w") as f:
                f.write(text)
            profile = os.environ.get("ENGINE_PROFILE")
            if profile:
                # cProfile of the engine, written when it stops.
                self.engine.proc.cmd = [
                    sys.executable,
                    "-m",
                    "cProfile",
                    "-o",
                    profile,
                    "-m",
                    "mogan_valence.cmd.engine",
                    "--config-file",
                    self.engine.conf_path,
                ]
            self.engine.start()
            self._exit.callback(self.engine.stop)
            self.api = self.engine.api()
            read_database(self.engine.connection)
            self._exit.callback(db_api.dispose)
            self.api.create_flavor(CTX, "bench-composed", composition=COMPOSITION)
            if self.preset_nodes:
                self.api.create_flavor(
                    CTX, "bench-preset", resources={self.preset_class: 1}
                )
            self.process = psutil.Process(self.engine.proc.proc.pid)
            self.sim_podm = mv_fixtures.PODM_ID
            self.composition = COMPOSITION
            return self
        except BaseException:
            self._exit.close()
            raise

    def __exit__(self, *exc):
        self._exit.close()

    def requests(self) -> dict[str, int]:
        """Requests seen so far by each proxy, by method."""
        counts = {}
        for name, proxy in (
            ("ironic", self.ironic_proxy),
            ("valence", self.valence_proxy),
        ):
            with proxy.lock:
                for method, _path in proxy.log:
                    counts[f"{name} {method}"] = counts.get(f"{name} {method}", 0) + 1
        return counts

    def get(self, uuid: str) -> dict:
        """The instance and its latest fault, ``{"instance", "fault"}``, read
        from the database as the REST API reads them."""
        instance = instance_obj.Instance.get(CTX, uuid)
        faults = fault_obj.InstanceFault.get_latest_for_instances(CTX, [uuid])
        return {"instance": instance, "fault": faults.get(uuid)}

    def list(self) -> list:
        """Every instance, read from the database as the REST API reads it."""
        return instance_obj.Instance.list(CTX)

    def wait(self, uuid: str, until: set[str], timeout: float = 600, interval=0.05):
        """The instance and its latest fault (``get``) once its status is in
        ``until``."""

        def fetch():
            return self.get(uuid)

        try:
            return polling.wait_for_status(
                fetch,
                until,
                status=lambda got: got["instance"].status,
                timeout=timeout,
                what=f"instance {uuid} to be {' or '.join(sorted(until))}",
                interval=interval,
            )
        except polling.StatusTimeout as e:
            raise RuntimeError(str(e)) from None

    def create_and_wait(self, flavor: str, name: str):
        """The ACTIVE instance, and the seconds from the request to ACTIVE."""
        began = time.time()
        instance = self.api.create_instance(CTX, name, flavor, IMAGE)
        got = self.wait(instance.uuid, {states.ACTIVE, states.ERROR})
        self.last_seen = time.time() - began
        if got["instance"].status != states.ACTIVE:
            raise RuntimeError(f"{name}: {got['fault'] and got['fault'].message}")
        return got["instance"], took(got["instance"], began)

    def delete_and_wait(self, uuid: str):
        """The DELETED instance, and the seconds from the request to DELETED."""
        began = time.time()
        self.api.delete_instance(CTX, uuid)
        got = self.wait(uuid, {states.DELETED, states.ERROR})
        self.last_seen = time.time() - began
        if got["instance"].status != states.DELETED:
            raise RuntimeError(f"delete of {uuid}: {got['fault'].message}")
        return got["instance"], took(got["instance"], began)


def took(instance, began: float) -> float:
    """Seconds from ``began`` (``time.time()``) to the instance's last
    change of status, as the engine recorded it (``updated_at``): the polls'
    interval is not counted, as the direct calls are timed to the return of
    their last call. Polls every 50 ms would add 25 ms on average.

    NOTE: the benchmarks' database is SQLite, which keeps microseconds; a
    MySQL DATETIME column keeps whole seconds and would not do here."""
    updated = instance.updated_at
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=datetime.timezone.utc)
    return min(updated.timestamp(), time.time()) - began


class PeakRSS:
    """Samples a process's RSS in the background; .peak in MiB."""

    def __init__(self, process: psutil.Process, every: float = 0.1):
        self.process = process
        self.every = every
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss / 2**20)
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def read_database(connection: str) -> None:
    """Read instances from the engines' database in this process: status
    polls read it as the REST API does, and the engines answer none of them
    (``db_api.dispose()`` when done)."""
    objects.register_all()
    db_api.dispose()
    db_api.configure(connection=connection)


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def median_p95(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
