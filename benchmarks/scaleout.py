"""Several engines on one jobboard: throughput, takeover, the board's cost.

On one stack (the real Ironic, the simulator, RabbitMQ, a private Redis, one
SQLite database shared by the engines):

1. composed creates per minute with 1, 2 and 3 engines (N submitted
   together), as ratios against one engine, with the CPU seconds each
   process spent: where the bottleneck is;
2. takeover: an engine SIGKILLed in the middle of a step; the time from the
   kill to that step running again on another engine, against
   ``jobboard_expiration_time``;
3. what the board adds to one create: one engine with ``jobboard_backend =
   none`` against one engine on the board, instances made one at a time.

    make bench-scaleout         (N=30, RUNS=10, EXPIRY=10 by default;
                                 PARTS=cost,throughput,takeover)
"""

import contextlib
import logging
import os
import signal
import statistics
import tempfile
import time
import uuid as uuidlib

import psutil

from benchmarks import common
from benchmarks import direct
from mogan_valence.common import states
from mogan_valence.db import api as db_api
from mogan_valence.localstack import ironic as local_ironic
from mogan_valence.localstack import redis as local_redis
from mogan_valence.objects import instance as instance_obj
from tests import fixtures as mv_fixtures
from tests.functional import faultproxy
from tests.functional import harness

N = int(os.environ.get("N", "30"))
RUNS = int(os.environ.get("RUNS", "10"))
EXPIRY = int(os.environ.get("EXPIRY", "10"))
PARTS = os.environ.get("PARTS", "cost,throughput,takeover").split(",")


class Cluster:
    """Engines sharing a database, a topic and (unless ``board`` is off) a
    jobboard; each behind proxies of its own."""

    def __init__(self, base, engines: int, board: bool, tag: str):
        self.base = base
        self.tag = tag
        self._exit = contextlib.ExitStack()
        self.connection = f"sqlite:///{base.work}/{tag}.sqlite"
        self.topic = f"bench-{tag}-{uuidlib.uuid4().hex[:6]}"
        self.engines = []
        self.proxies = {}
        for i in range(engines):
            ironic_proxy = faultproxy.FaultProxy(base.ironic.url).start()
            valence_proxy = faultproxy.FaultProxy(base.sim.url).start()
            self._exit.callback(ironic_proxy.stop)
            self._exit.callback(valence_proxy.stop)
            engine = harness.EngineProcess(
                os.path.join(base.work, f"{tag}-engine-{i}"),
                common.transport_url(),
                ironic_proxy.url,
                extensions="valence",
                extra=harness.valence_section(
                    valence_proxy.url, base.resource_class, reconcile_interval=0
                )
                + "\n[DEFAULT]\ndebug = false\n",
                connection=self.connection,
                topic=self.topic,
                jobboard=base.redis.url if board else None,
                expiry=EXPIRY,
            )
            self.proxies[engine.host] = (ironic_proxy, valence_proxy)
            self.engines.append(engine)
        for engine in self.engines:
            engine.start()
            self._exit.callback(engine.stop)
        self.api = self.engines[0].api()
        common.read_database(self.connection)
        self._exit.callback(db_api.dispose)
        self.api.create_flavor(
            common.CTX, f"scale-{tag}", composition=common.COMPOSITION
        )
        self.flavor = f"scale-{tag}"

    def close(self):
        self._exit.close()

    def cpu(self) -> dict:
        return {
            e.host: common.cpu_seconds(psutil.Process(e.proc.proc.pid))
            for e in self.engines
            if e.proc.running
        }

    def create_many(self, n: int, prefix: str) -> list[str]:
        return [
            self.api.create_instance(
                common.CTX, f"{prefix}-{i}", self.flavor, common.IMAGE
            ).uuid
            for i in range(n)
        ]

    def wait_all(self, uuids, until=(states.ACTIVE,), timeout=600):
        pending = set(uuids)
        deadline = time.monotonic() + timeout
        while pending:
            for got in instance_obj.Instance.list(common.CTX, include_deleted=True):
                if got.uuid in pending and got.status in until:
                    pending.discard(got.uuid)
                elif got.uuid in pending and got.status == states.ERROR:
                    raise RuntimeError(f"{got.uuid} went to ERROR")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} not done after {timeout}s")
            time.sleep(0.1)

    def delete_all(self, uuids):
        for uuid in uuids:
            self.api.delete_instance(common.CTX, uuid)
        self.wait_all(uuids, until=(states.DELETED,))


