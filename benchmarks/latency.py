"""Latency of one instance: create->ACTIVE and delete->DELETED, composed and
pre-set, on the same local stack; time split by step; requests per instance.

Each is timed from the request to the change of status the engine records
(not to the poll that sees it), as the direct calls are timed to the return
of their last call.

    make bench-latency            (RUNS=20 by default)
"""

import os
import uuid as uuidlib

from benchmarks import common
from benchmarks import direct

RUNS = int(os.environ.get("RUNS", "20"))
STEP_NAMES = {
    "compose-node": "compose",
    "enroll-node": "enroll",
    "schedule-create-instance": "schedule",
    "create-instance": "deploy",
}


def measure(stack, flavor: str, runs: int, seen: dict | None = None):
    """Create and delete times, steps, requests; ``seen`` gets the times as
    the status polls saw them (``"create"``, ``"delete"``)."""
    creates, deletes, steps, per_instance = [], [], {}, []
    for i in range(runs + 1):  # the first run warms up and is not counted
        before = stack.requests()
        instance, create_s = stack.create_and_wait(flavor, f"lat-{flavor}-{i}")
        create_seen = stack.last_seen
        instance, delete_s = stack.delete_and_wait(instance.uuid)
        after = stack.requests()
        if i == 0:
            continue
        if seen is not None:
            seen.setdefault("create", []).append(create_seen)
            seen.setdefault("delete", []).append(stack.last_seen)
        creates.append(create_s)
        deletes.append(delete_s)
        per_instance.append({k: after.get(k, 0) - before.get(k, 0) for k in after})
        for step in instance.extra.get("steps", []):
            name = STEP_NAMES.get(step["step"], step["step"])
            steps.setdefault(name, []).append(step["seconds"])
    return creates, deletes, steps, per_instance


def measure_direct(stack, runs: int):
    client = direct.Direct(stack)
    creates, deletes = [], []
    for i in range(runs + 1):
        instance_uuid = str(uuidlib.uuid4())
        node, create_s = direct.timed(
            client.create, f"mogan-{instance_uuid}", instance_uuid, common.IMAGE
        )
        _, delete_s = direct.timed(client.delete, node)
        if i:
            creates.append(create_s)
            deletes.append(delete_s)
    return creates, deletes


def main():
    with common.Stack(systems=4, preset_nodes=2) as stack:
        seen = {}
        results = {
            flavor: measure(
                stack, f"bench-{flavor}", RUNS, seen if flavor == "composed" else None
            )
            for flavor in ("composed", "preset")
        }
        direct_creates, direct_deletes = measure_direct(stack, RUNS)
    rows = []
    for flavor, (creates, deletes, _, _) in results.items():
        rows.append(
            [
                flavor,
                *(f"{v:.2f}" for v in common.median_p95(creates)),
                *(f"{v:.2f}" for v in common.median_p95(deletes)),
            ]
        )
    rows.append(
        [
            "composed, direct calls (no engine)",
            *(f"{v:.2f}" for v in common.median_p95(direct_creates)),
            *(f"{v:.2f}" for v in common.median_p95(direct_deletes)),
        ]
    )
    common.table(
        f"Latency over {RUNS} runs (seconds)",
        ["flavor", "create median", "create p95", "delete median", "delete p95"],
        rows,
    )
    for verb, engine, direct_values in (
        ("create", results["composed"][0], direct_creates),
        ("delete", results["composed"][1], direct_deletes),
    ):
        direct_median = common.median_p95(direct_values)[0]
        ratio = common.median_p95(engine)[0] / direct_median
        seen_median = common.median_p95(seen[verb])[0]
        print(
            f"\ncomposed {verb} through the engine / direct calls: {ratio:.2f}x "
            f"(target: within 1.05x); as the 50 ms status polls saw it: "
            f"{seen_median:.2f} s, {seen_median / direct_median:.2f}x",
            end="",
        )
    print()
    for flavor, (_, _, steps, per_instance) in results.items():
        common.table(
            f"Steps of a {flavor} instance (seconds)",
            ["step", "median", "p95"],
            [
                [name, *(f"{v:.2f}" for v in common.median_p95(values))]
                for name, values in steps.items()
            ],
        )
        keys = sorted({k for p in per_instance for k in p})
        common.table(
            f"Requests per {flavor} instance (create + delete)",
            ["service method", "median"],
            [
                [k, f"{common.median_p95([p.get(k, 0) for p in per_instance])[0]:.0f}"]
                for k in keys
            ],
        )


if __name__ == "__main__":
    main()
