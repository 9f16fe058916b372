"""The engine's own CPU time per composed instance (create and delete),
measured on the engine process while instances are made one at a time.

The benchmark polls the instance's status every 50 ms, and the engine's
answers to those polls are part of the CPU time measured. Their cost is
measured apart at the end (``POLLS`` get_instance calls on an idle engine)
and the tables show the figures with and without it.

    make bench-engine-cost          (RUNS=20 by default)
"""

import os
import time

from benchmarks import common

RUNS = int(os.environ.get("RUNS", "20"))
POLLS = int(os.environ.get("POLLS", "400"))


def poll_cost(stack, uuid: str, idle: float) -> float:
    """The engine's CPU seconds per get_instance answered, idle otherwise."""
    began = time.monotonic()
    before = common.cpu_seconds(stack.process)
    for _ in range(POLLS):
        stack.api.get_instance(common.CTX, uuid)
    spent = common.cpu_seconds(stack.process) - before
    return (spent - idle * (time.monotonic() - began)) / POLLS


def main():
    creates, deletes, create_polls, delete_polls = [], [], [], []
    with common.Stack(systems=2) as stack:
        idle_before = common.cpu_seconds(stack.process)
        time.sleep(5)
        idle = (common.cpu_seconds(stack.process) - idle_before) / 5
        for i in range(RUNS + 1):
            before = common.cpu_seconds(stack.process)
            polls = stack.polls
            instance, create_s = stack.create_and_wait("bench-composed", f"cost-{i}")
            middle = common.cpu_seconds(stack.process)
            middle_polls = stack.polls
            _, delete_s = stack.delete_and_wait(instance.uuid)
            after = common.cpu_seconds(stack.process)
            if i:  # the first one warms up
                # Take out what an idle engine spends over the same time.
                creates.append(middle - before - idle * create_s)
                deletes.append(after - middle - idle * delete_s)
                create_polls.append(middle_polls - polls)
                delete_polls.append(stack.polls - middle_polls)
        per_poll = poll_cost(stack, instance.uuid, idle)
        rss = stack.process.memory_info().rss / 2**20
    flow_creates = [
        c - per_poll * n for c, n in zip(creates, create_polls, strict=True)
    ]
    flow_deletes = [
        d - per_poll * n for d, n in zip(deletes, delete_polls, strict=True)
    ]
    both = [c + d for c, d in zip(creates, deletes, strict=True)]
    flow_both = [c + d for c, d in zip(flow_creates, flow_deletes, strict=True)]

    def fmt(values):
        return [f"{v:.3f}" for v in common.median_p95(values)]

    common.table(
        f"Engine CPU time per composed instance over {RUNS} runs (seconds)",
        ["operation", "median", "p95", "without polls: median", "p95"],
        [
            ["create", *fmt(creates), *fmt(flow_creates)],
            ["delete", *fmt(deletes), *fmt(flow_deletes)],
            ["create + delete", *fmt(both), *fmt(flow_both)],
        ],
    )
    print(
        f"\nstatus polls (every 50 ms): {common.median_p95(create_polls)[0]:.0f} per "
        f"create, {common.median_p95(delete_polls)[0]:.0f} per delete (median), "
        f"{per_poll * 1000:.2f} ms of engine CPU each (over {POLLS})"
    )
    print(
        f"idle engine: {idle * 1000:.1f} ms CPU per second; RSS after the runs: "
        f"{rss:.0f} MiB"
    )


if __name__ == "__main__":
    main()
