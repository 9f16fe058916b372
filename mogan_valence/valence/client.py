"""A client of Valence's v1 REST API that copes with the real server.

python-valenceclient only covers pod managers and is not published, so this
speaks the API itself (see the Valence reference): bare-array lists, deletes
answering 200 with ``null``, with a confirmation body or 204, errors as
``{request_id, code, status, title, detail}`` (framework errors as HTTP 500
with a class name as ``code``), timestamps as ``YYYY-MM-DD HH:MM:SS UTC``.

Safe requests (GET, DELETE) are retried with exponential back-off after a
connection error, a 503, or the HTTP 500 by which Valence reports that its own
database (etcd) is unreachable (``EtcdConnectionFailed``). A compose is never
retried: when its outcome is unknown (no answer), the node is looked up by its
name instead.

Valence accepts two composes with one name, so a name can match several
nodes: ``find_nodes_by_name`` returns them all, oldest first.

Credentials in the URL (``http://user:password@valence``) are sent as HTTP
basic authentication and never appear in a log line or an exception; texts
that Valence answers are masked (``common.secrets``) before they are logged or
raised.
"""

import copy
import datetime
import logging
import time
import urllib.parse
from typing import Any

import requests
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg

from mogan_valence.common import http
from mogan_valence.common import polling
from mogan_valence.common import secrets
from mogan_valence.valence import exceptions as exc

LOG = logging.getLogger(__name__)

_CONNECTION_ERRORS = (
    ks_exc.ConnectFailure,
    ks_exc.ConnectTimeout,
    ks_exc.UnknownConnectionError,
    ks_exc.SSLError,
)
_TIMESTAMP_KEYS = ("created_at", "updated_at")
_VALENCE_TIME = "%Y-%m-%d %H:%M:%S UTC"
# Valence answers any exception of python-etcd as HTTP 500 with the class
# name as code and title: its database is down, which passes like a 503.
_DB_OUTAGE = "EtcdConnectionFailed"
# Back-off of the look-ups after a compose whose outcome is unknown.
_LOOKUP_INTERVAL_MIN = 0.25
_LOOKUP_INTERVAL_MAX = 2.0
_LATEST = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)


def parse_timestamp(value: str | None) -> datetime.datetime | None:
    """A timestamp as Valence writes it (or ISO 8601), as an aware datetime."""
    if not value:
        return None
    try:
        parsed = datetime.datetime.strptime(value, _VALENCE_TIME)
        return parsed.replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        pass
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def _normalise(record: Any) -> Any:
    """Timestamps to ISO 8601 so that every consumer reads one format."""
    if isinstance(record, dict):
        record = dict(record)
        for key in _TIMESTAMP_KEYS:
            parsed = (
                parse_timestamp(record.get(key))
                if isinstance(record.get(key), str)
                else None
            )
            if parsed is not None:
                record[key] = parsed.isoformat()
    return record


def _redact_pod_manager(record: dict) -> dict:
    """Valence echoes pod manager passwords in plain text; never pass them on."""
    record = copy.deepcopy(record)
    for auth in record.get("authentication") or []:
        items = auth.get("auth_items") if isinstance(auth, dict) else None
        if isinstance(items, dict) and "password" in items:
            items["password"] = "***"
    return record


def _split_credentials(url: str) -> tuple[str, requests.auth.HTTPBasicAuth | None]:
    """``url`` without its ``user:password@``, and those as basic auth."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    bare = urllib.parse.urlunsplit(parts._replace(netloc=host))
    auth = requests.auth.HTTPBasicAuth(
        urllib.parse.unquote(parts.username or ""),
        urllib.parse.unquote(parts.password or ""),
    )
    return bare, auth


def _error_fields(response) -> tuple[Any, Any, str | None]:
    """(code, title, detail) of a Valence error answer, detail masked."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body.get("code")
        title = body.get("title")
        detail = body.get("detail")
        if detail is None and isinstance(body.get("error"), dict):
            # A raw Redfish error passed through (legacy proxy paths).
            detail = body["error"].get("message")
    else:
        code, title = None, None
        detail = (response.text or "").strip()[:300] or None
    if detail is not None:
        detail = secrets.mask(str(detail))
    return code, title, detail


