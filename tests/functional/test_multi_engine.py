"""Three engines on one jobboard (Redis), one database, one RPC topic, the
real Ironic and the simulator: creates spread over the engines, an engine
killed or stopped mid-flow, Redis restarted mid-run.

Each engine reaches Ironic and Valence through proxies of its own, which
time every request: no step may run on two engines at once (two engines'
requests that change the same resource never overlap), and what each
engine did is counted. The moments of the faults come from a seeded
generator (``MOGAN_VALENCE_MULTI_SEED``), so a failing run can be repeated;
``MOGAN_VALENCE_MULTI_ROUNDS`` (default 2) rounds of kills.
"""

import os
import random
import re
import signal
import time

import pytest

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from tests import fixtures as mv_fixtures
from tests.functional import faultproxy
from tests.functional import harness

CTX = mv_context.get_admin_context()
IMAGE = "http://127.0.0.1/img.qcow2"
SEED = int(os.environ.get("MOGAN_VALENCE_MULTI_SEED", "20261207"))
# Rounds of creates with one engine SIGKILLed at a random moment.
ROUNDS = int(os.environ.get("MOGAN_VALENCE_MULTI_ROUNDS", "2"))
ENGINES = 3
CREATES = 30
# Long enough to tell a handed-back job (taken at once) from one whose
# claim had to expire.
EXPIRY = 15
SETTLE_TIMEOUT = 240
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CHANGES = ("POST", "PUT", "PATCH", "DELETE")


class Stack:
    def __init__(self, work, transport_url, ironic, redis):
        self.work = work
        self.redis = redis
        self.sim = mv_fixtures.Simulator(str(work / "valence"), systems=CREATES + 4)
        self.sim.setUp()
        self.resource_class = f"multi-{os.urandom(4).hex()}"
        self.topic = f"mogan-valence-multi-{os.urandom(4).hex()}"
        self.connection = f"sqlite:///{work}/shared.sqlite"
        self.transport_url = transport_url
        self.ironic = ironic
        self.engines: list[harness.EngineProcess] = []
        self.proxies: dict[str, dict[str, faultproxy.FaultProxy]] = {}
        for i in range(ENGINES):
            self.engines.append(self._engine(i))
        for engine in self.engines:
            engine.start()
        self.api = self.engines[0].api()

    def _engine(self, i: int) -> harness.EngineProcess:
        ironic_proxy = faultproxy.FaultProxy(self.ironic.url).start()
        valence_proxy = faultproxy.FaultProxy(self.sim.url).start()
        engine = harness.EngineProcess(
            str(self.work / f"engine-{i}"),
            self.transport_url,
            ironic_proxy.url,
            extensions="valence",
            extra=harness.valence_section(
                valence_proxy.url, self.resource_class, retries=0
            ),
            connection=self.connection,
            topic=self.topic,
            jobboard=self.redis.url,
            expiry=EXPIRY,
        )
        self.proxies[engine.host] = {"ironic": ironic_proxy, "valence": valence_proxy}
        return engine

    def stop(self):
        for engine in self.engines:
            if engine.proc.running:
                engine.stop()
        for pair in self.proxies.values():
            for proxy in pair.values():
                proxy.stop()
        self.sim.cleanUp()

    # -- what the proxies saw ---------------------------------------------------

    def changes(self):
        """(engine, service, key, hit) of every request that changed
        something; the key names the resource (and, for a POST, the
        instance or node its body is about)."""
        for host, pair in self.proxies.items():
            for service, proxy in pair.items():
                for hit in proxy.hits():
                    if hit.method not in CHANGES:
                        continue
                    path = hit.path.split("?")[0]
                    key = (service, hit.method, path)
                    if hit.method == "POST":
                        about = UUID.search(hit.body.decode(errors="replace"))
                        key += (about.group(0) if about else None,)
                    yield host, service, key, hit

    def assert_no_step_on_two_engines_at_once(self):
        by_key: dict[tuple, list] = {}
        for host, _, key, hit in self.changes():
            by_key.setdefault(key, []).append((hit.started, hit.ended, host))
        overlaps = [
            (key, a[2], b[2])
            for key, spans in by_key.items()
            for i, a in enumerate(spans)
            for b in spans[i + 1 :]
            if a[2] != b[2] and a[0] < b[1] and b[0] < a[1]
        ]
        assert overlaps == [], "requests of two engines overlapped"

    def composes_by_engine(self) -> dict[str, int]:
        return {
            host: len(pair["valence"].hits("POST", r"^/v1/nodes$"))
            for host, pair in self.proxies.items()
        }

    # -- instances -----------------------------------------------------------

    def create(self, n: int, prefix: str) -> list[str]:
        return [
            self.api.create_instance(CTX, f"{prefix}-{i}", "multi", IMAGE).uuid
            for i in range(n)
        ]

    def settle(self, uuids, until=(states.ACTIVE, states.ERROR)) -> dict:
        deadline = time.monotonic() + SETTLE_TIMEOUT
        final = {}
        while True:
            for uuid in set(uuids) - set(final):
                got = self.api.get_instance(CTX, uuid)
                if got["instance"].status in until:
                    final[uuid] = got
            if len(final) == len(set(uuids)):
                return final
            if time.monotonic() > deadline:
                stuck = {
                    u: self.api.get_instance(CTX, u)["instance"].status
                    for u in set(uuids) - set(final)
                }
                raise AssertionError(f"not settled after {SETTLE_TIMEOUT}s: {stuck}")
            time.sleep(0.3)

    def delete_all_and_check_nothing_leaked(self):
        live = [
            i.uuid
            for i in self.api.list_instances(CTX)
            if i.status not in (states.DELETED, states.DELETING)
        ]
        for uuid in live:
            self.api.delete_instance(CTX, uuid)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while any(
            i.status != states.DELETED
            for i in self.api.list_instances(CTX, include_deleted=True)
        ):
            assert time.monotonic() < deadline, "deletes did not end"
            time.sleep(0.3)
        harness.assert_nothing_leaked(
            self.api, self.ironic, self.sim, self.resource_class
        )

    def restart(self, engine: harness.EngineProcess) -> None:
        engine.proc.proc = None
        engine.start(timeout=90)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, transport_url, ironic, redis_factory):
    redis = redis_factory()
    stack = Stack(tmp_path_factory.mktemp("multi"), transport_url, ironic, redis)
    stack.api.create_flavor(CTX, "multi", composition={"cpu_cores": 2})
    yield stack
    stack.stop()


