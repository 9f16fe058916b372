"""What the simulated Valence knows: pod managers, flavors, composed nodes
and (ExpEther) pooled devices.

All changes happen under one lock, so concurrent composes never hand out the
same system, drive or device (unless the double-allocation fault asks for
the real ExpEther driver's race); every change is written to
``<state dir>/valence.json`` (atomically) before the request that made it is
answered.
"""

import dataclasses
import datetime
import json
import logging
import os
import tempfile
import threading
import time
import uuid as uuidlib

from mogan_valence.simulator import pod as pod_mod

LOG = logging.getLogger(__name__)

ZERO_REQUEST_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_PODM_NAME = "podm1"
# Stable, so that a configuration written once keeps working across restarts
# and fresh state directories.
DEFAULT_PODM_UUID = str(
    uuidlib.uuid5(uuidlib.NAMESPACE_URL, "mogan-valence-simulator/podm1")
)
# The simulator's backends, and the driver Valence names each with.
BACKENDS = {"rsd": "redfishv1", "expether": "expether"}
NO_SYSTEM = "There are no computer systems available for this allocation request."
NO_DRIVE = "There are no drives available for this allocation request."
# What Valence answers when etcd is unreachable: python-etcd's exception,
# serialised like any non-Valence exception (HTTP 500, class name as code).
ETCD_CONNECTION_FAILED = "EtcdConnectionFailed"
ETCD_DETAIL = (
    'Connection to etcd failed due to MaxRetryError("HTTPConnectionPool('
    "host='127.0.0.1', port=2379): Max retries exceeded with url: /v2/keys/"
    'nodes (Caused by NewConnectionError: [Errno 111] Connection refused)")'
)


