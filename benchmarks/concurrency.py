"""How far one engine scales: N composed creates submitted together.

For each N: wall time until all are ACTIVE, instances per minute, the
engine's CPU time and peak RSS, Ironic GETs per second per waiting instance,
and, in the same run, a direct script making the same Ironic and Valence
calls from N threads without the engine (the backends' own ceiling).

Engine and direct runs alternate ``REPEAT`` times for each N (the two cores
are shared with Ironic, and a single run varies by about 10%); the table
shows the medians (engine/direct: the median of each run's ratio).

    make bench-concurrency         (SIZES=1,10,50,100, REPEAT=1 by default)
"""

import concurrent.futures
import os
import statistics
import time

from benchmarks import common
from benchmarks import direct
from mogan_valence.common import states

SIZES = [int(n) for n in os.environ.get("SIZES", "1,10,50,100").split(",")]
REPEAT = int(os.environ.get("REPEAT", "1"))


def through_engine(stack, n: int) -> dict:
    before_cpu = common.cpu_seconds(stack.process)
    before_gets = stack.requests().get("ironic GET", 0)
    with common.PeakRSS(stack.process) as rss:
        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(n, 32)) as pool:
            created = list(
                pool.map(
                    lambda i: stack.api.create_instance(
                        common.CTX, f"c{n}-{i}", "bench-composed", common.IMAGE
                    ),
                    range(n),
                )
            )
        pending = {i.uuid for i in created}
        while pending:
            # One list per look, as an operator's dashboard would poll.
            for got in stack.list():
                if got.uuid not in pending:
                    continue
                if got.status == states.ERROR:
                    fault = stack.get(got.uuid)["fault"]
                    raise RuntimeError(f"{got.uuid} went to ERROR: {fault.message}")
                if got.status == states.ACTIVE:
                    pending.discard(got.uuid)
            time.sleep(0.1)
        wall = time.monotonic() - began
    result = {
        "wall": wall,
        "cpu": common.cpu_seconds(stack.process) - before_cpu,
        "rss": rss.peak,
        "gets": stack.requests().get("ironic GET", 0) - before_gets,
    }
    for instance in created:
        stack.api.delete_instance(common.CTX, instance.uuid)
    for instance in created:
        stack.wait(instance.uuid, {states.DELETED}, interval=0.2)
    return result


def through_direct(stack, n: int) -> float:
    client = direct.Direct(stack)
    nodes, wall = client.create_many(n, common.IMAGE)
    client.delete_many(nodes)
    return wall


def main():
    rows, spreads = [], []
    with common.Stack(systems=max(SIZES)) as stack:
        warm_up, _ = stack.create_and_wait("bench-composed", "warm-up")  # not counted
        stack.delete_and_wait(warm_up.uuid)
        for n in SIZES:
            runs = [
                (through_engine(stack, n), through_direct(stack, n))
                for _ in range(max(1, REPEAT))
            ]
            engine = {
                key: statistics.median(run[key] for run, _ in runs)
                for key in runs[0][0]
            }
            ceiling = statistics.median(direct_wall for _, direct_wall in runs)
            ratios = [run["wall"] / direct_wall for run, direct_wall in runs]
            ratio = statistics.median(ratios)
            spreads.append(f"N={n}: " + ", ".join(f"{r:.2f}x" for r in ratios))
            rows.append(
                [
                    n,
                    f"{engine['wall']:.1f}",
                    f"{60 * n / engine['wall']:.0f}",
                    f"{ceiling:.1f}",
                    f"{ratio:.2f}x",
                    f"{engine['cpu']:.1f}",
                    f"{engine['cpu'] / n:.2f}",
                    f"{engine['rss']:.0f}",
                    f"{engine['gets'] / (n * engine['wall']):.2f}",
                ]
            )
    common.table(
        "Composed creates submitted together to one engine",
        [
            "N",
            "wall s",
            "inst/min",
            "direct wall s",
            "engine/direct",
            "engine CPU s",
            "CPU s/inst",
            "peak RSS MiB",
            "Ironic GET/s/inst",
        ],
        rows,
    )
    print("\nengine/direct of each run: " + "; ".join(spreads))
    print(
        "\ntargets: engine/direct within 1.10x at N=100; fewer than 3 Ironic GET/s per "
        "waiting instance; peak RSS under 250 MiB with 100 in flight"
    )


if __name__ == "__main__":
    main()
