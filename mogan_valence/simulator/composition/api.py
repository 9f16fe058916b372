"""The Redfish service of the composition simulator (a WSGI app).

It serves the CompositionService, the Systems collection with composition
by POST (specific and constrained forms), task monitors, the Compose
action with reservations, and a SessionService. A composed system is served
at its own URL: its composition (blocks, summaries, parts) from the
simulator's state, and everything a BMC does (power, boot, virtual media,
BIOS, secure boot, its Manager and Chassis) forwarded to the BMC behind its
Compute block with that system's ids rewritten to the composed system's.

Outside ``/redfish``, for tests: ``/admin/state``, ``/admin/faults``,
``/admin/reservations/expire`` and ``/admin/reset``.
"""

import base64
import email.utils
import hmac
import json
import logging
import re
import secrets
import socket
import time
import uuid as uuidlib

from werkzeug import exceptions as wz_exc
from werkzeug import routing
from werkzeug import wrappers

from mogan_valence.simulator.composition import errors
from mogan_valence.simulator.composition import payloads as pl
from mogan_valence.simulator.composition import requests as req_mod
from mogan_valence.simulator.composition import state as state_mod

LOG = logging.getLogger(__name__)

SYNC = "sync"
ASYNC = "async"
MONITORS = "/redfish/v1/TaskService/TaskMonitors"
SESSIONS = "/redfish/v1/SessionService/Sessions"
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
REQUEST_TYPES = ("Preview", "PreviewReserve", "Apply")