def now() -> str:
    """Valence's timestamp format (not ISO 8601)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    )


class StateError(RuntimeError):
    """The state directory cannot serve this simulator."""


class ValenceError(Exception):
    """An error answered with Valence's envelope."""

    def __init__(self, status: int, code: str, title: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail

    def body(self) -> dict:
        return {
            "request_id": ZERO_REQUEST_ID,
            "code": self.code,
            "status": self.status,
            "title": self.title,
            "detail": self.detail,
        }


def not_found(detail: str) -> ValenceError:
    return ValenceError(404, "Not Found", "Resource could not be found", detail)


def no_capacity(detail: str = NO_SYSTEM) -> ValenceError:
    # The Redfish error a PODM sends, relayed as Valence does (case 20).
    return ValenceError(
        409, "Base.1.0.ResourcesStateMismatch", "Conflict during allocation", detail
    )


@dataclasses.dataclass
class Fault:
    """An injected failure for the next ``count`` operations of a kind.

    :param status: HTTP status to answer with (0: answer normally).
    :param delay: seconds to wait before answering.
    :param after_commit: do the operation first, then wait and answer
        ``status`` anyway (a compose leaves its node allocated, in state
        Failed); otherwise wait and fail before doing anything.
    :param code: the error's ``code`` (and ``title``), as Valence names a
        non-Valence exception; ``EtcdConnectionFailed`` answers exactly what
        Valence answers when its database is down (use status 500).
    """

    operation: str
    count: int = 1
    status: int = 500
    delay: float = 0.0
    after_commit: bool = False
    code: str | None = None
    # ExpEther compose only: answer normally, but wait ``delay`` seconds
    # between choosing the EESV and attaching to it, without holding the
    # lock, as the real driver's check-then-attach does; composes within
    # that window all get the same EESV.
    double_allocate: bool = False

    # list: GET /v1/nodes; get: GET /v1/nodes/<uuid>.
    OPERATIONS = ("compose", "release", "list", "get")

    def error(self) -> ValenceError | None:
        if not self.status:
            return None
        if self.code:
            detail = (
                ETCD_DETAIL
                if self.code == ETCD_CONNECTION_FAILED
                else f"injected fault: {self.operation} failed"
            )
            return ValenceError(self.status, self.code, self.code, detail)
        if self.status == 409:
            return no_capacity()
        if self.status == 503:
            return ValenceError(
                503,
                "Service Unavailable",
                "Connection Error",
                f"injected fault: {self.operation} unavailable",
            )
        return ValenceError(
            self.status,
            "Base.1.0.InternalError",
            "Internal error",
            f"injected fault: {self.operation} failed",
        )

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_body(cls, body, backend: str) -> "Fault":
        """The fault a ``POST /admin/faults`` asks for; 400 if it is wrong."""
        if not isinstance(body, dict) or body.get("operation") not in cls.OPERATIONS:
            raise _bad_request(f"operation must be one of {', '.join(cls.OPERATIONS)}")
        try:
            code = body.get("code")
            if code is not None and not isinstance(code, str):
                raise TypeError("code must be a string")
            double = bool(body.get("double_allocate"))
            if double and body["operation"] != "compose":
                raise ValueError("double_allocate is a fault of compose")
            if double and backend != "expether":
                raise ValueError(
                    "double_allocate is the ExpEther driver's race: "
                    "start the simulator with --backend expether"
                )
            fault = cls(
                operation=body["operation"],
                count=int(body.get("count", 1)),
                status=int(body.get("status", 0 if double else 500)),
                delay=float(body.get("delay", 1.0 if double else 0)),
                after_commit=bool(body.get("after_commit", False)),
                code=code or None,
                double_allocate=double,
            )
        except (TypeError, ValueError) as e:
            raise _bad_request(str(e)) from e
        if double and (fault.status or fault.after_commit or fault.code):
            raise _bad_request(
                "double_allocate answers normally: no status, code or after_commit"
            )
        return fault


def _bad_request(detail: str) -> ValenceError:
    return ValenceError(400, "Bad Request", "Bad Request", detail)


class State:
    def __init__(
        self,
        pod: pod_mod.Pod,
        state_dir: str | None,
        podm_url: str,
        podm_username: str,
        podm_password: str,
        backend: str = "rsd",
    ):
        if backend not in BACKENDS:
            raise StateError(f"unknown backend {backend!r}")
        self.pod = pod
        self.backend = backend
        self.lock = threading.RLock()
        self.path = os.path.join(state_dir, "valence.json") if state_dir else None
        self.pod_managers: dict[str, dict] = {}
        self.flavors: dict[str, dict] = {}
        self.nodes: dict[str, dict] = {}
        self.devices: dict[str, dict] = {}
        self.power: dict[str, str] = {}
        self.next_index = 1
        self.faults: list[Fault] = []
        # --fault-double-allocation: the race window of every compose.
        self.race_window: float | None = None
        # Whether the default pod manager was (re)created by this start.
        self.registered_default = False
        if self.path and os.path.exists(self.path):
            self._load()
        driver = BACKENDS[backend]
        if DEFAULT_PODM_UUID not in self.pod_managers:
            self.registered_default = True
            stamp = now()
            self.pod_managers[DEFAULT_PODM_UUID] = {
                "uuid": DEFAULT_PODM_UUID,
                "name": DEFAULT_PODM_NAME,
                "url": podm_url,
                "driver": driver,
                "authentication": [
                    {
                        "type": "basic",
                        "auth_items": {
                            "username": podm_username,
                            "password": podm_password,
                        },
                    }
                ],
                # Valence HEAD: null for redfishv1 (a stub), "Online" once
                # the ExpEther manager answered.
                "status": podm_status(driver),
                "created_at": stamp,
                "updated_at": stamp,
            }
        else:
            self.pod_managers[DEFAULT_PODM_UUID]["url"] = podm_url
        self.save()

    # -- persistence -------------------------------------------------------

    def _load(self) -> None:
        with open(self.path) as f:
            data = json.load(f)
        # State files from before the ExpEther backend are RSD ones.
        saved = data.get("backend", "rsd")
        if saved != self.backend:
            raise StateError(
                f"{self.path} holds the state of a --backend {saved} simulator; "
                f"start with --backend {saved} or another --state-dir"
            )
        self.pod_managers = data.get("pod_managers", {})
        self.flavors = data.get("flavors", {})
        self.nodes = data.get("nodes", {})
        self.devices = data.get("devices", {})
        self.power = data.get("power", {})
        self.next_index = data.get("next_index", 1)
        known = {s.id for s in self.pod.systems}
        for node in self.nodes.values():
            if node["system_id"] not in known:
                LOG.warning(
                    "Node %s uses system %s, which the pod no longer has",
                    node["uuid"],
                    node["system_id"],
                )

    def save(self) -> None:
        if not self.path:
            return
        data = {
            "backend": self.backend,
            "devices": self.devices,
            "pod_managers": self.pod_managers,
            "flavors": self.flavors,
            "nodes": self.nodes,
            "power": self.power,
            "next_index": self.next_index,
        }
        directory = os.path.dirname(self.path)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".valence.", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    # -- faults ------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, operation: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.operation == operation and fault.count > 0:
                    fault.count -= 1
                    if fault.count == 0:
                        self.faults.remove(fault)
                    return dataclasses.replace(fault, count=1)
        return None

    # -- pod managers --------------------------------------------------------

    def get_pod_manager(self, podm_id: str) -> dict:
        try:
            return self.pod_managers[podm_id]
        except KeyError:
            raise not_found(f"Pod Manager {podm_id} not found in database.") from None

    # -- composing -----------------------------------------------------------

    def allocated_systems(self) -> set[str]:
        return {n["system_id"] for n in self.nodes.values()}

    def allocated_drives(self) -> set[str]:
        return {d for n in self.nodes.values() for d in n.get("drive_ids", [])}

    def compose(
        self,
        name: str,
        description: str | None,
        podm_id: str,
        requirements: dict,
        node_state: str = "Assembled",
    ) -> dict:
        with self.lock:
            self.get_pod_manager(podm_id)
            taken = self.allocated_systems()
            free_drives = {d.id for d in self.pod.drives} - self.allocated_drives()
            wanted_drives = requirements.get("local_drives") or []
            fitting = [
                s
                for s in self.pod.systems
                if s.id not in taken and pod_mod.system_fits(s, requirements)
            ]
            if not fitting:
                raise no_capacity(NO_SYSTEM)
            drive_ids = pod_mod.pick_drives(self.pod, free_drives, wanted_drives)
            if drive_ids is None:
                raise no_capacity(NO_DRIVE)
            system = fitting[0]
            index = str(self.next_index)
            self.next_index += 1
            stamp = now()
            node = {
                "uuid": str(uuidlib.uuid4()),
                "name": name,
                "description": description or "",
                "podm_id": podm_id,
                "index": index,
                "resource_uri": f"/redfish/v1/Nodes/{index}",
                "system_id": system.id,
                "drive_ids": drive_ids,
                "node_state": node_state,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.nodes[node["uuid"]] = node
            self.save()
            LOG.info(
                "Composed node %s (%s) on %s with drives %s",
                node["uuid"],
                name,
                system.id,
                drive_ids or "none",
            )
            return node

    def get_node(self, node_id: str) -> dict:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise not_found(
                f"Composed node '{node_id}' not found in database."
            ) from None

    def release(self, node_id: str) -> dict:
        with self.lock:
            node = self.get_node(node_id)
            del self.nodes[node_id]
            self.save()
        LOG.info(
            "Released node %s (%s): %s back in the pool",
            node_id,
            node["name"],
            node["system_id"],
        )
        return node

    def manage(self, podm_id: str, index: str) -> dict:
        with self.lock:
            self.get_pod_manager(podm_id)
            if any(n["index"] == index for n in self.nodes.values()):
                raise ValenceError(
                    409,
                    "Conflict",
                    "Resource Already Exists",
                    f"Node '{index}' already managed by Valence",
                )
            raise not_found(f"Node {index} not found on pod manager {podm_id}.")


# The composed-node fields Valence keeps in its own database.
RECORD_KEYS = (
    "uuid",
    "name",
    "podm_id",
    "index",
    "resource_uri",
    "created_at",
    "updated_at",
    "managed_by",
)


def with_record(detail: dict, node: dict) -> dict:
    """A backend's node detail with the database record over it: as in
    Valence, the record wins."""
    detail.update({k: node[k] for k in RECORD_KEYS if k in node})
    return detail


def podm_status(driver: str) -> str | None:
    return "Online" if driver == "expether" else None


def pause(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)