class Base:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="mogan-bench-scale-")
        self._exit = contextlib.ExitStack()

    def __enter__(self):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.ironic = local_ironic.StandaloneIronic(os.path.join(self.work, "ironic"))
        os.makedirs(self.ironic.run_dir)
        self.ironic.start()
        self._exit.callback(self.ironic.stop)
        self.sim = mv_fixtures.Simulator(
            os.path.join(self.work, "valence"), systems=N + 4
        )
        self.sim.setUp()
        self._exit.callback(self.sim.cleanUp)
        self.redis = local_redis.RedisServer(os.path.join(self.work, "redis")).start()
        self._exit.callback(self.redis.stop)
        self.resource_class = f"scale-{uuidlib.uuid4().hex[:6]}"
        return self

    def __exit__(self, *exc):
        self._exit.close()

    def ironic_cpu(self) -> float:
        """Ironic's API and conductor, with every process it started."""
        process = psutil.Process(self.ironic.proc.proc.pid)
        total = common.cpu_seconds(process)
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += common.cpu_seconds(child)
        return total

    # What benchmarks.direct needs of a stack.
    @property
    def ironic_proxy(self):
        return self.ironic

    @property
    def valence_proxy(self):
        return self.sim

    composed_class = property(lambda self: self.resource_class)
    sim_podm = mv_fixtures.PODM_ID
    composition = common.COMPOSITION


def ceiling(base) -> list:
    """The same calls as N creates, made directly from N threads."""
    client = direct.Direct(base)
    ironic0, me0 = base.ironic_cpu(), _own_cpu()
    nodes, wall = client.create_many(N, common.IMAGE)
    ironic1, me1 = base.ironic_cpu(), _own_cpu()
    client.delete_many(nodes)
    return [
        "direct",
        f"{wall:.1f}",
        f"{60 * N / wall:.0f}",
        "",
        "",
        f"{ironic1 - ironic0:.1f}",
        f"{me1 - me0:.1f}",
    ]


def throughput(base) -> list[list]:
    rows = []
    first = None
    for engines in (1, 2, 3):
        cluster = Cluster(base, engines, board=True, tag=f"tp{engines}")
        try:
            warm = cluster.create_many(engines, "warm")
            cluster.wait_all(warm)
            cluster.delete_all(warm)
            cpu0, ironic0, me0 = cluster.cpu(), base.ironic_cpu(), _own_cpu()
            began = time.monotonic()
            uuids = cluster.create_many(N, "tp")
            cluster.wait_all(uuids)
            wall = time.monotonic() - began
            cpu1, ironic1, me1 = cluster.cpu(), base.ironic_cpu(), _own_cpu()
            per_min = 60 * N / wall
            first = first or per_min
            engine_cpu = sum(cpu1[h] - cpu0[h] for h in cpu1)
            rows.append(
                [
                    engines,
                    f"{wall:.1f}",
                    f"{per_min:.0f}",
                    f"{per_min / first:.2f}x",
                    f"{engine_cpu:.1f}",
                    f"{ironic1 - ironic0:.1f}",
                    f"{me1 - me0:.1f}",
                ]
            )
            cluster.delete_all(uuids)
        finally:
            cluster.close()
    return rows


def _own_cpu() -> float:
    """This process: the simulator and the proxies run in it."""
    return common.cpu_seconds(psutil.Process())


