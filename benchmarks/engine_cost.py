"""The engine's own CPU time per composed instance (create and delete),
measured on the engine process while instances are made one at a time.

The benchmark watches each instance in the engine's database every 50 ms, as
the REST API reads it; the engine answers nothing but the create and the
delete. What an idle engine spends over the same time is taken out: idle
before the runs and after them, averaged, since an idle engine spends more
once its RPC server has started its worker threads (oslo.messaging starts
one per request, up to ``executor_thread_pool_size``, and each wakes once a
second).

    make bench-engine-cost          (RUNS=20 by default)
"""

import os
import time

from benchmarks import common

RUNS = int(os.environ.get("RUNS", "20"))


def idle_rate(stack, seconds: float = 10) -> float:
    """CPU seconds per second the engine spends doing nothing."""
    before = common.cpu_seconds(stack.process)
    time.sleep(seconds)
    return (common.cpu_seconds(stack.process) - before) / seconds


def main():
    creates, deletes = [], []
    with common.Stack(systems=2) as stack:
        idle_before = idle_rate(stack)
        for i in range(RUNS + 1):
            before = common.cpu_seconds(stack.process)
            instance, create_s = stack.create_and_wait("bench-composed", f"cost-{i}")
            middle = common.cpu_seconds(stack.process)
            _, delete_s = stack.delete_and_wait(instance.uuid)
            after = common.cpu_seconds(stack.process)
            if i:  # the first one warms up
                creates.append((middle - before, create_s))
                deletes.append((after - middle, delete_s))
        idle_after = idle_rate(stack)
        rss = stack.process.memory_info().rss / 2**20
    idle = (idle_before + idle_after) / 2
    creates = [cpu - idle * seconds for cpu, seconds in creates]
    deletes = [cpu - idle * seconds for cpu, seconds in deletes]
    both = [c + d for c, d in zip(creates, deletes, strict=True)]

    def fmt(values):
        # The kernel counts CPU time in ticks of 10 ms: the mean is the
        # figure to read, median and p95 show the spread.
        mean = sum(values) / len(values)
        return [f"{mean:.3f}", *(f"{v:.3f}" for v in common.median_p95(values))]

    common.table(
        f"Engine CPU time per composed instance over {RUNS} runs (seconds)",
        ["operation", "mean", "median", "p95"],
        [
            ["create", *fmt(creates)],
            ["delete", *fmt(deletes)],
            ["create + delete", *fmt(both)],
        ],
    )
    print(
        f"\nidle engine: {idle_before * 1000:.1f} ms CPU per second before the "
        f"runs, {idle_after * 1000:.1f} after; RSS after the runs: {rss:.0f} MiB"
    )


if __name__ == "__main__":
    main()
