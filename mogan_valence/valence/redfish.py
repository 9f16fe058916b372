"""The ``redfish`` backend: compose through a DMTF Redfish CompositionService.

sushy is the Redfish library (its connector: sessions or Basic auth,
retries of reads, TLS). sushy 5.14 models composition read-only and with
gaps, worked around here through its connector, never around it:

- ``CompositionService.resource_blocks`` / ``resource_zones`` raise on every
  access (an uncalled method is passed as a path): the collections are read
  by their ``@odata.id`` through the connector;
- ``ResourceBlock.resource_block_type`` is a scalar in sushy but an array in
  the schema: the raw ``ResourceBlockType`` is read;
- nothing creates a system, reads ``@Redfish.CollectionCapabilities`` or
  runs ``CompositionService.Compose``: plain POST/DELETE through the
  connector;
- sushy's task monitor breaks on a numeric ``Retry-After`` and prefers a
  Task body over ``Location``: 202 answers are followed here, by the
  monitor's ``Location``, with numeric and HTTP-date ``Retry-After``.

A composed system is named ``mogan-<instance uuid>``, its idempotency key:
a compose whose answer is lost is looked up by that name before anything is
composed again. Its node uuid (the uuid of its Ironic node) is
``uuid5(NAMESPACE_URL, <address><system path>#<name>)``: stable for the
system, never shared with another instance even where a service reuses
system ids.

How a system is asked for (``composition_form``): *constrained* (the service
picks the blocks from ``@Redfish.RequestedCount`` constraints) or *specific*
(the engine picks free blocks that fit, all in one resource zone, one
Compute block first). Where the service offers ``CompositionService.Compose``
(v1.2), the blocks are reserved with ``PreviewReserve`` and the reservation
applied with ``Apply``: all or nothing; a reservation that expired before
its ``Apply`` is asked for again once.
"""

import contextlib
import email.utils
import logging
import threading
import time
import urllib.parse
import uuid as uuidlib

import sushy
from sushy import auth as sushy_auth
from sushy import connector as sushy_connector
from sushy import exceptions as sushy_exc

from mogan_valence.common import coordination as coordination_mod
from mogan_valence.common import exception
from mogan_valence.conf import redfish_composition as rf_conf
from mogan_valence.valence import composer as composer_mod
from mogan_valence.valence import composition as composition_mod

LOG = logging.getLogger(__name__)

ROOT = "/redfish/v1/"
SYSTEMS = "/redfish/v1/Systems"
COMPOSED = "Composed"
COMPOSE_ACTION = "#CompositionService.Compose"
SPECIFIC = "ComputerSystemComposition"
CONSTRAINED = "ComputerSystemConstrainedComposition"
COUNT = "@Redfish.RequestedCount"
GIB = 1024**3
# Composition keys the specific form cannot honour (it picks by size).
SPECIFIC_IGNORES = ("cpu_model", "ram_type", "disk_type")
# How many times a compose whose reservation expired before its Apply is
# asked for again.
PICK_ATTEMPTS = 3
# How many times a read is sent when no answer comes.
READ_ATTEMPTS = 3


class RedfishCompositionError(exception.MoganValenceException):
    msg_fmt = "Redfish composition service error: %(detail)s"

    def __init__(self, message=None, *, status=None, redfish_code=None):
        self.status = status
        self.code = status if isinstance(status, int) else 500
        self.redfish_code = redfish_code
        super().__init__(message)


class RedfishNotFound(RedfishCompositionError):
    """404: no such system, block or reservation."""


class RedfishConflict(RedfishCompositionError):
    """409: a block in use, or constraints the free blocks cannot meet."""


class RedfishNoCapacity(RedfishConflict):
    """No free blocks fit the composition."""


class RedfishBadRequest(RedfishCompositionError):
    """400: the service refused the request."""


class RedfishServerError(RedfishCompositionError):
    """5xx."""


class RedfishUnreachable(RedfishCompositionError):
    """No answer: connection refused, reset or timed out."""


class RedfishReservationLost(RedfishConflict):
    """An Apply refused its reservation (expired, or its blocks taken)."""


class RedfishTaskFailed(RedfishCompositionError):
    """A task monitor ended in an error."""


class RedfishComposeOutcomeUnknown(RedfishCompositionError):
    """A compose was sent but its outcome could not be learnt: the system
    may exist; look it up by name before composing again."""


def _verify(value: str | None):
    text = (value or "True").strip()
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    return text  # a CA bundle


