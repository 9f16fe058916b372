"""What the REST API costs: the same stack (engine, real Ironic, the Valence
simulator, RabbitMQ) driven through mogan-valence-api (noauth) and through
the engine's RPC API directly.

(a) a composed create -> ACTIVE plus delete -> gone, through the API and
    through RPC, runs alternated; medians and the ratio API / RPC;
(b) GET /v1/servers/detail and GET /v1/servers with 1,000 servers in the
    database (rows written through the object layer, never deployed): p50
    and p99, against the same list read directly through the objects.

    make bench-api                (RUNS=10, REQUESTS=200 by default)
"""

import os
import statistics
import time
import uuid as uuidlib

import requests

from benchmarks import common
from mogan_valence.common import polling
from mogan_valence.common import states
from mogan_valence.conf import api as api_conf
from mogan_valence.objects import instance as instance_obj
from tests.functional import harness

RUNS = int(os.environ.get("RUNS", "10"))
REQUESTS = int(os.environ.get("REQUESTS", "200"))
SERVERS = 1000
POLL = 0.05  # the same polling interval as common.Stack.wait
GONE = "gone"  # what a wait sees of a server that answers 404
NOAUTH_PROJECT = next(o.default for o in api_conf.opts if o.name == "noauth_project_id")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


class Rest:
    """The REST API as a tenant's client drives it: one HTTP session."""

    def __init__(self, url: str, stack):
        self.url = url
        self.stack = stack
        self.http = requests.Session()
        flavors = self.http.get(f"{url}/flavors", timeout=60).json()["flavors"]
        self.flavor = next(f["uuid"] for f in flavors if f["name"] == "bench-composed")

    def _wait(self, uuid: str, wanted: set[str], timeout: float = 600):
        """The last answer to GET /servers/UUID once the server's status
        (GONE for a 404) is in ``wanted``; a 404 otherwise ends the wait
        (``StatusFailed``)."""

        def status(answer):
            return GONE if answer.status_code == 404 else answer.json()["status"]

        try:
            return polling.wait_for_status(
                lambda: self.http.get(f"{self.url}/servers/{uuid}", timeout=60),
                wanted,
                status=status,
                failed={GONE} - wanted,
                timeout=timeout,
                what=f"server {uuid} to be {' or '.join(sorted(wanted))}",
                interval=POLL,
            )
        except polling.StatusTimeout as e:
            raise RuntimeError(f"{e}: {e.last.status_code} {e.last.text}") from None

    def create_and_wait(self, name: str) -> tuple[str, float]:
        """The server's uuid, and the seconds from the request to ACTIVE
        (timed as ``common.Stack.create_and_wait`` times the RPC's)."""
        began = time.time()
        answer = self.http.post(
            f"{self.url}/servers",
            json={
                "server": {
                    "name": name,
                    "image_uuid": common.IMAGE,
                    "flavor_uuid": self.flavor,
                }
            },
            timeout=60,
        )
        if answer.status_code != 201:
            raise RuntimeError(f"create {name}: {answer.status_code} {answer.text}")
        uuid = answer.json()["uuid"]
        got = self._wait(uuid, {states.ACTIVE, states.ERROR}).json()
        if got["status"] != states.ACTIVE:
            raise RuntimeError(f"{name}: {got.get('fault')}")
        return uuid, common.took(self.stack.get(uuid)["instance"], began)

    def delete_and_wait(self, uuid: str) -> float:
        """Seconds from the request to DELETED (the server answers 404)."""
        began = time.time()
        answer = self.http.delete(f"{self.url}/servers/{uuid}", timeout=60)
        if answer.status_code != 204:
            raise RuntimeError(f"delete {uuid}: {answer.status_code} {answer.text}")
        got = self._wait(uuid, {GONE, states.ERROR})
        if got.status_code != 404:
            raise RuntimeError(f"delete of {uuid}: {got.json().get('fault')}")
        return common.took(self.stack.get(uuid)["instance"], began)


def measure_lifecycle(stack, rest: Rest, runs: int) -> dict[str, list[float]]:
    """Alternate API and RPC runs so that both see the same stack state;
    the first run of each is a warm-up."""
    results = {
        key: [] for key in ("api create", "api delete", "rpc create", "rpc delete")
    }
    for i in range(runs + 1):
        uuid, create_s = rest.create_and_wait(f"bench-api-{i}")
        delete_s = rest.delete_and_wait(uuid)
        instance, rpc_create_s = stack.create_and_wait(
            "bench-composed", f"bench-rpc-{i}"
        )
        _, rpc_delete_s = stack.delete_and_wait(instance.uuid)
        if i == 0:
            continue
        results["api create"].append(create_s)
        results["api delete"].append(delete_s)
        results["rpc create"].append(rpc_create_s)
        results["rpc delete"].append(rpc_delete_s)
    return results


