"""The Valence v1 REST API, as ``valence/api/route.py`` serves it.

Same routes, status codes, bodies and error envelope as the reference: 200 on
every success but node actions (204), bare-array lists, framework errors as
HTTP 500 with the exception class name as ``code``. Where the real server is
broken (listing pod managers, RSD compose) this implements the intended
contract. What a node is depends on the backend (``rsd.py``: a composed RSD
system; ``expether.py``: a server with pooled PCIe devices attached).

Extra, for tests, outside the Valence API: ``/admin/faults`` (fault
injection: a compose, release, node list or node GET answering an error,
e.g. Valence's own database outage with ``{"operation": "list", "code":
"EtcdConnectionFailed"}``, or the ExpEther driver's double allocation), and
``GET /admin/hosts`` (the pod's hosts and how to reach their Redfish BMC).
"""

import json
import logging
import uuid as uuidlib

import jsonschema
from werkzeug import exceptions as wz_exc
from werkzeug import routing
from werkzeug import wrappers

from mogan_valence.simulator import expether
from mogan_valence.simulator import register
from mogan_valence.simulator import rsd
from mogan_valence.simulator import schemas
from mogan_valence.simulator import state as state_mod

LOG = logging.getLogger(__name__)

_LIST_NODE_KEYS = ("uuid", "name", "podm_id", "index", "resource_uri", "managed_by")
_RECORD_KEYS = _LIST_NODE_KEYS + ("created_at", "updated_at")


def _validation_error(error: jsonschema.ValidationError) -> state_mod.ValenceError:
    if error.path:
        leaf = error.path[-1]
        detail = (
            f"Invalid input for field/attribute '{leaf}' Value: "
            f"'{error.instance!r}'. {error.message}"
        )
    else:
        detail = error.message
    return state_mod.ValenceError(400, "Bad Request", "Validation Error", detail)


def _validate(schema: dict, body) -> None:
    validator = jsonschema.Draft4Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        if (
            schema.get("anyOf")
            and error.validator != "anyOf"
            and body is not None
            and isinstance(body, dict)
        ):
            # Valence reports anyOf failures as a whole.
            raise state_mod.ValenceError(
                400,
                "Bad Request",
                "Validation Error",
                f"{body!r} is not valid under any of the given schemas",
            )
        raise _validation_error(error)


def _framework_error(exc: Exception) -> state_mod.ValenceError:
    """What Valence answers for a non-Valence exception: 500, class name."""
    name = type(exc).__name__
    if isinstance(exc, wz_exc.HTTPException):
        detail = f"{exc.code} {exc.name}: {exc.description}"
    else:
        detail = str(exc)
    return state_mod.ValenceError(500, name, name, detail)


def _inject(fault: state_mod.Fault | None, committed: bool, what: str) -> None:
    """Apply an injected fault before or after the operation commits."""
    if fault is None or fault.after_commit != committed:
        return
    LOG.info(
        "Injecting fault into %s (%s commit): %s",
        what,
        "after" if committed else "before",
        fault,
    )
    state_mod.pause(fault.delay)
    error = fault.error()
    if error is not None:
        raise error


def _filter(records: list[dict], args, kind: str) -> list[dict]:
    """Valence's ``?key=value`` filters: exact matches on record fields."""
    for key, value in args.items():
        # Valence HEAD: getattr on a record without the key -> 500.
        if any(key not in r for r in records):
            raise AttributeError(f"'{kind}' object has no attribute '{key}'")
        records = [r for r in records if r[key] == value]
    return records