def _explained(results: dict) -> dict:
    """ACTIVE, or ERROR with a fault that says which step failed."""
    errors = {}
    for uuid, got in results.items():
        if got["instance"].status == states.ERROR:
            fault = got["fault"]
            assert fault is not None and fault.message, f"{uuid}: ERROR without a fault"
            errors[uuid] = fault.message
    return errors


def test_creates_spread_over_engines_and_survive_a_sigkill(stack):
    rng = random.Random(SEED)  # noqa: S311  (test moments, not secrets)
    for round_ in range(ROUNDS):
        uuids = stack.create(CREATES, f"kill{round_}")
        victim = stack.engines[rng.randrange(ENGINES)]
        time.sleep(rng.uniform(0.5, 4.0))
        os.killpg(victim.proc.proc.pid, signal.SIGKILL)
        victim.proc.proc.wait(timeout=30)
        restarted_at_once = round_ % 2 == 1
        if restarted_at_once:
            # Back within the claims' life (as systemd would restart it):
            # it must not keep its dead predecessor's jobs to itself.
            stack.restart(victim)
        results = stack.settle(uuids)
        # A kill is never a reason for an ERROR.
        assert _explained(results) == {}
        stack.assert_no_step_on_two_engines_at_once()
        composes = stack.composes_by_engine()
        assert sum(1 for n in composes.values() if n) >= 2, composes
        if not restarted_at_once:
            stack.restart(victim)
        stack.delete_all_and_check_nothing_leaked()
        stack.assert_no_step_on_two_engines_at_once()


def test_sigterm_hands_jobs_over_at_once(stack):
    rng = random.Random(SEED + 1)  # noqa: S311  (test moments, not secrets)
    uuids = stack.create(CREATES // 2, "term")
    victim = stack.engines[rng.randrange(ENGINES)]
    time.sleep(rng.uniform(0.5, 2.0))
    os.killpg(victim.proc.proc.pid, signal.SIGTERM)
    victim.proc.proc.wait(timeout=60)
    stopped = time.monotonic()
    results = stack.settle(uuids)
    took = time.monotonic() - stopped
    assert _explained(results) == {}
    # Handed back, not left to expire: the rest took less than a claim's life.
    assert took < EXPIRY, f"took {took:.1f}s after the SIGTERM"
    stack.assert_no_step_on_two_engines_at_once()
    stack.restart(victim)
    stack.delete_all_and_check_nothing_leaked()


def test_redis_restart_mid_run(stack):
    rng = random.Random(SEED + 2)  # noqa: S311  (test moments, not secrets)
    uuids = stack.create(CREATES // 3, "redis")
    time.sleep(rng.uniform(0.2, 2.0))
    stack.redis.restart()
    results = stack.settle(uuids)
    assert _explained(results) == {}
    more = stack.create(3, "after-redis")
    assert _explained(stack.settle(more)) == {}
    stack.assert_no_step_on_two_engines_at_once()
    stack.delete_all_and_check_nothing_leaked()
