"""How long each step of an operation took, kept on the instance.

Operators (``mogan-valence server show``), the demo and the benchmarks read
``instance.extra["steps"]``: a list of ``{"op", "step", "seconds", "outcome"}``
in the order the steps ended.
"""

import threading
import time

from taskflow import states as tf_states
from taskflow.types import notifier

STEPS_KEY = "steps"
# Atoms named so (an extension's too) only act when they revert: their
# success is not a step.
SILENT_SUFFIX = "-on-revert"
# Bookkeeping atoms (no outside system); their reverts still count.
_SILENT_ON_SUCCESS = frozenset(
    {
        "instance-to-error-on-revert",
        "mark-instance-active",
        "mark-instance-deleting",
        "mark-instance-deleted",
    }
)


class StepTimer:
    def __init__(self, op: str):
        self.op = op
        self.steps: list[dict] = []
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self, step: str) -> None:
        with self._lock:
            self._started[step] = time.monotonic()

    def end(self, step: str, outcome: str = "ok") -> None:
        with self._lock:
            began = self._started.pop(step, None)
            if began is None:
                return
            self.steps.append(
                {
                    "op": self.op,
                    "step": step,
                    "outcome": outcome,
                    "seconds": round(time.monotonic() - began, 3),
                }
            )

    # -- taskflow atom notifications ---------------------------------------------

    def attach(self, engine) -> None:
        engine.atom_notifier.register(notifier.Notifier.ANY, self._on_atom)

    def _on_atom(self, state, details) -> None:
        name = details.get("task_name")
        if not name:
            return  # retry controllers decide, they do no work
        silent = name in _SILENT_ON_SUCCESS or name.endswith(SILENT_SUFFIX)
        if silent and state in (tf_states.RUNNING, tf_states.SUCCESS):
            return
        if state == tf_states.RUNNING:
            self.start(name)
        elif state == tf_states.SUCCESS:
            self.end(name)
        elif state == tf_states.FAILURE:
            self.end(name, "failed")
        elif state == tf_states.REVERTING:
            self.start(f"{name} (revert)")
        elif state == tf_states.REVERTED:
            self.end(f"{name} (revert)", "reverted")
        elif state == tf_states.REVERT_FAILURE:
            self.end(f"{name} (revert)", "failed")

    def save_to(self, instance) -> None:
        """Append to the instance's record (call save() afterwards)."""
        extra = dict(instance.extra or {})
        extra[STEPS_KEY] = list(extra.get(STEPS_KEY) or []) + self.steps
        instance.extra = extra
