"""The engine's own CPU time per composed instance (create and delete),
measured on the engine process while instances are made one at a time.

    make bench-engine-cost          (RUNS=20 by default)
"""

import os
import time

from benchmarks import common

RUNS = int(os.environ.get("RUNS", "20"))


def main():
    creates, deletes = [], []
    with common.Stack(systems=2) as stack:
        idle_before = common.cpu_seconds(stack.process)
        time.sleep(5)
        idle = (common.cpu_seconds(stack.process) - idle_before) / 5
        for i in range(RUNS + 1):
            before = common.cpu_seconds(stack.process)
            instance, create_s = stack.create_and_wait("bench-composed", f"cost-{i}")
            middle = common.cpu_seconds(stack.process)
            _, delete_s = stack.delete_and_wait(instance.uuid)
            after = common.cpu_seconds(stack.process)
            if i:  # the first one warms up
                # Take out what an idle engine spends over the same time.
                creates.append(middle - before - idle * create_s)
                deletes.append(after - middle - idle * delete_s)
        rss = stack.process.memory_info().rss / 2**20
    common.table(
        f"Engine CPU time per composed instance over {RUNS} runs (seconds)",
        ["operation", "median", "p95"],
        [
            ["create", *(f"{v:.3f}" for v in common.median_p95(creates))],
            ["delete", *(f"{v:.3f}" for v in common.median_p95(deletes))],
        ],
    )
    print(
        f"\nidle engine: {idle * 1000:.1f} ms CPU per second; RSS after the runs: "
        f"{rss:.0f} MiB"
    )


if __name__ == "__main__":
    main()