def insert_servers(stack, count: int) -> None:
    """``count`` ACTIVE servers of the noauth project, written through the
    object layer into the API's (and the engine's) database."""
    flavor = stack.api.get_flavor(common.CTX, "bench-composed").uuid
    for i in range(count):
        instance_obj.Instance(
            common.CTX,
            uuid=str(uuidlib.uuid4()),
            name=f"listed-{i:04d}",
            description=None,
            project_id=NOAUTH_PROJECT,
            user_id="bench",
            status=states.ACTIVE,
            power_state="power on",
            flavor_uuid=flavor,
            image_source=common.IMAGE,
            node_uuid=str(uuidlib.uuid4()),
            composed=True,
            extra={"metadata": {"role": "bench"}},
        ).create()


def time_requests(fn, n: int) -> list[float]:
    fn()  # warm-up
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return samples


def measure_lists(rest: Rest, n: int, max_limit: int):
    def get(path: str, expected: int):
        def call():
            answer = rest.http.get(f"{rest.url}{path}", timeout=60)
            found = len(answer.json()["servers"])
            if answer.status_code != 200 or found != expected:
                raise RuntimeError(f"{path}: {answer.status_code}, {found} servers")

        return call

    def direct(limit: int):
        def call():
            found = instance_obj.Instance.list(
                common.CTX, project_id=NOAUTH_PROJECT, limit=limit
            )
            if len(found) != min(limit, SERVERS):
                raise RuntimeError(f"objects: {len(found)} servers")

        return call

    default = min(SERVERS, max_limit)
    queries = [
        ("GET /v1/servers/detail", get("/servers/detail", default), default),
        ("GET /v1/servers", get("/servers", default), default),
    ]
    if max_limit >= 1000:
        queries += [
            (
                "GET /v1/servers/detail?limit=1000",
                get("/servers/detail?limit=1000", 1000),
                1000,
            ),
            ("GET /v1/servers?limit=1000", get("/servers?limit=1000", 1000), 1000),
        ]
    queries.append(
        ("GET /v1/servers/detail?limit=100", get("/servers/detail?limit=100", 100), 100)
    )
    rows = []
    baselines = {}
    for name, call, limit in queries:
        if limit not in baselines:
            baselines[limit] = time_requests(direct(limit), n)
        samples = time_requests(call, n)
        base = baselines[limit]
        rows.append(
            [
                name,
                limit,
                f"{percentile(samples, 50) * 1000:.1f}",
                f"{percentile(samples, 99) * 1000:.1f}",
                f"{percentile(base, 50) * 1000:.1f}",
                f"{percentile(base, 99) * 1000:.1f}",
                f"{percentile(samples, 50) / percentile(base, 50):.1f}x",
            ]
        )
    return rows


def main():
    with common.Stack(systems=4) as stack:
        api = harness.ApiProcess(
            stack.engine, extra="image_url_allowed_hosts = 127.0.0.1\n"
        )
        # The product's defaults: no debug logging.
        with open(api.conf_path) as f:
            text = f.read().replace("debug = true", "debug = false")
        with open(api.conf_path, "w") as f:
            f.write(text)
        api.start()
        try:
            rest = Rest(api.url, stack)
            lifecycle = measure_lifecycle(stack, rest, RUNS)
            insert_servers(stack, SERVERS)
            max_limit = next(o.default for o in api_conf.opts if o.name == "max_limit")
            list_rows = measure_lists(rest, REQUESTS, max_limit)
        finally:
            api.stop()

    medians = {k: statistics.median(v) for k, v in lifecycle.items()}
    rows = []
    for verb in ("create", "delete"):
        rows.append(
            [
                f"composed {verb}",
                f"{medians[f'api {verb}']:.2f}",
                f"{medians[f'rpc {verb}']:.2f}",
                f"{medians[f'api {verb}'] / medians[f'rpc {verb}']:.3f}",
            ]
        )
    api_total = statistics.median(
        c + d
        for c, d in zip(lifecycle["api create"], lifecycle["api delete"], strict=True)
    )
    rpc_total = statistics.median(
        c + d
        for c, d in zip(lifecycle["rpc create"], lifecycle["rpc delete"], strict=True)
    )
    rows.append(
        [
            "create + delete",
            f"{api_total:.2f}",
            f"{rpc_total:.2f}",
            f"{api_total / rpc_total:.3f}",
        ]
    )
    common.table(
        f"(a) Composed server through the REST API vs the engine's RPC API, "
        f"median of {RUNS} runs (seconds)",
        ["operation", "REST API", "RPC", "API / RPC"],
        rows,
    )
    common.table(
        f"(b) Listing with {SERVERS} servers in the database, {REQUESTS} requests "
        "each (milliseconds); direct = Instance.list through the objects, in process",
        [
            "query",
            "limit",
            "API p50",
            "API p99",
            "direct p50",
            "direct p99",
            "p50 API/direct",
        ],
        list_rows,
    )


if __name__ == "__main__":
    main()