def parse_duration(text) -> float:
    """Seconds in an ISO 8601 duration (days, hours, minutes, seconds)."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match or not any(match.groupdict().values()) or text.endswith("T"):
        raise errors.bad_value(
            "ReservationDuration", text, "an ISO 8601 duration such as PT300S"
        )
    factors = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(float(v) * factors[k] for k, v in match.groupdict().items() if v)


def format_duration(seconds: float) -> str:
    return f"PT{seconds:g}S"


class _Dropped(Exception):
    """Close the connection without an answer (an injected fault)."""


class CompositionApp:
    """:param bmc: the BMCs of the Compute blocks (``bmc.EmulatorBmc`` or
        ``bmc.MemoryBmc``).
    :param username: HTTP Basic and session user; None: no authentication.
    :param compose_action: serve CompositionService v1_2's Compose action.
    :param retry_after: "date" (an HTTP-date) or "seconds" for the
        ``Retry-After`` of 202 answers.
    """

    def __init__(
        self,
        state: state_mod.State,
        bmc,
        mode: str = SYNC,
        username: str | None = None,
        password: str | None = None,
        compose_action: bool = True,
        retry_after: str = "date",
    ):
        self.state = state
        self.bmc = bmc
        self.mode = mode
        self.username = username
        self.password = password
        self.compose_action = compose_action
        self.retry_after = retry_after
        self.sessions: dict[str, str] = {}  # token -> session id
        # NOTE: the Compose target has a random segment on purpose: clients
        # must POST to the advertised target, as the DMTF mockup's typo shows.
        self.action_token = secrets.token_hex(4)
        self.action_target = (
            f"{pl.CS}/Actions/x{self.action_token}/CompositionService.Compose"
        )
        s = "/redfish/v1/Systems/<sid>"
        r = routing.Rule
        self.url_map = routing.Map(
            [
                r("/redfish", endpoint="version"),
                r("/redfish/v1", endpoint="root", strict_slashes=False),
                r("/redfish/v1/SessionService", endpoint="session_service"),
                r(SESSIONS, endpoint="sessions", methods=["GET", "POST"]),
                r(f"{SESSIONS}/<ident>", endpoint="session", methods=["GET", "DELETE"]),
                r(pl.CS, endpoint="composition_service", methods=["GET", "PATCH"]),
                r(pl.BLOCKS, endpoint="blocks"),
                r(f"{pl.BLOCKS}/<bid>", endpoint="block"),
                r(f"{pl.BLOCKS}/<bid>/<part>/<int:n>", endpoint="block_part"),
                r(pl.ZONES, endpoint="zones"),
                r(f"{pl.ZONES}/<zid>", endpoint="zone"),
                r(f"{pl.CS}/FreePool", endpoint="pool", defaults={"free": True}),
                r(f"{pl.CS}/ActivePool", endpoint="pool", defaults={"free": False}),
                r(pl.RESERVATIONS, endpoint="reservations"),
                r(
                    f"{pl.RESERVATIONS}/<rid>",
                    endpoint="reservation",
                    methods=["GET", "DELETE"],
                ),
                r(f"{pl.CS}/ComposeActionInfo", endpoint="compose_info"),
                r(
                    f"{pl.CS}/Actions/<token>/CompositionService.Compose",
                    endpoint="compose_action",
                    methods=["POST"],
                ),
                r(pl.SYSTEMS, endpoint="systems", methods=["GET", "POST"]),
                r(f"{pl.SYSTEMS}/Members", endpoint="systems", methods=["POST"]),
                r(pl.SPECIFIC_CAPS, endpoint="specific_caps"),
                r(pl.CONSTRAINED_CAPS, endpoint="constrained_caps"),
                r(s, endpoint="system", methods=["GET", "PATCH", "DELETE"]),
                r(
                    f"{s}/Processors",
                    endpoint="system_parts",
                    defaults={"name": "Processors"},
                ),
                r(f"{s}/Memory", endpoint="system_parts", defaults={"name": "Memory"}),
                r(
                    f"{s}/EthernetInterfaces",
                    endpoint="system_parts",
                    defaults={"name": "EthernetInterfaces"},
                ),
                r(f"{s}/Storage", endpoint="system_storages"),
                r(f"{s}/Storage/1", endpoint="system_storage"),
                r(
                    f"{s}/<path:rest>",
                    endpoint="system_forward",
                    methods=["GET", "PATCH", "POST", "DELETE"],
                ),
                r("/redfish/v1/Managers", endpoint="managers"),
                r(
                    "/redfish/v1/Managers/<sid>",
                    endpoint="manager_forward",
                    methods=["GET", "PATCH", "POST", "DELETE"],
                ),
                r(
                    "/redfish/v1/Managers/<sid>/<path:rest>",
                    endpoint="manager_forward",
                    methods=["GET", "PATCH", "POST", "DELETE"],
                ),
                r(
                    "/redfish/v1/Chassis",
                    endpoint="chassis_forward",
                    defaults={"rest": ""},
                ),
                r("/redfish/v1/Chassis/<path:rest>", endpoint="chassis_forward"),
                r("/redfish/v1/TaskService", endpoint="task_service"),
                r(f"{MONITORS}/<tid>", endpoint="monitor"),
                r("/admin/state", endpoint="admin_state"),
                r(
                    "/admin/faults",
                    endpoint="admin_faults",
                    methods=["GET", "POST", "DELETE"],
                ),
                r(
                    "/admin/reservations/expire",
                    endpoint="admin_expire",
                    methods=["POST"],
                ),
                r("/admin/reset", endpoint="admin_reset", methods=["POST"]),
            ]
        )

    # -- WSGI ------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = wrappers.Request(environ)
        try:
            response = self.dispatch(request)
        except _Dropped:
            response = wrappers.Response(b"", status=500)
        except Exception:
            # A bug of the simulator: a Redfish error body, never a traceback.
            LOG.exception("Failed %s %s", request.method, request.path)
            response = self._error(errors.internal("the simulator failed"))
        return response(environ, start_response)

    def dispatch(self, request: wrappers.Request) -> wrappers.Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except routing.RequestRedirect as e:
            return wrappers.Response(status=308, headers={"Location": e.new_url})
        except wz_exc.MethodNotAllowed:
            return self._error(
                errors.RedfishError(
                    405,
                    "OperationNotAllowed",
                    f"{request.method} is not allowed on {request.path}.",
                )
            )
        except wz_exc.NotFound:
            return self._error(errors.not_found(request.path))
        try:
            public = endpoint in ("version", "root") or endpoint.startswith("admin_")
            public = public or (endpoint == "sessions" and request.method == "POST")
            if not public:
                self._authenticate(request)
            self.state.tick()
            return getattr(self, f"on_{endpoint}")(request, **values)
        except errors.RedfishError as e:
            return self._error(e)

    # -- helpers -------------------------------------------------------------------

    @staticmethod
    def _json(body, status: int = 200, headers: dict | None = None):
        data = b"" if body is None else json.dumps(body, indent=1).encode()
        response = wrappers.Response(
            data,
            status=status,
            headers={"OData-Version": "4.0", **(headers or {})},
        )
        if body is not None:
            response.content_type = "application/json"
        return response

    def _error(self, error: errors.RedfishError, headers=None):
        LOG.info("Answering %s %s: %s", error.status, error.code, error.message)
        return self._json(error.body(), error.status, headers)

    @staticmethod
    def _body(request):
        if not request.get_data():
            raise errors.malformed("the request has no body")
        try:
            return json.loads(request.get_data())
        except ValueError as e:
            raise errors.malformed(str(e)) from None

    def _authenticate(self, request) -> None:
        if self.username is None:
            return
        token = request.headers.get("X-Auth-Token")
        if token is not None:
            with self.state.lock:
                if token in self.sessions:
                    return
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            if self._credentials_ok(user, password):
                return
        raise errors.RedfishError(
            401,
            "NoValidSession",
            "There is no valid session or credentials for this request.",
        )

    def _credentials_ok(self, user: str, password: str) -> bool:
        return hmac.compare_digest(user, self.username or "") and hmac.compare_digest(
            password, self.password or ""
        )

    def _retry_after(self) -> dict:
        if self.retry_after == "seconds":
            return {"Retry-After": "1"}
        return {"Retry-After": email.utils.formatdate(time.time() + 1, usegmt=True)}

    def _fault(self, request, fault, committed: bool, what: str) -> None:
        """Apply an injected fault before or after the operation commits."""
        if fault is None or fault.after_commit != committed:
            return
        LOG.info("Injecting a fault into %s: %s", what, fault)
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop:
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            raise _Dropped()
        error = fault.error()
        if error is not None:
            raise error

    # -- service root and sessions ------------------------------------------

    def on_version(self, request):
        return self._json({"v1": "/redfish/v1/"})

    def on_root(self, request):
        return self._json(
            {
                "@odata.id": "/redfish/v1/",
                "@odata.type": "#ServiceRoot.v1_16_0.ServiceRoot",
                "Id": "RootService",
                "Name": "Composition simulator",
                "RedfishVersion": "1.17.0",
                "UUID": "6e0c4ad6-8b3e-4b7e-a1a5-0c2a3d4f5e60",
                "Systems": pl.ref(pl.SYSTEMS),
                "Managers": pl.ref("/redfish/v1/Managers"),
                "Chassis": pl.ref("/redfish/v1/Chassis"),
                "CompositionService": pl.ref(pl.CS),
                "TaskService": pl.ref("/redfish/v1/TaskService"),
                "SessionService": pl.ref("/redfish/v1/SessionService"),
                "Links": {"Sessions": pl.ref(SESSIONS)},
            }
        )

    def on_session_service(self, request):
        return self._json(
            {
                "@odata.id": "/redfish/v1/SessionService",
                "@odata.type": "#SessionService.v1_1_8.SessionService",
                "Id": "SessionService",
                "Name": "Session service",
                "ServiceEnabled": True,
                "SessionTimeout": 3600,
                "Sessions": pl.ref(SESSIONS),
            }
        )

    def on_sessions(self, request):
        if request.method == "GET":
            with self.state.lock:
                ids = sorted(self.sessions.values())
            return self._json(
                pl.collection(
                    SESSIONS,
                    "SessionCollection",
                    "Sessions",
                    [f"{SESSIONS}/{i}" for i in ids],
                )
            )
        body = self._body(request)
        if not isinstance(body, dict):
            raise errors.malformed("the body must be a JSON object")
        for key in ("UserName", "Password"):
            if not isinstance(body.get(key), str):
                raise errors.missing(key)
        if self.username is not None and not self._credentials_ok(
            body["UserName"], body["Password"]
        ):
            raise errors.RedfishError(
                401, "NoValidSession", "The user name or password is not valid."
            )
        token = secrets.token_urlsafe(24)
        session_id = str(uuidlib.uuid4())
        with self.state.lock:
            self.sessions[token] = session_id
        uri = f"{SESSIONS}/{session_id}"
        return self._json(
            self._session(session_id, body["UserName"]),
            201,
            {"Location": uri, "X-Auth-Token": token},
        )

    @staticmethod
    def _session(session_id: str, user: str | None = None) -> dict:
        return {
            "@odata.id": f"{SESSIONS}/{session_id}",
            "@odata.type": "#Session.v1_7_0.Session",
            "Id": session_id,
            "Name": "User session",
            "UserName": user,
        }

    def on_session(self, request, ident):
        with self.state.lock:
            tokens = [t for t, s in self.sessions.items() if s == ident]
            if not tokens:
                raise errors.not_found(f"{SESSIONS}/{ident}")
            if request.method == "DELETE":
                del self.sessions[tokens[0]]
                return self._json(None, 204)
        return self._json(self._session(ident))

    # -- CompositionService ----------------------------------------------------

    def on_composition_service(self, request):
        if request.method == "PATCH":
            body = self._body(request)
            if not isinstance(body, dict):
                raise errors.malformed("the body must be a JSON object")
            for key in body:
                if key != "ReservationDuration" or not self.compose_action:
                    raise errors.RedfishError(
                        400,
                        "PropertyNotWritable",
                        f"The property {key} is a read-only property.",
                        prop=f"#/{key}",
                    )
            if "ReservationDuration" in body:
                seconds = parse_duration(body["ReservationDuration"])
                with self.state.lock:
                    self.state.reservation_duration = seconds
        body = {
            "@odata.id": pl.CS,
            "@odata.type": "#CompositionService.v1_2_3.CompositionService"
            if self.compose_action
            else "#CompositionService.v1_1_2.CompositionService",
            "Id": "CompositionService",
            "Name": "Composition service",
            "ServiceEnabled": True,
            "Status": pl.OK,
            "AllowOverprovisioning": False,
            "AllowZoneAffinity": True,
            "ResourceBlocks": pl.ref(pl.BLOCKS),
            "ResourceZones": pl.ref(pl.ZONES),
        }
        if self.compose_action:
            body.update(
                ReservationDuration=format_duration(self.state.reservation_duration),
                CompositionReservations=pl.ref(pl.RESERVATIONS),
                FreePool=pl.ref(f"{pl.CS}/FreePool"),
                ActivePool=pl.ref(f"{pl.CS}/ActivePool"),
                Actions={
                    "#CompositionService.Compose": {
                        "target": self.action_target,
                        "@Redfish.ActionInfo": f"{pl.CS}/ComposeActionInfo",
                    }
                },
            )
        return self._json(body)

    def _v12(self) -> None:
        if not self.compose_action:
            raise errors.RedfishError(
                404,
                "ResourceNotFound",
                "This service has no CompositionService v1_2 features (Compose, "
                "reservations, pools).",
            )

    def on_blocks(self, request):
        return self._json(
            pl.collection(
                pl.BLOCKS,
                "ResourceBlockCollection",
                "Resource blocks",
                [f"{pl.BLOCKS}/{b.id}" for b in self.state.pod.blocks],
            )
        )

    def _block(self, bid: str):
        try:
            return self.state.pod.block(bid)
        except KeyError:
            raise errors.not_found(f"{pl.BLOCKS}/{bid}") from None

    def on_block(self, request, bid):
        block = self._block(bid)
        with self.state.lock:
            return self._json(pl.block(block, self.state.blocks[bid]))

    def on_block_part(self, request, bid, part, n):
        block = self._block(bid)
        body = pl.part(block, part, n) if part in pl.PARTS else None
        if body is None:
            raise errors.not_found(request.path)
        return self._json(body)

    def on_zones(self, request):
        return self._json(
            pl.collection(
                pl.ZONES,
                "ZoneCollection",
                "Resource zones",
                [f"{pl.ZONES}/{z}" for z in self.state.pod.zones],
            )
        )

    def on_zone(self, request, zid):
        if zid not in self.state.pod.zones:
            raise errors.not_found(f"{pl.ZONES}/{zid}")
        return self._json(pl.zone(self.state.pod, zid))

    def on_pool(self, request, free):
        self._v12()
        with self.state.lock:
            ids = [
                b
                for b, st in self.state.blocks.items()
                if (st.state == state_mod.UNUSED) == free
            ]
        name = "FreePool" if free else "ActivePool"
        return self._json(
            pl.collection(
                f"{pl.CS}/{name}",
                "ResourceBlockCollection",
                name,
                [f"{pl.BLOCKS}/{b}" for b in ids],
            )
        )

    def on_reservations(self, request):
        self._v12()
        with self.state.lock:
            ids = list(self.state.reservations)
        return self._json(
            pl.collection(
                pl.RESERVATIONS,
                "CompositionReservationCollection",
                "Composition reservations",
                [f"{pl.RESERVATIONS}/{i}" for i in ids],
            )
        )

    def on_reservation(self, request, rid):
        self._v12()
        if request.method == "DELETE":
            self.state.release(rid)
            return self._json(None, 204)
        r = self.state.get_reservation(rid)
        return self._json(
            {
                "@odata.id": f"{pl.RESERVATIONS}/{rid}",
                "@odata.type": "#CompositionReservation.v1_0_2.CompositionReservation",
                "Id": rid,
                "Name": f"Composition reservation {rid}",
                "ReservationTime": r.created,
                "Client": r.client,
                "ReservedResourceBlocks": [
                    pl.ref(f"{pl.BLOCKS}/{b}") for b in r.block_ids
                ],
                "Manifest": r.manifest,
            }
        )

    def on_compose_info(self, request):
        self._v12()
        return self._json(
            {
                "@odata.id": f"{pl.CS}/ComposeActionInfo",
                "@odata.type": "#ActionInfo.v1_3_0.ActionInfo",
                "Id": "ComposeActionInfo",
                "Name": "Compose action parameters",
                "Parameters": [
                    {
                        "Name": "RequestFormat",
                        "Required": True,
                        "DataType": "String",
                        "AllowableValues": ["Manifest"],
                    },
                    {
                        "Name": "RequestType",
                        "Required": True,
                        "DataType": "String",
                        "AllowableValues": list(REQUEST_TYPES),
                    },
                    {"Name": "Manifest", "Required": False, "DataType": "Object"},
                    {"Name": "ReservationId", "Required": False, "DataType": "String"},
                ],
            }
        )

    # -- Systems -------------------------------------------------------------

    def on_systems(self, request):
        if request.method == "POST":
            return self._compose(request)
        with self.state.lock:
            ids = [s.id for s in self.state.systems.values() if s.visible]
        body = pl.collection(
            pl.SYSTEMS,
            "ComputerSystemCollection",
            "Computer systems",
            [f"{pl.SYSTEMS}/{i}" for i in ids],
        )
        body["@Redfish.CollectionCapabilities"] = pl.collection_capabilities(
            self.state.pod, self.state.forms
        )
        return self._json(body)

    def on_specific_caps(self, request):
        if req_mod.SPECIFIC not in self.state.forms:
            raise errors.not_found(request.path)
        return self._json(pl.specific_capabilities())

    def on_constrained_caps(self, request):
        if req_mod.CONSTRAINED not in self.state.forms:
            raise errors.not_found(request.path)
        return self._json(pl.constrained_capabilities())

    def _compose(self, request):
        compose_request = req_mod.parse(
            self._body(request), self.state.pod, self.state.forms
        )
        fault = self.state.take_fault("compose")
        self._fault(request, fault, False, f"compose of {compose_request.name}")
        with self.state.lock:
            block_ids = self.state.plan(compose_request)
            system = self.state.compose(
                compose_request, block_ids, visible=self.mode == SYNC
            )
            task = (
                None if self.mode == SYNC else self.state.new_task("compose", system.id)
            )
        LOG.info("Composed %s (%s) of %s", system.id, system.name, block_ids)
        self._apply_boot(system)
        self._fault(request, fault, True, f"compose of {compose_request.name}")
        if task is not None:
            return self._json(
                None, 202, {"Location": f"{MONITORS}/{task.id}", **self._retry_after()}
            )
        uri = f"{pl.SYSTEMS}/{system.id}"
        return self._json(self._system_body(system), 201, {"Location": uri})

    def _apply_boot(self, system: state_mod.System) -> None:
        boot = system.extra.get("Boot")
        if boot:
            bmc_uuid = self.state.compute_of(system).bmc_uuid
            self.bmc.request("PATCH", f"/redfish/v1/Systems/{bmc_uuid}", {"Boot": boot})

    def _system_body(self, system: state_mod.System) -> dict:
        sid = system.id
        uri = f"{pl.SYSTEMS}/{sid}"
        body = {
            "@odata.id": uri,
            "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
            "Id": sid,
            "Name": system.name,
            "UUID": sid,
            "SystemType": "Composed",
            "Status": pl.OK,
            "Processors": pl.ref(f"{uri}/Processors"),
            "Memory": pl.ref(f"{uri}/Memory"),
            "Storage": pl.ref(f"{uri}/Storage"),
            "EthernetInterfaces": pl.ref(f"{uri}/EthernetInterfaces"),
        }
        body.update({k: v for k, v in system.extra.items() if k != "Boot"})
        body.update(pl.composed_summary(self.state.pod, system.block_ids))
        bmc_uuid = self.state.compute_of(system).bmc_uuid
        status, _, bmc = self.bmc.request("GET", f"/redfish/v1/Systems/{bmc_uuid}")
        if status != 200 or not bmc:
            body["Status"] = {"State": "Enabled", "Health": "Warning"}
            return body
        bmc = self._rewrite(bmc)
        for key in (
            "PowerState",
            "Boot",
            "Actions",
            "SecureBoot",
            "Bios",
            "VirtualMedia",
        ):
            if key in bmc:
                body[key] = bmc[key]
        for key in ("ManagedBy", "Chassis"):
            if key in bmc.get("Links", {}):
                body["Links"][key] = bmc["Links"][key]
        return body

    def on_system(self, request, sid):
        if request.method == "DELETE":
            return self._decompose(request, sid)
        system = self.state.get_system(sid)
        if request.method == "PATCH":
            return self._forward(request, "Systems", sid, "")
        fault = self.state.take_fault("get")
        self._fault(request, fault, False, f"GET {sid}")
        return self._json(self._system_body(system))

    def _decompose(self, request, sid):
        system = self.state.get_system(sid)
        fault = self.state.take_fault("delete")
        self._fault(request, fault, False, f"decompose of {sid}")
        self._power_off(self.state.compute_of(system).bmc_uuid)
        if self.mode == SYNC:
            self.state.decompose(sid)
            LOG.info("Decomposed %s (%s)", sid, system.name)
            self._fault(request, fault, True, f"decompose of {sid}")
            return self._json(None, 204)
        with self.state.lock:
            system.deleting = True
            task = self.state.new_task("delete", sid)
        self._fault(request, fault, True, f"decompose of {sid}")
        return self._json(
            None, 202, {"Location": f"{MONITORS}/{task.id}", **self._retry_after()}
        )

    def _power_off(self, bmc_uuid: str) -> None:
        """What a decompose does to the board: off, no media left inserted."""
        path = f"/redfish/v1/Systems/{bmc_uuid}"
        status, _, body = self.bmc.request("GET", path)
        if status == 200 and body and body.get("PowerState") != "Off":
            self.bmc.request(
                "POST",
                f"{path}/Actions/ComputerSystem.Reset",
                {"ResetType": "ForceOff"},
            )
        status, _, media = self.bmc.request("GET", f"{path}/VirtualMedia")
        for member in (media or {}).get("Members", []) if status == 200 else []:
            uri = member["@odata.id"]
            status, _, one = self.bmc.request("GET", uri)
            if status == 200 and one and one.get("Inserted"):
                self.bmc.request("POST", f"{uri}/Actions/VirtualMedia.EjectMedia", {})

    def on_system_parts(self, request, sid, name):
        system = self.state.get_system(sid)
        uris = pl.composed_parts(self.state.pod, system.block_ids, name)
        kinds = {
            "Processors": "ProcessorCollection",
            "Memory": "MemoryCollection",
            "EthernetInterfaces": "EthernetInterfaceCollection",
        }
        return self._json(pl.collection(request.path, kinds[name], name, uris))

    def on_system_storages(self, request, sid):
        self.state.get_system(sid)
        return self._json(
            pl.collection(
                request.path, "StorageCollection", "Storage", [f"{request.path}/1"]
            )
        )

    def on_system_storage(self, request, sid):
        system = self.state.get_system(sid)
        drives = pl.composed_parts(self.state.pod, system.block_ids, "Drives")
        return self._json(
            {
                "@odata.id": request.path,
                "@odata.type": "#Storage.v1_15_0.Storage",
                "Id": "1",
                "Name": "Composed storage",
                "Status": pl.OK,
                "Drives": [pl.ref(d) for d in drives],
                "Drives@odata.count": len(drives),
            }
        )

    # -- forwarding to the BMC of the Compute block ---------------------------

    def _mapping(self) -> dict[str, str]:
        with self.state.lock:
            return {
                self.state.compute_of(s).bmc_uuid: s.id
                for s in self.state.systems.values()
                if s.visible
            }

    def _rewrite(self, data):
        """The BMC's document with its system's ids made the composed ones;
        references to boards not composed (e.g. from a shared Chassis) are
        left out."""
        mapping = self._mapping()
        unmapped = {b.bmc_uuid for b in self.state.pod.computes} - set(mapping)

        def walk(node):
            if isinstance(node, dict):
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [
                    walk(item)
                    for item in node
                    if not (
                        isinstance(item, dict)
                        and isinstance(item.get("@odata.id"), str)
                        and any(u in item["@odata.id"] for u in unmapped)
                    )
                ]
            if isinstance(node, str):
                for bmc_uuid, sid in mapping.items():
                    node = node.replace(bmc_uuid, sid)
            return node

        return walk(data)

    def _forward(self, request, collection: str, sid: str, rest: str):
        system = self.state.get_system(sid)
        bmc_uuid = self.state.compute_of(system).bmc_uuid
        path = f"/redfish/v1/{collection}/{bmc_uuid}" + (f"/{rest}" if rest else "")
        body = None
        if request.get_data():
            body = json.loads(request.get_data().decode().replace(sid, bmc_uuid))
        status, headers, data = self.bmc.request(request.method, path, body)
        headers = {k: v.replace(bmc_uuid, sid) for k, v in headers.items()}
        return self._json(
            self._rewrite(data) if data is not None else None, status, headers
        )

    def on_system_forward(self, request, sid, rest):
        return self._forward(request, "Systems", sid, rest)

    def on_managers(self, request):
        ids = sorted(self._mapping().values())
        return self._json(
            pl.collection(
                "/redfish/v1/Managers",
                "ManagerCollection",
                "Managers",
                [f"/redfish/v1/Managers/{i}" for i in ids],
            )
        )

    def on_manager_forward(self, request, sid, rest=""):
        return self._forward(request, "Managers", sid, rest)

    def on_chassis_forward(self, request, rest):
        path = "/redfish/v1/Chassis" + (f"/{rest}" if rest else "")
        status, headers, data = self.bmc.request(request.method, path)
        return self._json(self._rewrite(data) if data is not None else None, status)

    # -- tasks -----------------------------------------------------------------------

    def on_task_service(self, request):
        return self._json(
            {
                "@odata.id": "/redfish/v1/TaskService",
                "@odata.type": "#TaskService.v1_2_1.TaskService",
                "Id": "TaskService",
                "Name": "Task service",
                "ServiceEnabled": True,
                "Status": pl.OK,
            }
        )

    def on_monitor(self, request, tid):
        fault = self.state.take_fault("monitor")
        self._fault(request, fault, False, f"task monitor {tid}")
        task = self.state.get_task(tid)
        if task.result is None:
            return self._json(
                None, 202, {"Location": request.path, **self._retry_after()}
            )
        status, headers, body = task.result
        if task.kind == "compose" and status == 201:
            try:
                body = self._system_body(self.state.get_system(task.system_id))
            except errors.RedfishError:
                body = None  # decomposed since
        return self._json(body, status, headers)

    # -- the Compose action (CompositionService v1_2) ------------------------------

    def on_compose_action(self, request, token):
        self._v12()
        if token != f"x{self.action_token}":
            raise errors.not_found(request.path)
        body = self._body(request)
        if not isinstance(body, dict):
            raise errors.malformed("the body must be a JSON object")
        for key in ("RequestFormat", "RequestType"):
            if key not in body:
                raise errors.missing(key)
        if body["RequestFormat"] != "Manifest":
            raise errors.bad_value("RequestFormat", body["RequestFormat"], "Manifest")
        kind = body["RequestType"]
        if kind not in REQUEST_TYPES:
            raise errors.bad_value("RequestType", kind, " | ".join(REQUEST_TYPES))
        rid = body.get("ReservationId")
        if kind == "Apply" and rid is not None:
            if not isinstance(rid, str):
                raise errors.bad_value("ReservationId", rid, "a string")
            return self._apply_reservation(request, rid)
        manifest = body.get("Manifest")
        if manifest is None:
            raise errors.missing("Manifest")
        if not isinstance(manifest, dict) or not isinstance(
            manifest.get("Stanzas"), list
        ):
            raise errors.bad_value("Manifest", manifest, 'an object with "Stanzas": []')
        fault = None
        if kind == "Apply":
            fault = self.state.take_fault("compose")
            self._fault(request, fault, False, "Compose Apply")
        with self.state.lock:
            plans = self._plan_manifest(manifest["Stanzas"])
            if kind == "Preview":
                return self._compose_answer(body, manifest, plans, None)
            if kind == "PreviewReserve":
                client = (
                    request.authorization.username if request.authorization else None
                )
                reservation = self.state.reserve(plans, manifest, client)
                LOG.info(
                    "Reserved %s as reservation %s",
                    reservation.block_ids,
                    reservation.id,
                )
                return self._compose_answer(body, manifest, plans, None, reservation.id)
            results = self._execute(plans, None)
        self._after_execute(results)
        self._fault(request, fault, True, "Compose Apply")
        return self._compose_answer(body, manifest, plans, results)

    def _plan_manifest(self, stanzas: list) -> list:
        plans, taken, decomposed = [], set(), set()
        for n, stanza in enumerate(stanzas):
            where = f"Manifest/Stanzas/{n}/"
            if not isinstance(stanza, dict):
                raise errors.bad_value(where[:-1], stanza, "an object")
            stanza_type = stanza.get("StanzaType")
            request = stanza.get("Request")
            if request is None:
                raise errors.missing(f"{where}Request")
            try:
                if stanza_type == "ComposeSystem":
                    parsed = req_mod.parse(
                        request, self.state.pod, req_mod.FORMS, where + "Request/"
                    )
                    blocks = self.state.plan(parsed, taken)
                    taken.update(blocks)
                    plans.append(("compose", parsed, blocks))
                elif stanza_type == "DecomposeSystem":
                    uri = (
                        request.get("@odata.id") if isinstance(request, dict) else None
                    )
                    if not isinstance(uri, str) or not uri.startswith(f"{pl.SYSTEMS}/"):
                        raise errors.bad_value(
                            f"{where}Request", request, "a reference to a system"
                        )
                    sid = uri.rstrip("/").rsplit("/", 1)[1]
                    self.state.get_system(sid)
                    if sid in decomposed:
                        raise errors.bad_value(
                            f"{where}Request", uri, "decomposed twice"
                        )
                    decomposed.add(sid)
                    plans.append(("decompose", sid))
                else:
                    raise errors.bad_value(
                        f"{where}StanzaType",
                        stanza_type,
                        "ComposeSystem or DecomposeSystem",
                    )
            except errors.RedfishError as e:
                stanza_id = stanza.get("StanzaId", n)
                e.message = f"Stanza {stanza_id}: {e.message}"
                raise
        return plans

    def _execute(self, plans: list, reservation: str | None) -> list:
        """Apply every stanza; the caller holds the lock and has checked that
        every one can be done, so this is all or nothing."""
        results = []
        for plan in plans:
            if plan[0] == "compose":
                system = self.state.compose(plan[1], plan[2], reservation=reservation)
                LOG.info("Composed %s (%s) of %s", system.id, system.name, plan[2])
                results.append(("compose", system))
            else:
                system = self.state.decompose(plan[1])
                LOG.info("Decomposed %s (%s)", system.id, system.name)
                results.append(("decompose", system))
        return results

    def _after_execute(self, results: list) -> None:
        for kind, system in results:
            if kind == "compose":
                self._apply_boot(system)
            else:
                self._power_off(self.state.compute_of(system).bmc_uuid)

    def _apply_reservation(self, request, rid: str):
        fault = self.state.take_fault("compose")
        self._fault(request, fault, False, f"Apply of reservation {rid}")
        with self.state.lock:
            reservation = self.state.get_reservation(rid)
            for plan in reservation.plans:
                if plan[0] == "compose":
                    for block_id in plan[2]:
                        st = self.state.blocks[block_id]
                        if st.state != state_mod.UNUSED or st.reservation != rid:
                            raise errors.in_use(
                                block_id, "no longer held by the reservation"
                            )
                else:
                    self.state.get_system(plan[1])
            results = self._execute(reservation.plans, rid)
            self.state.reservations.pop(rid, None)
        self._after_execute(results)
        self._fault(request, fault, True, f"Apply of reservation {rid}")
        body = {
            "RequestFormat": "Manifest",
            "RequestType": "Apply",
            "ReservationId": rid,
        }
        return self._compose_answer(
            body, reservation.manifest, reservation.plans, results
        )

    def _compose_answer(self, body, manifest, plans, results, rid=None):
        stanzas = []
        for n, stanza in enumerate(manifest["Stanzas"]):
            stanza = dict(stanza)
            plan = plans[n]
            if results is not None:
                kind, system = results[n]
                stanza["Response"] = (
                    self._system_body(system)
                    if kind == "compose"
                    else pl.ref(f"{pl.SYSTEMS}/{system.id}")
                )
            elif plan[0] == "compose":
                preview = {"Name": plan[1].name, **plan[1].extra}
                preview.update(pl.composed_summary(self.state.pod, plan[2]))
                stanza["Response"] = preview
            else:
                stanza["Response"] = pl.ref(f"{pl.SYSTEMS}/{plan[1]}")
            stanzas.append(stanza)
        answer = {
            "RequestFormat": "Manifest",
            "RequestType": body["RequestType"],
            "Manifest": {**manifest, "Stanzas": stanzas},
        }
        if rid is not None or body.get("ReservationId"):
            answer["ReservationId"] = rid or body["ReservationId"]
        return self._json(answer)

    # -- admin (not Redfish) -------------------------------------------------------

    def on_admin_state(self, request):
        return self._json(self.state.snapshot())

    def on_admin_faults(self, request):
        if request.method == "POST":
            fault = state_mod.Fault.from_body(self._body(request))
            self.state.add_fault(fault)
            return self._json(fault.as_dict(), 201)
        if request.method == "DELETE":
            self.state.clear_faults()
            return self._json(None, 204)
        return self._json([f.as_dict() for f in self.state.faults])

    def on_admin_expire(self, request):
        body = self._body(request) if request.get_data() else {}
        rid = body.get("ReservationId") if isinstance(body, dict) else None
        return self._json({"expired": self.state.expire(rid)})

    def on_admin_reset(self, request):
        for bmc_uuid in self.state.reset():
            self._power_off(bmc_uuid)
        return self._json(None, 204)