class ValenceApp:
    """The Valence v1 API of the simulator.

    :param redfish: the emulator serving the pod's systems, or None.
    :param redfish_access: (address, username, password) of the systems'
        Redfish, for ``/admin/hosts``.
    """

    def __init__(
        self,
        state: state_mod.State,
        redfish=None,
        ironic_url=None,
        redfish_access: tuple[str, str, str] | None = None,
    ):
        self.state = state
        self.redfish = redfish
        self.redfish_access = redfish_access
        self.ironic = register.Ironic(ironic_url)
        if state.backend == "expether":
            self.backend = expether.ExpEtherBackend(state)
            self.compose_schema = schemas.compose_node
        else:
            self.backend = rsd.RsdBackend(state, redfish)
            self.compose_schema = schemas.compose_node_rsd
        self.url_map = routing.Map(
            [
                routing.Rule("/", endpoint="root", methods=["GET"]),
                routing.Rule("/v1", endpoint="v1", methods=["GET"]),
                routing.Rule(
                    "/v1/flavors", endpoint="flavors", methods=["GET", "POST"]
                ),
                routing.Rule(
                    "/v1/flavors/<ident>",
                    endpoint="flavor",
                    methods=["GET", "PATCH", "DELETE"],
                ),
                routing.Rule(
                    "/v1/pod_managers", endpoint="pod_managers", methods=["GET", "POST"]
                ),
                routing.Rule(
                    "/v1/pod_managers/<ident>",
                    endpoint="pod_manager",
                    methods=["GET", "PATCH", "DELETE"],
                ),
                routing.Rule("/v1/nodes", endpoint="nodes", methods=["GET", "POST"]),
                routing.Rule(
                    "/v1/nodes/manage", endpoint="nodes_manage", methods=["POST"]
                ),
                routing.Rule(
                    "/v1/nodes/<ident>", endpoint="node", methods=["GET", "DELETE"]
                ),
                routing.Rule(
                    "/v1/nodes/<ident>/action", endpoint="node_action", methods=["POST"]
                ),
                routing.Rule(
                    "/v1/nodes/<ident>/register",
                    endpoint="node_register",
                    methods=["POST"],
                ),
                routing.Rule(
                    "/v1/storages", endpoint="not_implemented", methods=["GET"]
                ),
                routing.Rule(
                    "/v1/storages/<ident>", endpoint="not_implemented", methods=["GET"]
                ),
                routing.Rule(
                    "/v1/nodes/<ident>/storages",
                    endpoint="not_implemented",
                    methods=["GET"],
                ),
                routing.Rule("/v1/devices", endpoint="devices", methods=["GET"]),
                routing.Rule(
                    "/v1/devices/sync", endpoint="devices_sync", methods=["POST"]
                ),
                routing.Rule("/v1/devices/<ident>", endpoint="device", methods=["GET"]),
                routing.Rule("/admin/hosts", endpoint="admin_hosts", methods=["GET"]),
                routing.Rule(
                    "/admin/faults",
                    endpoint="admin_faults",
                    methods=["GET", "POST", "DELETE"],
                ),
            ],
            strict_slashes=False,
        )

    # -- WSGI plumbing -------------------------------------------------------

    def __call__(self, environ, start_response):
        request = wrappers.Request(environ)
        try:
            adapter = self.url_map.bind_to_environ(environ)
            endpoint, args = adapter.match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except state_mod.ValenceError as e:
            response = self._json(e.body(), e.status)
        except Exception as e:  # noqa: BLE001  (answered as Valence does)
            if not isinstance(e, wz_exc.HTTPException):
                LOG.exception("Unhandled error in %s %s", request.method, request.path)
            err = _framework_error(e)
            response = self._json(err.body(), 500)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response(environ, start_response)

    @staticmethod
    def _json(body, status: int = 200) -> wrappers.Response:
        return wrappers.Response(
            json.dumps(body), status=status, content_type="application/json"
        )

    @staticmethod
    def _body(request: wrappers.Request):
        """Like Flask's get_json(): None unless the content type is JSON."""
        if request.mimetype != "application/json":
            return None
        data = request.get_data(as_text=True)
        if not data:
            raise wz_exc.BadRequest("Failed to decode JSON object: empty body")
        try:
            return json.loads(data)
        except ValueError as e:
            raise wz_exc.BadRequest(f"Failed to decode JSON object: {e}") from e

    def _root_url(self, request) -> str:
        return request.host_url.rstrip("/")

    # -- root --------------------------------------------------------------------

    def on_root(self, request):
        return self._json(
            {
                "name": "OpenStack Valence API",
                "description": "Valence is an OpenStack project",
                "versions": [
                    {
                        "id": "v1",
                        "status": "CURRENT",
                        "min_version": "",
                        "links": [
                            {"rel": "self", "href": f"{self._root_url(request)}/v1/"}
                        ],
                    }
                ],
            }
        )

    def on_v1(self, request):
        root = self._root_url(request)
        links = [{"rel": "self", "href": f"{root}/v1/"}]
        for name in ("nodes", "storages", "flavors", "systems", "pod_managers"):
            links.append({"rel": name, "href": f"{root}/v1/{name}"})
        return self._json({"id": "v1", "status": "CURRENT", "links": links})

    def on_not_implemented(self, request, ident=None):
        raise wz_exc.NotImplemented()

    # -- flavors ----------------------------------------------------------------

    def on_flavors(self, request):
        st = self.state
        if request.method == "GET":
            with st.lock:
                return self._json(list(st.flavors.values()))
        body = self._body(request)
        _validate(schemas.flavor, body)
        stamp = state_mod.now()
        flavor = {
            "uuid": str(uuidlib.uuid4()),
            "name": body["name"],
            "properties": body["properties"],
            "created_at": stamp,
            "updated_at": stamp,
        }
        with st.lock:
            st.flavors[flavor["uuid"]] = flavor
            st.save()
        return self._json(flavor)

    def _flavor(self, ident: str) -> dict:
        try:
            return self.state.flavors[ident]
        except KeyError:
            raise state_mod.not_found(
                f"Flavor {ident} not found in database."
            ) from None

    def on_flavor(self, request, ident):
        st = self.state
        with st.lock:
            flavor = self._flavor(ident)
            if request.method == "GET":
                return self._json(flavor)
            if request.method == "DELETE":
                del st.flavors[ident]
                st.save()
                return self._json(
                    {
                        "code": "DELETED",
                        "detail": f"This flavor {ident} has been deleted successfully",
                        "request_id": state_mod.ZERO_REQUEST_ID,
                    }
                )
            body = self._body(request)
            if not isinstance(body, dict) or not body:
                raise AttributeError("'NoneType' object has no attribute 'items'")
            if "uuid" in body:
                raise Exception(
                    f"Database resource not found: /flavors/{body['uuid']}."
                )
            for key in ("name", "properties"):
                if key in body:
                    flavor[key] = body[key]
            flavor["updated_at"] = state_mod.now()
            st.save()
            return self._json(flavor)

    # -- pod managers ----------------------------------------------------------

    def on_pod_managers(self, request):
        st = self.state
        if request.method == "GET":
            with st.lock:
                return self._json(list(st.pod_managers.values()))
        body = self._body(request)
        _validate(schemas.pod_manager, body)
        driver = body.get("driver", "redfishv1")
        if driver not in ("redfishv1", "expether"):
            raise state_mod.ValenceError(
                404,
                "Not Found",
                "Unsupported Driver Specified",
                f"podmanager could not be loaded with specified driver {driver}",
            )
        with st.lock:
            if any(
                p["name"] == body["name"] or p["url"] == body["url"]
                for p in st.pod_managers.values()
            ):
                raise state_mod.ValenceError(
                    400, "Bad Request", "Bad Request", "duplicated name or url !"
                )
            stamp = state_mod.now()
            record = {
                "uuid": str(uuidlib.uuid4()),
                "name": body["name"],
                "url": body["url"],
                "driver": driver,
                "authentication": body["authentication"],
                "status": state_mod.podm_status(driver),
                "created_at": stamp,
                "updated_at": stamp,
            }
            st.pod_managers[record["uuid"]] = record
            st.save()
            if driver == self.backend.driver:
                # Valence syncs a new pod manager's devices at once.
                self.backend.sync_devices(record["uuid"])
        return self._json(record)

    def on_pod_manager(self, request, ident):
        st = self.state
        with st.lock:
            record = st.get_pod_manager(ident)
            if request.method == "GET":
                return self._json(record)
            if request.method == "DELETE":
                for node_id in [
                    u for u, n in st.nodes.items() if n["podm_id"] == ident
                ]:
                    self.backend.release(node_id)
                self.backend.forget_pod_manager(ident)
                del st.pod_managers[ident]
                st.save()
                return self._json(
                    {
                        "code": "",
                        "detail": "DELETED",
                        "request_id": state_mod.ZERO_REQUEST_ID,
                    }
                )
            body = self._body(request) or {}
            for key in (
                "name",
                "driver",
                "authentication",
                "status",
                "description",
                "location",
                "resource_uri",
            ):
                if key in body:
                    record[key] = body[key]
            record["updated_at"] = state_mod.now()
            st.save()
            return self._json(record)

    # -- nodes -------------------------------------------------------------------

    def on_nodes(self, request):
        if request.method == "GET":
            _inject(self.state.take_fault("list"), committed=False, what="node list")
            with self.state.lock:
                records = [
                    {k: n[k] for k in _LIST_NODE_KEYS if k in n}
                    for n in self.state.nodes.values()
                ]
            return self._json(_filter(records, request.args, "ComposedNode"))
        body = self._body(request)
        _validate(self.compose_schema, body)
        podm_id = body["podm_id"]  # Valence HEAD: KeyError -> 500 when absent
        if "flavor_id" in body:
            with self.state.lock:
                self.state.get_pod_manager(podm_id)
                requirements = self._flavor(body["flavor_id"])["properties"]
        else:
            requirements = body.get("properties") or {"memory": {}, "processor": {}}
        fault = self.state.take_fault("compose")
        race_window = self.state.race_window
        if fault and fault.double_allocate:
            race_window, fault = fault.delay, None
        _inject(fault, committed=False, what=f"compose of {body['name']}")
        brief = self.backend.compose(
            body["name"],
            body.get("description"),
            podm_id,
            requirements,
            failed=bool(fault and fault.after_commit and fault.status),
            race_window=race_window,
        )
        _inject(fault, committed=True, what=f"compose of {body['name']}")
        return self._json(brief)

    def on_node(self, request, ident):
        if request.method == "GET":
            _inject(self.state.take_fault("get"), committed=False, what=f"GET {ident}")
            with self.state.lock:
                node = dict(self.state.get_node(ident))
            return self._json(self.backend.detail(node))
        self.state.get_node(ident)  # 404 before any injected fault
        fault = self.state.take_fault("release")
        _inject(fault, committed=False, what=f"release of {ident}")
        self.backend.release(ident)
        _inject(fault, committed=True, what=f"release of {ident}")
        return self._json(None)

    def on_node_action(self, request, ident):
        body = self._body(request)
        _validate(schemas.node_action, body)  # schema before lookup, as Valence
        with self.state.lock:
            node = dict(self.state.get_node(ident))
        self.backend.action(node, body)
        return wrappers.Response(b"", status=204, content_type="application/json")

    def on_node_register(self, request, ident):
        body = self._body(request)
        self.ironic.load()  # before the node lookup, as Valence
        if body is None:
            body = {}
        if not isinstance(body, dict):
            # Valence passes the body on as **kwargs.
            raise TypeError(
                f"argument after ** must be a mapping, not {type(body).__name__}"
            )
        with self.state.lock:
            node = dict(self.state.get_node(ident))
            pod_manager = dict(self.state.get_pod_manager(node["podm_id"]))
        node_args, port_args = self.backend.register_params(
            self.backend.detail(node), pod_manager, body
        )
        created = self.ironic.create_node(node_args)
        LOG.info("Registered node %s in Ironic as %s", ident, created["uuid"])
        with self.state.lock:
            record = self.state.get_node(ident)
            record["managed_by"] = "ironic"
            record["updated_at"] = state_mod.now()
            self.state.save()
            answer = {k: record[k] for k in _RECORD_KEYS if k in record}
        if port_args:
            self.ironic.create_port(created["uuid"], port_args["address"])
        return self._json(answer)

    def on_nodes_manage(self, request):
        body = self._body(request)
        _validate(schemas.node_manage, body)
        return self._json(self.backend.manage(body["podm_id"], body["node_index"]))

    # -- devices (filled by the ExpEther backend; redfishv1 syncs none) ----------

    def on_devices(self, request):
        with self.state.lock:
            records = [dict(d) for d in self.state.devices.values()]
        return self._json(_filter(records, request.args, "Device"))

    def on_device(self, request, ident):
        with self.state.lock:
            return self._json(self.backend.get_device(ident))

    def on_devices_sync(self, request):
        body = self._body(request)
        podm_id = body.get("podm_id") if isinstance(body, dict) else None
        with self.state.lock:
            podm_ids = [podm_id] if podm_id else list(self.state.pod_managers)
            for uuid in podm_ids:
                if self.state.get_pod_manager(uuid)["driver"] == self.backend.driver:
                    self.backend.sync_devices(uuid)
        return self._json(None)

    # -- the pod's hosts (not part of Valence) -----------------------------------

    def hosts(self) -> list[dict]:
        address, username, password = self.redfish_access or (None, None, None)
        return [
            dict(
                entry,
                redfish_address=address,
                redfish_username=username,
                redfish_password=password,
            )
            for entry in self.backend.host_entries()
        ]

    def on_admin_hosts(self, request):
        return self._json(self.hosts())

    # -- fault injection (not part of Valence) ----------------------------------

    def on_admin_faults(self, request):
        st = self.state
        if request.method == "POST":
            fault = state_mod.Fault.from_body(self._body(request), st.backend)
            st.add_fault(fault)
            return self._json(fault.as_dict())
        if request.method == "DELETE":
            st.clear_faults()
        with st.lock:
            return self._json([f.as_dict() for f in st.faults])