def takeover(base) -> list[float]:
    """Seconds from a SIGKILL to the interrupted step running elsewhere."""
    cluster = Cluster(base, 2, board=True, tag="takeover")
    results = []
    try:
        for round_ in range(3):
            victim, other = cluster.engines
            v_ironic, _ = cluster.proxies[victim.host]
            o_ironic, _ = cluster.proxies[other.host]
            killed = {}

            def kill(victim=victim, killed=killed):
                # The victim dies with its deploy request in flight.
                killed["t"] = time.monotonic()
                os.killpg(victim.proc.proc.pid, signal.SIGKILL)

            v_ironic.add(
                faultproxy.Rule(
                    "PUT",
                    r"/states/provision$",
                    body='"active"',
                    status=None,
                    drop=True,
                    on_hit=kill,
                )
            )
            before = len(o_ironic.hits("PUT", r"/states/provision$"))
            uuids = []
            while "t" not in killed:
                uuids += cluster.create_many(2, f"to{round_}-{len(uuids)}")
                time.sleep(2)
            victim.proc.proc.wait(timeout=30)
            deadline = killed["t"] + 10 * EXPIRY
            # The other engine deploys what it had, then the victim's.
            cluster.wait_all(uuids, timeout=10 * EXPIRY)
            hits = o_ironic.hits("PUT", r"/states/provision$")[before:]
            after = [
                h.started - killed["t"]
                for h in hits
                if h.started > killed["t"] and b'"active"' in h.body
            ]
            if not after or time.monotonic() > deadline:
                raise RuntimeError("never taken over")
            results.append(max(after))
            v_ironic.clear()
            cluster.delete_all(uuids)
            victim.proc.proc = None
            victim.start(timeout=90)
    finally:
        cluster.close()
    return results


def board_cost(base) -> list[list]:
    rows = []
    medians = {}
    for board in (False, True):
        tag = "board" if board else "none"
        cluster = Cluster(base, 1, board=board, tag=f"cost-{tag}")
        try:
            creates, deletes, cpus = [], [], []
            process = psutil.Process(cluster.engines[0].proc.proc.pid)
            for i in range(RUNS + 1):
                cpu0 = common.cpu_seconds(process)
                # Timed to the change of status the engine records, as
                # common.Stack times them (the polls' interval not counted).
                began = time.time()
                (uuid,) = cluster.create_many(1, f"{tag}-{i}")
                cluster.wait_all([uuid])
                create_s = common.took(
                    instance_obj.Instance.get(common.CTX, uuid), began
                )
                began = time.time()
                cluster.delete_all([uuid])
                delete_s = common.took(
                    instance_obj.Instance.get(common.CTX, uuid), began
                )
                if i:  # the first one warms up
                    creates.append(create_s)
                    deletes.append(delete_s)
                    cpus.append(common.cpu_seconds(process) - cpu0)
            medians[tag] = (statistics.median(creates), statistics.median(deletes))
            rows.append(
                [
                    tag,
                    f"{medians[tag][0]:.2f}",
                    f"{medians[tag][1]:.2f}",
                    f"{statistics.median(cpus):.3f}",
                ]
            )
        finally:
            cluster.close()
    for row in rows:
        tag = row[0]
        row.append(f"{medians[tag][0] / medians['none'][0]:.2f}x")
        row.append(f"{medians[tag][1] / medians['none'][1]:.2f}x")
    return rows


def main():
    with Base() as base:
        if "cost" in PARTS:
            common.table(
                f"One engine, one composed instance at a time ({RUNS} runs, medians)",
                [
                    "jobboard",
                    "create s",
                    "delete s",
                    "engine CPU s",
                    "create/none",
                    "delete/none",
                ],
                board_cost(base),
            )
        if "throughput" in PARTS:
            rows = throughput(base)
            rows.append(ceiling(base))
            common.table(
                f"{N} composed creates submitted together, 1-3 engines on one board",
                [
                    "engines",
                    "wall s",
                    "inst/min",
                    "vs 1 engine",
                    "engines CPU s",
                    "Ironic CPU s",
                    "simulator+proxies+client CPU s",
                ],
                rows,
            )
        if "takeover" in PARTS:
            took = takeover(base)
            common.table(
                f"Takeover after a SIGKILL mid-deploy (expiration time {EXPIRY}s)",
                ["round", "kill -> step again s", "vs expiry"],
                [[i + 1, f"{t:.1f}", f"{t / EXPIRY:.2f}x"] for i, t in enumerate(took)],
            )
        print(f"\nmachine: {os.cpu_count()} CPUs; every process shares them")


if __name__ == "__main__":
    main()
