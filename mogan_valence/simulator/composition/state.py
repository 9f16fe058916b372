"""The simulator's memory: block states, composed systems, task monitors,
reservations and injected faults, all behind one lock.

Nothing runs in the background: time-driven changes (a task finishing, a
reservation expiring) are applied by ``tick()``, which every request calls
first, so what a client sees is always consistent with the clock.
"""

import dataclasses
import datetime
import itertools
import threading
import time
import uuid as uuidlib

from mogan_valence.simulator.composition import errors
from mogan_valence.simulator.composition import pod as pod_mod
from mogan_valence.simulator.composition import requests as req_mod

UNUSED = "Unused"
COMPOSING = "Composing"
COMPOSED = "Composed"
FAILED = "Failed"


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclasses.dataclass
class BlockState:
    state: str = UNUSED
    system: str | None = None
    reservation: str | None = None


@dataclasses.dataclass
class System:
    id: str
    name: str
    block_ids: list[str]
    extra: dict
    # False while an asynchronous compose runs: not yet a member.
    visible: bool = True
    deleting: bool = False


@dataclasses.dataclass
class Task:
    id: str
    kind: str  # "compose" | "delete"
    system_id: str
    deadline: float
    outcome: str = "ok"  # "ok" | "stick" | "fail"
    fail_status: int = 500
    fail_block_state: str = UNUSED
    # Once done: (status, headers, body) of the final answer.
    result: tuple | None = None


@dataclasses.dataclass
class Reservation:
    id: str
    created: str
    deadline: float
    block_ids: list[str]
    # One plan per stanza: ("compose", Request, block ids) or ("decompose", id)
    plans: list
    manifest: dict
    client: str | None = None