def _is_db_outage(status: int, code: Any, title: Any, detail: Any) -> bool:
    """Valence's own database is unreachable (an answer worth retrying)."""
    return status == 500 and any(
        _DB_OUTAGE in str(value or "") for value in (code, title, detail)
    )


def _created(node: dict) -> tuple:
    """Sort key: oldest first, unknown times last, then by uuid."""
    created = node.get("created_at")
    parsed = parse_timestamp(created) if isinstance(created, str) else None
    return (parsed is None, parsed or _LATEST, str(node.get("uuid") or ""))


def _is_no_capacity(status: int, code: Any, detail: str) -> bool:
    text = (detail or "").lower()
    if status == 409 and str(code or "").endswith("ResourcesStateMismatch"):
        return True
    return status in (404, 409) and (
        "no computer systems available" in text
        or "no drives available" in text
        or "not available" in text
        and ("node" in text or "device" in text)
    )


class ValenceClient:
    """Valence v1 API.

    :param url: base URL, e.g. ``http://valence:8181`` (no ``/v1``).
    :param session: a keystoneauth1 session; with an auth plugin every request
        carries a token, without one requests go unauthenticated.
    """

    def __init__(
        self,
        url: str,
        session: ks_session.Session | None = None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        retries: int = 3,
        retry_interval: float = 1.0,
        compose_lookup_window: float = 10.0,
        sleep=time.sleep,
        clock=time.monotonic,
    ):
        # NOTE: self.url never holds credentials: it goes into messages.
        url, self._basic_auth = _split_credentials(url.rstrip("/"))
        self.url = url.rstrip("/")
        if self.url.endswith("/v1"):
            self.url = self.url[: -len("/v1")]
        self.session = session or http.adopt(ks_session.Session())
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.retry_interval = retry_interval
        self.compose_lookup_window = compose_lookup_window
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts = cfg.CONF) -> "ValenceClient":
        group = conf.valence
        auth = None
        if group.auth_type:
            auth = ks_loading.load_auth_from_conf_options(conf, "valence")
        session = http.adopt(
            ks_loading.load_session_from_conf_options(conf, "valence", auth=auth)
        )
        return cls(
            group.url,
            session,
            connect_timeout=group.connect_timeout,
            read_timeout=group.read_timeout,
            retries=group.retries,
            retry_interval=group.retry_interval,
            compose_lookup_window=group.compose_lookup_window,
        )

    # -- transport ---------------------------------------------------------------

    def _send(
        self, method: str, path: str, *, json: Any = None, params=None, log: bool = True
    ):
        kwargs: dict[str, Any] = {
            "raise_exc": False,
            "timeout": self.timeout,
            "log": log,
            "headers": {"Accept": "application/json"},
        }
        if json is not None:
            kwargs["json"] = json
        if params:
            kwargs["params"] = params
        if self.session.auth is None:
            kwargs["authenticated"] = False
        if self._basic_auth is not None:
            kwargs["requests_auth"] = self._basic_auth
        return self.session.request(f"{self.url}{path}", method, **kwargs)

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params=None,
        expect=(200,),
        log: bool = True,
    ):
        safe = method in ("GET", "DELETE")
        attempts = 1 + (self.retries if safe else 0)
        url = f"{self.url}{path}"
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._send(method, path, json=json, params=params, log=log)
            except _CONNECTION_ERRORS as e:
                if last:
                    raise exc.ValenceUnreachable(
                        f"{method} {url}: Valence did not answer "
                        f"({type(e).__name__}: {secrets.mask(str(e))})",
                        method=method,
                        url=url,
                    ) from e
                LOG.warning(
                    "%s %s: no answer (%s), retrying", method, url, type(e).__name__
                )
            else:
                status = response.status_code
                if status in expect:
                    return response
                if last or not self._transient(response):
                    raise self._error(response, method, url)
                LOG.warning(
                    "%s %s: Valence unavailable (%s), retrying",
                    method,
                    url,
                    "503" if status == 503 else f"{status} {_DB_OUTAGE}",
                )
            self._sleep(self.retry_interval * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _transient(response) -> bool:
        """A 503, or Valence's database outage answered as a 500."""
        status = response.status_code
        if status == 503:
            return True
        return status == 500 and _is_db_outage(status, *_error_fields(response))

    @staticmethod
    def _error(response, method: str, url: str) -> exc.ValenceError:
        status = response.status_code
        code, title, detail = _error_fields(response)
        if _is_db_outage(status, code, title, detail):
            cls = exc.ValenceServiceUnavailable
        elif status == 404:
            cls = (
                exc.ValenceNoCapacity
                if _is_no_capacity(status, code, detail)
                else exc.ValenceNotFound
            )
        elif status == 409:
            cls = (
                exc.ValenceNoCapacity
                if _is_no_capacity(status, code, detail)
                else exc.ValenceConflict
            )
        elif status == 400:
            cls = exc.ValenceValidationError
        elif status == 503:
            cls = exc.ValenceServiceUnavailable
        elif status >= 500:
            cls = exc.ValenceServerError
        else:
            cls = exc.ValenceError
        return cls(
            status=status, code=code, title=title, detail=detail, method=method, url=url
        )

    @staticmethod
    def _json(response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as e:
            raise exc.ValenceServerError(
                status=response.status_code, detail=f"answer is not JSON: {e}"
            ) from e

    def _list(self, path: str, params=None, *, log: bool = True) -> list[dict]:
        body = self._json(self._request("GET", path, params=params, log=log))
        if isinstance(body, dict):
            # The api-ref mockups wrap lists ({"nodes": [...]}); the server
            # does not, but tolerate both.
            values = [v for v in body.values() if isinstance(v, list)]
            body = values[0] if len(values) == 1 else None
        if not isinstance(body, list):
            raise exc.ValenceServerError(
                status=200, detail=f"GET {path} did not answer a list"
            )
        return [_normalise(item) for item in body]

    # -- nodes ---------------------------------------------------------------------

    def compose_node(
        self,
        name: str,
        podm_id: str,
        *,
        flavor_id: str | None = None,
        properties: dict | None = None,
        description: str | None = None,
    ) -> dict:
        """Compose a node; return ``{uuid, name, index, resource_uri}``.

        :raises ValenceNoCapacity: nothing free matches the request.
        :raises ValenceComposeOutcomeUnknown: no answer came and no node of
            that name exists (yet): it may still appear.
        """
        body: dict[str, Any] = {"name": name, "podm_id": podm_id}
        if description:
            body["description"] = description
        if flavor_id is not None and properties is not None:
            raise exc.InvalidComposition(
                reason="a compose takes a Valence flavor or properties, not both"
            )
        if flavor_id is not None:
            body["flavor_id"] = flavor_id
        elif properties is not None:
            body["properties"] = properties
        return self.compose(body)

    def compose(self, body: dict) -> dict:
        """``POST /v1/nodes`` with a ready body (see ``composition.to_request``)."""
        name = body["name"]
        url = f"{self.url}/v1/nodes"
        try:
            response = self._send("POST", "/v1/nodes", json=body)
        except _CONNECTION_ERRORS as e:
            LOG.warning(
                "Compose of %s got no answer (%s); looking it up by name",
                name,
                type(e).__name__,
            )
            return self._adopt_after_unknown(name, body.get("podm_id"), e)
        if response.status_code != 200:
            error = self._error(response, "POST", url)
            if isinstance(error, exc.ValenceValidationError) and "local_drives" in str(
                (body.get("properties") or {}).keys()
            ):
                error = exc.ValenceValidationError(
                    "Valence refused the request: this Valence does not support the "
                    "RSD 2.x 'local_drives' extension that 'disk_gb'/'disk_type' need "
                    f"({error.detail})",
                    status=error.status,
                    code=error.valence_code,
                    title=error.title,
                    detail=error.detail,
                    method="POST",
                    url=url,
                )
            raise error
        node = self._json(response)
        if not isinstance(node, dict) or not node.get("uuid"):
            raise exc.ValenceServerError(
                status=200,
                detail="compose answered no node uuid",
                method="POST",
                url=url,
            )
        return _normalise(node)

    def _adopt_after_unknown(self, name: str, podm_id: str | None, cause) -> dict:
        try:
            node = self.find_node_by_name(name, podm_id)
        except exc.ValenceError as e:
            raise exc.ValenceComposeOutcomeUnknown(
                f"Compose of {name} got no answer ({type(cause).__name__}) and the "
                f"lookup by name failed too: {e}"
            ) from cause
        if node is None:
            raise exc.ValenceComposeOutcomeUnknown(
                f"Compose of {name} got no answer ({type(cause).__name__}) and no "
                "node of that name exists yet"
            ) from cause
        LOG.info(
            "Compose of %s had no answer but node %s exists; using it",
            name,
            node["uuid"],
        )
        return node

    def find_nodes_by_name(self, name: str, podm_id: str | None = None) -> list[dict]:
        """Every node called ``name``, oldest ``created_at`` first.

        Valence accepts duplicate names (a compose retried by hand, or one
        whose answer was lost). Nodes of equal age are ordered by uuid; nodes
        of unknown age come last. A list answer carries no timestamps, so
        when several nodes match, each one's detail is read for its age (a
        node gone meanwhile is left out).
        """
        params = {"name": name}
        if podm_id:
            params["podm_id"] = podm_id
        nodes = [n for n in self.list_nodes(**params) if n.get("name") == name]
        if len(nodes) > 1:
            dated = []
            for node in nodes:
                if not node.get("created_at"):
                    try:
                        detail = self.get_node(node["uuid"])
                    except exc.ValenceNotFound:
                        continue  # released meanwhile
                    node = dict(
                        node,
                        **{k: detail[k] for k in _TIMESTAMP_KEYS if detail.get(k)},
                    )
                dated.append(node)
            nodes = dated
        return sorted(nodes, key=_created)

    def find_node_by_name(self, name: str, podm_id: str | None = None) -> dict | None:
        """The oldest node called ``name`` (the idempotency key), or None.

        Any younger node of that name is a duplicate for the caller to
        release (see ``find_nodes_by_name``).
        """
        nodes = self.find_nodes_by_name(name, podm_id)
        return nodes[0] if nodes else None

    def wait_for_nodes_by_name(
        self, name: str, podm_id: str | None = None, *, window: float | None = None
    ) -> list[dict]:
        """The nodes called ``name``, looking again until ``window`` is over.

        After a compose whose answer was lost, Valence may commit the node a
        moment after a first look found nothing. This looks with back-off
        (fast first, capped interval) and returns as soon as any node of that
        name exists, or ``[]`` once ``window`` seconds have passed (one look
        when ``window`` is 0). A failed look (Valence unreachable or failing)
        counts as "nothing yet"; if the last look failed, its error is raised
        rather than claiming that nothing exists.

        :param window: seconds to keep looking; default the client's
            ``compose_lookup_window`` (``[valence] compose_lookup_window``).
        :raises ValenceError: the last look failed.
        """
        return polling.look_until_found(
            lambda: self.find_nodes_by_name(name, podm_id),
            window=self.compose_lookup_window if window is None else window,
            what=f"Valence node {name}",
            transient=(exc.ValenceServerError, exc.ValenceUnreachable),
            interval_min=_LOOKUP_INTERVAL_MIN,
            interval_max=_LOOKUP_INTERVAL_MAX,
            clock=self._clock,
            sleep=self._sleep,
        )

    def list_nodes(
        self, *, name: str | None = None, podm_id: str | None = None
    ) -> list:
        params = {k: v for k, v in (("name", name), ("podm_id", podm_id)) if v}
        return self._list("/v1/nodes", params)

    def get_node(self, node_uuid: str) -> dict:
        return _normalise(self._json(self._request("GET", f"/v1/nodes/{node_uuid}")))

    def delete_node(self, node_uuid: str) -> None:
        """Release a composed node back to the pool.

        :raises ValenceNotFound: no such node (already released).
        """
        self._request("DELETE", f"/v1/nodes/{node_uuid}", expect=(200, 202, 204))

    def release_node(self, node_uuid: str) -> bool:
        """Like ``delete_node`` but idempotent: False if it was already gone."""
        try:
            self.delete_node(node_uuid)
        except exc.ValenceNotFound:
            return False
        return True

    def reset_node(self, node_uuid: str, reset_type: str) -> None:
        """Power action: ``On``, ``ForceOn``, ``ForceOff`` or ``GracefulRestart``."""
        self._request(
            "POST",
            f"/v1/nodes/{node_uuid}/action",
            json={"Reset": {"Type": reset_type}},
            expect=(200, 204),
        )

    def set_boot_source(
        self, node_uuid: str, target: str, enabled: str = "Once"
    ) -> None:
        """Boot override: ``Pxe``, ``Hdd`` or ``None``, ``Once`` or ``Continuous``."""
        self._request(
            "POST",
            f"/v1/nodes/{node_uuid}/action",
            json={"Boot": {"Enabled": enabled, "Target": target}},
            expect=(200, 204),
        )

    def register_node(self, node_uuid: str, **fields) -> dict:
        """Have Valence enrol the node in its Ironic (``managed_by: ironic``).

        ``driver_info`` is merged over the pod manager's Redfish details;
        other fields (``extra``, ``resource_class``, ...) go to the Ironic
        node as they are. The engine enrols nodes itself; this is for
        operators whose Valence owns enrolment.
        """
        # log=False: driver_info may carry a BMC password.
        response = self._request(
            "POST", f"/v1/nodes/{node_uuid}/register", json=fields, log=False
        )
        return _normalise(self._json(response))

    # -- devices (ExpEther) -------------------------------------------------------

    def list_devices(self, **filters) -> list[dict]:
        """Pool devices; ``filters`` match fields exactly (``type``,
        ``state``, ``node_id``, ``podm_id``, ...)."""
        params = {k: v for k, v in filters.items() if v is not None}
        return self._list("/v1/devices", params)

    def attach_device(self, node_uuid: str, device_uuid: str) -> None:
        """Attach a pool device to a composed node.

        :raises ValenceValidationError: the device is attached elsewhere.
        """
        self._request(
            "POST",
            f"/v1/nodes/{node_uuid}/action",
            json={"attach": {"resource_id": device_uuid}},
            expect=(200, 204),
        )

    # -- flavors -------------------------------------------------------------------

    def list_flavors(self) -> list[dict]:
        return self._list("/v1/flavors")

    def get_flavor(self, flavor_uuid: str) -> dict:
        return _normalise(
            self._json(self._request("GET", f"/v1/flavors/{flavor_uuid}"))
        )

    def create_flavor(
        self, name: str, properties: dict, description: str | None = None
    ) -> dict:
        body: dict[str, Any] = {"name": name, "properties": properties}
        if description:
            body["description"] = description
        return _normalise(self._json(self._request("POST", "/v1/flavors", json=body)))

    def delete_flavor(self, flavor_uuid: str) -> None:
        self._request("DELETE", f"/v1/flavors/{flavor_uuid}", expect=(200, 202, 204))

    # -- pod managers --------------------------------------------------------------

    def list_pod_managers(self) -> list[dict]:
        # log=False: the answer holds the pod managers' passwords.
        return [
            _redact_pod_manager(p) for p in self._list("/v1/pod_managers", log=False)
        ]

    def get_pod_manager(self, podm_uuid: str) -> dict:
        record = self._json(
            self._request("GET", f"/v1/pod_managers/{podm_uuid}", log=False)
        )
        return _redact_pod_manager(_normalise(record))