def retry_after(value: str | None, default: float, now=time.time) -> float:
    """Seconds a ``Retry-After`` asks for: a number, or an HTTP-date."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return default
    return max(0.0, when.timestamp() - now())


def _error_info(error: sushy_exc.HTTPError) -> tuple[str, str]:
    """(Redfish MessageId or code, message) of an HTTP error."""
    code = getattr(error, "code", None) or ""
    detail = getattr(error, "detail", None) or ""
    for info in getattr(error, "extended_info", None) or []:
        if isinstance(info, dict):
            code = info.get("MessageId") or code
            detail = info.get("Message") or detail
            break
    return str(code), str(detail)


def normalise_address(address: str) -> str:
    """``scheme://host[:port]``, lower-case, without a default port or a
    trailing slash."""
    parts = urllib.parse.urlsplit(address.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port and not (
        (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    ):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def normalise_path(path: str) -> str:
    return "/" + path.strip("/") if path else path


def _path(ref) -> str | None:
    if isinstance(ref, dict):
        ref = ref.get("@odata.id")
    return ref if isinstance(ref, str) and ref else None


def _members(collection: dict) -> list[str]:
    return [p for p in (_path(m) for m in collection.get("Members") or []) if p]


class RedfishComposer(composer_mod.Composer):
    """One Redfish composition service (``[redfish_composition_<name>]``)."""

    backend = composition_mod.REDFISH

    def __init__(
        self,
        service: str,
        options,
        conf,
        *,
        coordination=None,
        clock=None,
        sleep=None,
    ):
        self.service = service
        self.options = options
        self.conf = conf
        self.group_name = rf_conf.service_group(service)
        self.address = normalise_address(str(options.address))
        self.coordination = coordination or coordination_mod.LocalCoordinator()
        self.verify = _verify(options.verify_ca)
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._lock = threading.Lock()
        self._root = None
        self._conn = None
        # The service's own identity (its root's UUID, else its address):
        # part of every node uuid.
        self._identity: str | None = None
        # node uuid -> system path: the fast way to a system (checked on use).
        self._paths: dict[str, str] = {}
        # block path -> what it brings (blocks do not change what they hold).
        self._capacity: dict[str, dict] = {}
        self.transient_errors = (RedfishServerError, RedfishUnreachable)
        self.outcome_unknown_errors = (
            RedfishComposeOutcomeUnknown,
            RedfishUnreachable,
            RedfishServerError,
        )
        self.lookup_window = conf.valence.compose_lookup_window

    def __repr__(self) -> str:
        return f"<RedfishComposer {self.service} at {self.address}>"

    # -- the connection ---------------------------------------------------------

    def _auth(self):
        kinds = {
            "basic": sushy_auth.BasicAuth,
            "session": sushy_auth.SessionAuth,
            "auto": sushy_auth.SessionOrBasicAuth,
        }
        return kinds[self.options.auth_type](
            username=self.options.username, password=self.options.password
        )

    def _connection(self):
        """sushy's connector, authenticated; made on first use so that an
        engine starts while the service is down. Made outside the lock (a
        service that does not answer holds no other flow up); the first
        made is kept."""
        with self._lock:
            if self._conn is not None:
                return self._conn
        # NOTE: sushy's connector sends a request again after a connection
        # error whatever its method, as many times as server_side_retries
        # (at least 3 when 0): a compose whose answer was lost would be
        # composed twice. One attempt here; reads are tried again by _get.
        conn = sushy_connector.Connector(
            self.address,
            verify=self.verify,
            server_side_retries=1,
            server_side_retries_delay=1,
            default_request_timeout=self.options.request_timeout,
            connect_timeout=min(10.0, self.options.request_timeout),
        )
        try:
            root = sushy.Sushy(
                self.address,
                auth=self._auth(),
                connector=conn,
                verify=self.verify,
            )
        except sushy_exc.SushyError as e:
            conn.close()
            raise self._error(e, "GET", ROOT) from None
        with self._lock:
            if self._conn is None:
                self._conn, self._root = conn, root
                return conn
        conn.close()
        return self._conn

    def _error(self, error: Exception, method: str, path: str):
        where = f"{method} {path} on Redfish service {self.service}"
        if isinstance(error, sushy_exc.HTTPError):
            code, detail = _error_info(error)
            status = error.status_code
            text = f"{where} failed ({status}): {code + ': ' if code else ''}{detail}"
            kind = RedfishCompositionError
            if status == 404:
                kind = RedfishNotFound
            elif status == 409:
                kind = RedfishConflict
            elif status == 400:
                kind = RedfishBadRequest
            elif status >= 500:
                kind = RedfishServerError
            return kind(text, status=status, redfish_code=code)
        if isinstance(error, sushy_exc.ConnectionError):
            if "SSL" in str(error) or "certificate" in str(error).lower():
                # A configuration error, not an outage.
                return RedfishCompositionError(
                    f"{where}: TLS failed; check [{self.group_name}] verify_ca "
                    "and the service's certificate"
                )
            return RedfishUnreachable(f"{where}: no answer ({type(error).__name__})")
        return RedfishCompositionError(f"{where}: {error}")

    def _call(self, method: str, path: str, body=None):
        conn = self._connection()
        try:
            return getattr(conn, method.lower())(path, data=body)
        except sushy_exc.SushyError as e:
            raise self._error(e, method, path) from None

    def _read(self, path: str):
        """GET, sent again when no answer came."""
        for attempt in range(READ_ATTEMPTS):
            try:
                return self._call("GET", path)
            except RedfishUnreachable:
                if attempt == READ_ATTEMPTS - 1:
                    raise
                self._sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    def _json(self, response, method: str, path: str) -> dict:
        try:
            found = response.json()
        except ValueError:
            found = None
        if not isinstance(found, dict):
            raise RedfishServerError(
                f"{method} {path} on Redfish service {self.service} answered "
                f"{response.status_code} with no JSON object",
                status=response.status_code,
            )
        return found

    def _get(self, path: str) -> dict:
        return self._json(self._read(path), "GET", path)

    def _finish(self, response, method: str, path: str):
        """The final answer of a request, following a 202 task monitor."""
        deadline = self._clock() + self.options.task_timeout
        while response.status_code == 202:
            monitor = response.headers.get("Location")
            if not monitor:
                # Accepted, and no way to follow it: the outcome is unknown.
                raise RedfishServerError(
                    f"{method} {path} on Redfish service {self.service} answered "
                    "202 without a task monitor",
                    status=202,
                )
            wait = retry_after(
                response.headers.get("Retry-After"), self.options.task_poll_interval
            )
            wait = min(wait, max(self.options.task_poll_interval, 0.0) * 10)
            if self._clock() + wait > deadline:
                raise RedfishServerError(
                    f"{method} {path} on Redfish service {self.service}: its task "
                    f"{monitor} did not end within {self.options.task_timeout:.0f}s",
                    status=504,
                )
            self._sleep(wait)
            try:
                response = self._read(monitor)
            except RedfishCompositionError as e:
                if isinstance(e, (RedfishUnreachable, RedfishServerError)) or (
                    e.status in (404, 410)
                ):
                    # The monitor's own failure (or it is gone), or the
                    # task's: the outcome is unknown.
                    if isinstance(e, RedfishNotFound) or e.status == 410:
                        raise RedfishServerError(
                            f"{method} {path} on Redfish service {self.service}: "
                            f"its task monitor is gone ({e.status})",
                            status=e.status,
                        ) from None
                    raise
                raise RedfishTaskFailed(
                    f"{method} {path} on Redfish service {self.service}: its task "
                    f"failed: {e}",
                    status=e.status,
                    redfish_code=e.redfish_code,
                ) from None
        return response

    # -- reading the service ----------------------------------------------------

    def _service(self) -> dict:
        root = self._get(ROOT)
        path = _path(root.get("CompositionService"))
        if not path:
            raise RedfishCompositionError(
                f"Redfish service {self.service} has no CompositionService"
            )
        found = self._get(path)
        found["@odata.id"] = path
        return found

    def _use_cases(self) -> dict[str, str]:
        """Composition use case -> the collection to POST to."""
        systems = self._get(SYSTEMS)
        found = {}
        caps = systems.get("@Redfish.CollectionCapabilities") or {}
        for cap in caps.get("Capabilities") or []:
            target = _path((cap.get("Links") or {}).get("TargetCollection"))
            if cap.get("UseCase"):
                found[cap["UseCase"]] = target or SYSTEMS
        return found

    def _form(self, use_cases: dict) -> str:
        wanted = self.options.composition_form
        if wanted == "auto":
            return CONSTRAINED if CONSTRAINED in use_cases else SPECIFIC
        form = CONSTRAINED if wanted == "constrained" else SPECIFIC
        if form not in use_cases:
            raise RedfishBadRequest(
                f"Redfish service {self.service} does not advertise {form} on "
                f"{SYSTEMS} ([{self.group_name}] composition_form = "
                f"{wanted}); it offers {', '.join(sorted(use_cases)) or 'none'}"
            )
        return form

    def _blocks(self, cs: dict) -> list[dict]:
        # sushy's CompositionService.resource_blocks raises: read the
        # collection by its @odata.id.
        blocks = []
        for path in _members(self._get(_path(cs.get("ResourceBlocks")) or "")):
            block = self._get(path)
            block["@odata.id"] = path
            blocks.append(block)
        return blocks

    def _zones(self, cs: dict) -> list[dict]:
        path = _path(cs.get("ResourceZones"))
        if not path:
            return []
        zones = []
        for zone_path in _members(self._get(path)):
            zone = self._get(zone_path)
            zone["@odata.id"] = zone_path
            zones.append(zone)
        return zones

    def _brings(self, block: dict) -> dict:
        """cores, ram_mib and disk_gb a block brings (cached)."""
        path = block["@odata.id"]
        if path in self._capacity:
            return self._capacity[path]
        units = self._units(block)
        found = {
            "cores": sum(units["cores"]),
            "ram_mib": sum(units["ram_mib"]),
            "disk_gb": sum(units["disk_bytes"]) // GIB,
        }
        self._capacity[path] = found
        return found

    def _units(self, block: dict) -> dict[str, list[int]]:
        """The size of each processor, DIMM and drive of a block (cached)."""
        key = "units:" + block["@odata.id"]
        if key in self._capacity:
            return self._capacity[key]

        def sizes(refs, field):
            return [int(self._get(_path(r)).get(field) or 0) for r in refs or []]

        drives = sizes(block.get("Drives"), "CapacityBytes")
        for ref in block.get("Storage") or []:
            drives += sizes(self._get(_path(ref)).get("Drives"), "CapacityBytes")
        found = {
            "cores": sizes(block.get("Processors"), "TotalCores"),
            "ram_mib": sizes(block.get("Memory"), "CapacityMiB"),
            "disk_bytes": drives,
        }
        self._capacity[key] = found
        return found

    @staticmethod
    def _free(block: dict) -> bool:
        status = block.get("CompositionStatus") or {}
        return status.get("CompositionState") == "Unused" and not status.get("Reserved")

    @staticmethod
    def _types(block: dict) -> list[str]:
        kinds = block.get("ResourceBlockType") or []
        return [kinds] if isinstance(kinds, str) else list(kinds)

    # -- requests ---------------------------------------------------------------

    @staticmethod
    def _wanted(composition: dict) -> dict:
        return {
            "cores": composition.get("cpu_cores", 0),
            "ram_mib": composition.get("ram_mib", 0),
            "disk_gb": composition.get("disk_gb", 0),
        }

    def _zone_members(self, zones: list[dict]) -> list[tuple[str, set]]:
        found = []
        wanted_zone = self.options.zone
        for zone in zones:
            if wanted_zone and zone.get("Id") != wanted_zone:
                continue
            refs = (zone.get("Links") or {}).get("ResourceBlocks") or []
            found.append(
                (zone.get("Id") or zone["@odata.id"], {_path(r) for r in refs})
            )
        if wanted_zone and not found:
            raise RedfishBadRequest(
                f"Redfish service {self.service} has no resource zone "
                f"'{wanted_zone}' ([{self.group_name}] zone)"
            )
        return found

    def _pick(self, cs: dict, composition: dict) -> list[str]:
        """Free blocks that fit, all in one zone: one Compute block, then
        Processor, Memory and Storage blocks until each need is met."""
        wanted = self._wanted(composition)
        blocks = [b for b in self._blocks(cs) if self._free(b)]
        zones = self._zone_members(self._zones(cs)) or [
            ("(no zones)", {b["@odata.id"] for b in blocks})
        ]
        short = {}
        for zone_id, members in zones:
            free = [b for b in blocks if b["@odata.id"] in members]
            computes = [b for b in free if "Compute" in self._types(b)]
            if not computes:
                short[zone_id] = "no free Compute block"
                continue
            chosen = [computes[0]]
            have = dict(self._brings(computes[0]))
            extra_kinds = (
                ("cores", "Processor"),
                ("ram_mib", "Memory"),
                ("disk_gb", "Storage"),
            )
            missing = []
            for need, kind in extra_kinds:
                for block in free:
                    if have[need] >= wanted[need]:
                        break
                    if block in chosen or kind not in self._types(block):
                        continue
                    chosen.append(block)
                    for key, value in self._brings(block).items():
                        have[key] += value
                if have[need] < wanted[need]:
                    missing.append(f"{need} {wanted[need]} (free: {have[need]})")
            if not missing:
                return [b["@odata.id"] for b in chosen]
            short[zone_id] = ", ".join(missing)
        raise RedfishNoCapacity(
            f"Redfish service {self.service} has no free resource blocks for "
            f"{self._describe(wanted)} within one zone: "
            + "; ".join(f"zone {z}: {why}" for z, why in short.items()),
            status=409,
        )

    @staticmethod
    def _describe(wanted: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in wanted.items() if v) or "a system"

    def _unit_sizes(self, cs: dict) -> dict[str, int]:
        """The smallest processor, DIMM and drive of the service's blocks."""
        smallest: dict[str, int] = {}
        for block in self._blocks(cs):
            for part, sizes in self._units(block).items():
                for size in sizes:
                    if size > 0:
                        smallest[part] = min(size, smallest.get(part, size))
        return smallest

    @staticmethod
    def _count(need: int, unit: int | None) -> tuple[int, int]:
        """(how many parts, each at least how big) for a total ``need``.

        A constraint names a part's size and a count of such parts; a
        composition names totals. With parts of at least the smallest size
        the service has, enough of them always add up to the total; a need
        below that size asks for one part of that need.
        """
        if not unit or need <= unit:
            return 1, need
        return -(-need // unit), unit

    def _constraints(self, cs: dict, composition: dict) -> dict:
        body: dict = {}
        units = self._unit_sizes(cs) if cs else {}
        processor: dict = {"ProcessorType": "CPU"}
        count, cores = self._count(composition.get("cpu_cores", 0), units.get("cores"))
        processor[COUNT] = count
        if cores:
            processor["TotalCores"] = cores
        if composition.get("cpu_model"):
            processor["Model"] = composition["cpu_model"]
        body["Processors"] = {"Members": [processor]}
        if composition.get("ram_mib"):
            count, mib = self._count(composition["ram_mib"], units.get("ram_mib"))
            memory = {COUNT: count, "CapacityMiB": mib}
            memory["MemoryType"] = composition.get("ram_type") or "DRAM"
            body["Memory"] = {"Members": [memory]}
        if composition.get("disk_gb"):
            count, size = self._count(
                composition["disk_gb"] * GIB, units.get("disk_bytes")
            )
            drive = {COUNT: count, "CapacityBytes": size}
            if composition.get("disk_type"):
                drive["MediaType"] = composition["disk_type"]
            body["Storage"] = {"Members": [{COUNT: 1, "Drives": [drive]}]}
        if self.options.zone:
            body["@Redfish.ZoneAffinity"] = self.options.zone
        return body

    def _request(self, cs, form, name, composition, description) -> dict:
        body: dict = {"Name": name}
        if description:
            body["Description"] = description
        if form == CONSTRAINED:
            body.update(self._constraints(cs, composition))
        else:
            body["Links"] = {
                "ResourceBlocks": [
                    {"@odata.id": p} for p in self._pick(cs, composition)
                ]
            }
        return body

    # -- composing --------------------------------------------------------------

    def _service_identity(self) -> str:
        """The service root's ``UUID``, else its address (normalised)."""
        if self._identity is None:
            root_uuid = self._get(ROOT).get("UUID")
            self._identity = str(root_uuid or self.address).lower()
        return self._identity

    def node_uuid(self, path: str, name: str) -> str:
        """The node uuid of the system at ``path`` called ``name``: the same
        however the service is addressed or the path is written."""
        key = f"{self._service_identity()}{normalise_path(path)}#{name}"
        return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, key))

    def _node(self, path: str, system: dict) -> dict:
        name = system.get("Name") or ""
        path = normalise_path(_path(system) or path)
        node_uuid = self.node_uuid(path, name)
        self._paths[node_uuid] = path
        return {
            "uuid": node_uuid,
            "name": name,
            "path": path,
            "backend": self.backend,
            "service": self.service,
            "system": system,
        }

    def _slot(self, form: str):
        """One of the service's compose slots, shared by every engine: the
        specific form picks free blocks and would pick the same ones for
        two composes at once."""
        limit = self.options.max_concurrent_composes
        if limit is None:
            limit = 1 if form == SPECIFIC else 0
        if not limit:
            return contextlib.nullcontext()
        return self.coordination.slot(f"redfish-compose-{self.service}", limit)

    @staticmethod
    def _check_form(form: str, composition: dict) -> None:
        if form != SPECIFIC:
            return
        for key in SPECIFIC_IGNORES:
            if key in composition:
                raise RedfishBadRequest(
                    f"'{key}' needs the constrained composition form: the "
                    "specific form picks blocks by size only, and this service "
                    "is composed through the specific form"
                )

    def compose(self, name, composition, description=None, scope=None):
        composition = composition_mod.validate(composition, self.backend)
        # Reads: their failure is no compose.
        cs = self._service()
        use_cases = self._use_cases()
        form = self._form(use_cases)
        self._check_form(form, composition)
        action = (cs.get("Actions") or {}).get(COMPOSE_ACTION)
        target = action.get("target") if isinstance(action, dict) else None
        use_action = bool(self.options.use_compose_action and target)
        if use_action:
            # An earlier try of this compose (its answer lost, or the engine
            # killed between reserve and apply) may hold blocks.
            self.forget_pending(name, cs)
        with self._slot(form):
            for attempt in range(1, PICK_ATTEMPTS + 1):
                body = self._request(cs, form, name, composition, description)
                try:
                    if use_action:
                        path = self._compose_action(cs, target, body)
                    else:
                        path = self._post_system(use_cases.get(form, SYSTEMS), body)
                    break
                except RedfishConflict as e:
                    again = isinstance(e, RedfishReservationLost) or (
                        form == SPECIFIC and not isinstance(e, RedfishNoCapacity)
                    )
                    if not again or attempt == PICK_ATTEMPTS:
                        raise
                    LOG.warning(
                        "Compose of %s on Redfish service %s was refused (%s); "
                        "asking again",
                        name,
                        self.service,
                        e,
                    )
                except (RedfishUnreachable, RedfishServerError) as e:
                    return self._adopt_after_unknown(name, e)
        system = self._get(path)
        LOG.info("Redfish service %s composed system %s (%s)", self.service, path, name)
        return self._node(path, system)

    def _adopt_after_unknown(self, name: str, cause) -> dict:
        LOG.warning(
            "Compose of %s on Redfish service %s got no clear answer (%s); "
            "looking it up by name",
            name,
            self.service,
            cause,
        )
        try:
            nodes = self.find_nodes_by_name(name)
        except RedfishCompositionError as e:
            raise RedfishComposeOutcomeUnknown(
                f"Compose of {name} got no clear answer ({cause}) and the lookup "
                f"by name failed too: {e}"
            ) from cause
        if not nodes:
            raise RedfishComposeOutcomeUnknown(
                f"Compose of {name} got no clear answer ({cause}) and no system "
                "of that name exists yet"
            ) from cause
        return nodes[0]

    def _created(self, response, method: str, path: str) -> str:
        """The path of the system a finished compose answered with."""
        created = response.headers.get("Location")
        body = {}
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = {}
        if not isinstance(body, dict):
            body = {}
        if not created:
            created = _path(body) if body.get("SystemType") else None
        if not created:
            refs = (body.get("Links") or {}).get("CreatedResources") or []
            created = next((p for p in map(_path, refs) if p), None)
        if not created:
            raise RedfishServerError(
                f"{method} {path} on Redfish service {self.service} answered "
                f"{response.status_code} without the composed system's location",
                status=response.status_code,
            )
        # A Location may be absolute: keep the path on this service (it may
        # name the service by another address than ours).
        return urllib.parse.urlsplit(created).path or created

    def _post_system(self, collection: str, body: dict) -> str:
        response = self._finish(
            self._call("POST", collection, body), "POST", collection
        )
        return self._created(response, "POST", collection)

    def _compose_action(self, cs: dict, target: str, body: dict) -> str:
        """PreviewReserve, then Apply the reservation: all or nothing.

        :raises RedfishReservationLost: Apply refused the reservation
            (expired, or its blocks taken); it is dropped, nothing composed.
        """
        name = body["Name"]
        manifest = {
            "Description": body.get("Description") or name,
            "Stanzas": [
                {"StanzaType": "ComposeSystem", "StanzaId": name, "Request": body}
            ],
        }
        answer = self._finish(
            self._call(
                "POST",
                target,
                {
                    "RequestFormat": "Manifest",
                    "RequestType": "PreviewReserve",
                    "Manifest": manifest,
                },
            ),
            "POST",
            target,
        )
        reservation = self._json(answer, "POST", target).get("ReservationId")
        if not reservation:
            raise RedfishServerError(
                f"Compose PreviewReserve on Redfish service {self.service} "
                "answered no ReservationId"
            )
        try:
            applied = self._finish(
                self._call(
                    "POST",
                    target,
                    {
                        "RequestFormat": "Manifest",
                        "RequestType": "Apply",
                        "ReservationId": reservation,
                        "Manifest": manifest,
                    },
                ),
                "POST",
                target,
            )
        except (RedfishBadRequest, RedfishNotFound, RedfishConflict) as e:
            # The reservation expired before its Apply, or its blocks were
            # taken; or an Apply that went through was refused when sent
            # again: a system of its name says which.
            done = self.find_nodes_by_name(name)
            if done:
                return done[0]["path"]
            self._drop_reservation(cs, reservation)
            raise RedfishReservationLost(
                f"Apply of reservation {reservation} for {name} on Redfish service "
                f"{self.service} was refused: {e}",
                status=e.status,
                redfish_code=e.redfish_code,
            ) from None
        except (RedfishUnreachable, RedfishServerError, RedfishTaskFailed):
            # Applied or not: a system of its name says. When none is there
            # the blocks are not held for the reservation's life.
            try:
                if not self.find_nodes_by_name(name):
                    self._drop_reservation(cs, reservation)
            except RedfishCompositionError as e:
                LOG.warning(
                    "Could not tell whether reservation %s for %s on Redfish "
                    "service %s was applied (it is dropped later): %s",
                    reservation,
                    name,
                    self.service,
                    e,
                )
            raise
        return self._applied_system(applied, target)

    def _applied_system(self, response, target: str) -> str:
        body = self._json(response, "POST", target) if response.content else {}
        for stanza in (body.get("Manifest") or {}).get("Stanzas") or []:
            found = _path(stanza.get("Response"))
            if found:
                return found
        return self._created(response, "POST", target)

    def _reservations(self, cs: dict) -> list[tuple[str, dict]]:
        path = _path(cs.get("CompositionReservations"))
        if not path:
            return []
        found = []
        for member in _members(self._get(path)):
            try:
                found.append((member, self._get(member)))
            except RedfishNotFound:
                continue  # expired meanwhile
        return found

    @staticmethod
    def _reserved_for(reservation: dict) -> set[str]:
        """The system names a reservation's manifest composes."""
        names = set()
        for stanza in (reservation.get("Manifest") or {}).get("Stanzas") or []:
            request = stanza.get("Request") or {}
            for name in (stanza.get("StanzaId"), request.get("Name")):
                if isinstance(name, str):
                    names.add(name)
        return names

    def forget_pending(self, name: str, cs: dict | None = None) -> int:
        """Drop every reservation made for a system called ``name`` (a
        compose whose Apply never came); how many were dropped."""
        cs = cs if cs is not None else self._service()
        dropped = 0
        for path, reservation in self._reservations(cs):
            if name in self._reserved_for(reservation):
                self._delete_reservation(path, reservation.get("Id") or path)
                dropped += 1
        if dropped:
            LOG.info(
                "Redfish service %s: dropped %d reservation(s) left for %s",
                self.service,
                dropped,
                name,
            )
        return dropped

    def _drop_reservation(self, cs: dict, reservation: str) -> None:
        # Its member is found by its Id: never a URL built from the id.
        try:
            for member, found in self._reservations(cs):
                if str(found.get("Id")) == str(reservation):
                    self._delete_reservation(member, reservation)
                    return
        except RedfishCompositionError as e:
            self._reservation_kept(reservation, e)

    def _delete_reservation(self, path: str, reservation) -> None:
        try:
            self._call("DELETE", path)
        except RedfishNotFound:
            pass
        except RedfishCompositionError as e:
            self._reservation_kept(reservation, e)

    def _reservation_kept(self, reservation, error) -> None:
        LOG.warning(
            "Could not drop reservation %s on Redfish service %s (it expires "
            "by itself): %s",
            reservation,
            self.service,
            error,
        )

    # -- finding, reading, releasing ---------------------------------------------

    def _composed(self) -> list[dict]:
        """Every composed system, in the collection's order."""
        found = []
        for path in _members(self._get(SYSTEMS)):
            try:
                system = self._get(path)
            except RedfishNotFound:
                continue  # decomposed meanwhile
            if system.get("SystemType") == COMPOSED:
                found.append(self._node(path, system))
        return found

    def find_nodes_by_name(self, name, scope=None):
        """Systems called ``name``, in the collection's order (Redfish has
        no creation time; services list members oldest first)."""
        return [n for n in self._composed() if n["name"] == name]

    def list_nodes(self):
        return self._composed()

    def _path_of(self, node_uuid: str, hint: str | None = None) -> str | None:
        """The path of the node's system: the one known (or ``hint``) when
        its system still has that node's uuid, else found by a scan."""
        path = self._paths.get(node_uuid) or hint
        if path is not None:
            try:
                system = self._get(path)
            except RedfishNotFound:
                system = None
            if system and self.node_uuid(path, system.get("Name") or "") == node_uuid:
                return path
            self._paths.pop(node_uuid, None)
        for node in self._composed():
            if node["uuid"] == node_uuid:
                return node["path"]
        return None

    def get_node(self, node_uuid, path: str | None = None):
        """:param path: where the system was (its node's ``path``)."""
        path = self._path_of(node_uuid, path)
        if path is None:
            raise RedfishNotFound(
                f"Redfish service {self.service} has no composed system for node "
                f"{node_uuid}",
                status=404,
            )
        return self._node(path, self._get(path))

    def release_node(self, node_uuid, path: str | None = None):
        """:param path: where the system was (fewer reads when right)."""
        path = self._path_of(node_uuid, path)
        if path is None:
            return False
        try:
            self._finish(self._call("DELETE", path), "DELETE", path)
        except RedfishNotFound:
            return False
        self._paths.pop(node_uuid, None)
        LOG.info("Redfish service %s decomposed system %s", self.service, path)
        return True

    def free_capacity(self, scope=None):
        """Free blocks by type, and what they bring, per zone."""
        cs = self._service()
        blocks = {b["@odata.id"]: b for b in self._blocks(cs) if self._free(b)}
        zones = self._zone_members(self._zones(cs)) or [("(no zones)", set(blocks))]
        found = {}
        for zone_id, members in zones:
            count: dict[str, int] = {}
            total = {"cores": 0, "ram_mib": 0, "disk_gb": 0}
            for path in members & set(blocks):
                for kind in self._types(blocks[path]):
                    count[kind] = count.get(kind, 0) + 1
                for key, value in self._brings(blocks[path]).items():
                    total[key] += value
            found[zone_id] = {"blocks": count, **total}
        return {"zones": found}

    # -- what Ironic gets --------------------------------------------------------

    def hardware(self, node: dict) -> tuple[dict, list[str]]:
        """(Ironic properties, MACs) of a composed system."""
        system = node["system"]
        cores = (system.get("ProcessorSummary") or {}).get("CoreCount") or (
            system.get("ProcessorSummary") or {}
        ).get("Count")
        memory = (system.get("MemorySummary") or {}).get("TotalSystemMemoryGiB")
        props = {"cpu_arch": "x86_64"}
        if cores:
            props["cpus"] = int(cores)
        if memory:
            props["memory_mb"] = int(float(memory) * 1024)
        disk = 0
        storage = _path(system.get("Storage"))
        if storage:
            for member in _members(self._get(storage)):
                for drive in self._get(member).get("Drives") or []:
                    disk += int(self._get(_path(drive)).get("CapacityBytes") or 0)
        if disk:
            props["local_gb"] = disk // GIB
        macs = []
        nics = _path(system.get("EthernetInterfaces"))
        if nics:
            for member in _members(self._get(nics)):
                mac = self._get(member).get("MACAddress")
                if mac:
                    macs.append(mac.lower())
        return props, macs

    def driver_fields(self) -> dict:
        """driver, driver_info (without the system) and interfaces."""
        group = self.conf.valence
        return {
            "driver": "redfish",
            "driver_info": {
                "redfish_address": self.address,
                "redfish_username": self.options.username,
                "redfish_password": self.options.password,
                "redfish_verify_ca": self.options.verify_ca,
                "redfish_auth_type": self.options.auth_type,
            },
            "deploy_interface": self.options.deploy_interface or group.deploy_interface,
            "boot_interface": self.options.boot_interface or group.boot_interface,
            "resource_class": self.options.resource_class or group.resource_class,
        }