@dataclasses.dataclass
class Fault:
    """An injected failure for the next ``count`` operations of a kind.

    :param operation: compose (POST to Systems, or a Compose Apply), delete,
        get (GET of a composed system), monitor (a task monitor GET), task
        (the next task created), any.
    :param status: HTTP status to answer with (0: answer normally).
    :param delay: seconds to wait first.
    :param after_commit: do the operation, then answer ``status`` anyway
        (the outcome is unknown to the client: the system exists).
    :param drop: close the connection instead of answering (after the
        operation when ``after_commit``).
    :param outcome: for ``task``: "stick" (202 forever) or "fail" (the
        monitor ends with ``status`` and an error body, nothing done).
    :param block_state: for a ``task`` that fails a compose: the state its
        blocks are left in, Unused or Failed ("manual intervention").
    """

    operation: str
    count: int = 1
    status: int = 500
    delay: float = 0.0
    after_commit: bool = False
    drop: bool = False
    outcome: str = "fail"
    block_state: str = UNUSED

    OPERATIONS = ("compose", "delete", "get", "monitor", "task", "any")

    @classmethod
    def from_body(cls, body) -> "Fault":
        if not isinstance(body, dict) or body.get("operation") not in cls.OPERATIONS:
            raise errors.bad_value(
                "operation",
                body.get("operation") if isinstance(body, dict) else body,
                f"one of {', '.join(cls.OPERATIONS)}",
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(body) - known
        if unknown:
            raise errors.bad_value(
                sorted(unknown)[0], body[sorted(unknown)[0]], "unknown"
            )
        fault = cls(**body)
        if not isinstance(fault.count, int) or fault.count < 1:
            raise errors.bad_value("count", fault.count, "a positive integer")
        if not isinstance(fault.status, int) or not (
            fault.status == 0 or 400 <= fault.status <= 599
        ):
            raise errors.bad_value("status", fault.status, "0 or an HTTP error")
        if fault.outcome not in ("stick", "fail"):
            raise errors.bad_value("outcome", fault.outcome, "stick or fail")
        if fault.block_state not in (UNUSED, FAILED):
            raise errors.bad_value("block_state", fault.block_state, "Unused or Failed")
        if not isinstance(fault.delay, (int, float)) or fault.delay < 0:
            raise errors.bad_value("delay", fault.delay, "seconds, at least 0")
        return fault

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def error(self) -> errors.RedfishError | None:
        if not self.status:
            return None
        return errors.internal(f"injected fault: {self.operation}", self.status)


class State:
    """:param task_seconds: how long a task monitor answers 202.
    :param reservation_duration: seconds a reservation holds its blocks.
    """

    def __init__(
        self,
        pod: pod_mod.Pod,
        forms: tuple[str, ...] = req_mod.FORMS,
        task_seconds: float = 1.0,
        reservation_duration: float = 300.0,
    ):
        self.pod = pod
        self.forms = forms
        self.task_seconds = task_seconds
        self.reservation_duration = reservation_duration
        self.lock = threading.RLock()
        self.blocks = {b.id: BlockState() for b in pod.blocks}
        self.systems: dict[str, System] = {}
        self.tasks: dict[str, Task] = {}
        self.reservations: dict[str, Reservation] = {}
        self.expired: set[str] = set()
        self.faults: list[Fault] = []
        self._task_ids = itertools.count(1)
        self._reservation_ids = itertools.count(1)

    # -- time ------------------------------------------------------------------

    def tick(self) -> None:
        with self.lock:
            now = time.monotonic()
            for task in self.tasks.values():
                if task.result is None and task.outcome != "stick":
                    if now >= task.deadline:
                        self._finish(task)
            for rid in [r.id for r in self.reservations.values() if now >= r.deadline]:
                self._release(rid)
                self.expired.add(rid)

    # -- faults ------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, operation: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.operation in (operation, "any"):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # -- composition ----------------------------------------------------------------

    def _free(self, block_id: str, reservation: str | None = None) -> bool:
        st = self.blocks[block_id]
        return st.state == UNUSED and st.reservation in (None, reservation)

    def plan(
        self, request: req_mod.Request, taken: set[str] = frozenset()
    ) -> list[str]:
        """The blocks ``request`` would get now; raises 409 if none."""
        with self.lock:
            if request.form == req_mod.SPECIFIC:
                for block_id in request.block_ids:
                    st = self.blocks[block_id]
                    if block_id in taken:
                        raise errors.in_use(block_id, "asked for twice in the manifest")
                    if st.state != UNUSED:
                        raise errors.in_use(
                            block_id, f"{st.state.lower()} (system {st.system})"
                        )
                    if st.reservation is not None:
                        raise errors.in_use(
                            block_id, f"reserved by reservation {st.reservation}"
                        )
                return list(request.block_ids)
            free = {b for b in self.blocks if self._free(b) and b not in taken}
            chosen = pod_mod.plan(self.pod, free, request.requirements, request.zone)
            if chosen is not None:
                return chosen
            where = f" in zone {request.zone}" if request.zone else ""
            if pod_mod.plan(
                self.pod, set(self.blocks), request.requirements, request.zone
            ):
                raise errors.exhausted(
                    f"the blocks that would fit{where} are in use or reserved"
                )
            raise errors.exhausted(f"no zone{where} has blocks that fit, even unused")

    def compose(
        self,
        request: req_mod.Request,
        block_ids: list[str],
        visible: bool = True,
        reservation: str | None = None,
    ) -> System:
        with self.lock:
            for block_id in block_ids:
                if not self._free(block_id, reservation):
                    raise errors.in_use(block_id, "no longer free")
            system = System(
                id=str(uuidlib.uuid4()),
                name=request.name,
                block_ids=list(block_ids),
                extra=dict(request.extra),
                visible=visible,
            )
            for block_id in block_ids:
                st = self.blocks[block_id]
                st.state = COMPOSED if visible else COMPOSING
                st.system = system.id
                st.reservation = None
            self.systems[system.id] = system
            return system

    def get_system(self, system_id: str, hidden: bool = False) -> System:
        with self.lock:
            system = self.systems.get(system_id)
            if system is None or not (system.visible or hidden):
                raise errors.not_found(f"/redfish/v1/Systems/{system_id}")
            return system

    def decompose(self, system_id: str, block_state: str = UNUSED) -> System:
        with self.lock:
            system = self.systems.pop(system_id, None)
            if system is None:
                raise errors.not_found(f"/redfish/v1/Systems/{system_id}")
            for block_id in system.block_ids:
                st = self.blocks[block_id]
                st.state = block_state
                st.system = None
            return system

    def compute_of(self, system: System) -> pod_mod.Block:
        return next(
            self.pod.block(b)
            for b in system.block_ids
            if self.pod.block(b).type == pod_mod.COMPUTE
        )

    # -- tasks ---------------------------------------------------------------------

    def new_task(self, kind: str, system_id: str) -> Task:
        with self.lock:
            task = Task(
                id=str(next(self._task_ids)),
                kind=kind,
                system_id=system_id,
                deadline=time.monotonic() + self.task_seconds,
            )
            fault = self.take_fault("task")
            if fault is not None:
                task.outcome = fault.outcome
                task.fail_status = fault.status or 500
                task.fail_block_state = fault.block_state
            self.tasks[task.id] = task
            return task

    def _finish(self, task: Task) -> None:
        system = self.systems.get(task.system_id)
        if task.outcome == "fail":
            error = errors.internal(f"injected fault: the {task.kind} task failed")
            error.status = task.fail_status
            task.result = (error.status, {}, error.body())
            if task.kind == "compose" and system is not None:
                self.decompose(system.id, task.fail_block_state)
            elif system is not None:
                system.deleting = False
            return
        if task.kind == "compose":
            if system is None:  # reset by the admin meanwhile
                task.result = (404, {}, errors.not_found(task.system_id).body())
                return
            system.visible = True
            for block_id in system.block_ids:
                self.blocks[block_id].state = COMPOSED
            task.result = (201, {"Location": f"/redfish/v1/Systems/{system.id}"}, None)
        else:
            if system is not None:
                self.decompose(system.id)
            task.result = (204, {}, None)

    def get_task(self, task_id: str) -> Task:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                raise errors.not_found(
                    f"/redfish/v1/TaskService/TaskMonitors/{task_id}"
                )
            return task

    # -- reservations -------------------------------------------------------------

    def reserve(self, plans: list, manifest: dict, client: str | None) -> Reservation:
        with self.lock:
            block_ids = [b for p in plans if p[0] == "compose" for b in p[2]]
            for block_id in block_ids:
                if not self._free(block_id):
                    raise errors.in_use(block_id, "no longer free")
            rid = str(next(self._reservation_ids))
            reservation = Reservation(
                id=rid,
                created=now_iso(),
                deadline=time.monotonic() + self.reservation_duration,
                block_ids=block_ids,
                plans=plans,
                manifest=manifest,
                client=client,
            )
            for block_id in block_ids:
                self.blocks[block_id].reservation = rid
            self.reservations[rid] = reservation
            return reservation

    def get_reservation(self, rid: str) -> Reservation:
        with self.lock:
            reservation = self.reservations.get(rid)
            if reservation is not None:
                return reservation
            if rid in self.expired:
                raise errors.RedfishError(
                    404,
                    "ResourceNotFound",
                    f"The composition reservation {rid} has expired (after "
                    f"the ReservationDuration); its blocks are no longer "
                    "reserved.",
                    resolution="Preview and reserve again.",
                )
            raise errors.not_found(
                f"/redfish/v1/CompositionService/CompositionReservations/{rid}"
            )

    def _release(self, rid: str) -> None:
        reservation = self.reservations.pop(rid, None)
        if reservation is None:
            return
        for block_id in reservation.block_ids:
            if self.blocks[block_id].reservation == rid:
                self.blocks[block_id].reservation = None

    def release(self, rid: str) -> None:
        with self.lock:
            self.get_reservation(rid)
            self._release(rid)

    def expire(self, rid: str | None = None) -> list[str]:
        """Make one reservation (or all) expire now."""
        with self.lock:
            ids = [rid] if rid is not None else list(self.reservations)
            for one in ids:
                self.get_reservation(one).deadline = 0.0
            self.tick()
            return ids

    # -- for tests -------------------------------------------------------------

    def reset(self) -> list[str]:
        """Forget every system, task and reservation; return the BMCs of
        the systems that were composed (to power them off)."""
        with self.lock:
            bmcs = [self.compute_of(s).bmc_uuid for s in self.systems.values()]
            self.systems.clear()
            self.tasks.clear()
            self.reservations.clear()
            self.faults.clear()
            for st in self.blocks.values():
                st.state, st.system, st.reservation = UNUSED, None, None
            return bmcs

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "systems": [
                    {
                        "id": s.id,
                        "name": s.name,
                        "blocks": list(s.block_ids),
                        "bmc_uuid": self.compute_of(s).bmc_uuid,
                        "visible": s.visible,
                        "deleting": s.deleting,
                    }
                    for s in self.systems.values()
                ],
                "blocks": [
                    {
                        "id": b.id,
                        "type": b.type,
                        "zones": list(b.zones),
                        "state": self.blocks[b.id].state,
                        "reserved": self.blocks[b.id].reservation is not None,
                        "reservation": self.blocks[b.id].reservation,
                        "system": self.blocks[b.id].system,
                        "bmc_uuid": b.bmc_uuid,
                    }
                    for b in self.pod.blocks
                ],
                "reservations": [
                    {
                        "id": r.id,
                        "blocks": list(r.block_ids),
                        "expires_in": max(0.0, r.deadline - time.monotonic()),
                    }
                    for r in self.reservations.values()
                ],
                "tasks": [
                    {
                        "id": t.id,
                        "kind": t.kind,
                        "system": t.system_id,
                        "outcome": t.outcome,
                        "done": t.result is not None,
                    }
                    for t in self.tasks.values()
                ],
                "faults": [f.as_dict() for f in self.faults],
            }
