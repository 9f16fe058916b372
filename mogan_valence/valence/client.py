"""A client of Valence's v1 REST API that copes with the real server.

python-valenceclient only covers pod managers and is not published, so this
speaks the API itself (see the Valence reference): bare-array lists, deletes
answering 200 with ``null``, with a confirmation body or 204, errors as
``{request_id, code, status, title, detail}`` (framework errors as HTTP 500
with a class name as ``code``), timestamps as ``YYYY-MM-DD HH:MM:SS UTC``.

Safe requests (GET, DELETE) are retried with exponential back-off after a
connection error or a 503. A compose is never retried: when its outcome is
unknown (no answer), the node is looked up by its name instead.
"""

import copy
import datetime
import logging
import time
from typing import Any

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg

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
        sleep=time.sleep,
    ):
        self.url = url.rstrip("/")
        if self.url.endswith("/v1"):
            self.url = self.url[: -len("/v1")]
        self.session = session or ks_session.Session()
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.retry_interval = retry_interval
        self._sleep = sleep

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts = cfg.CONF) -> "ValenceClient":
        group = conf.valence
        auth = None
        if group.auth_type:
            auth = ks_loading.load_auth_from_conf_options(conf, "valence")
        session = ks_loading.load_session_from_conf_options(conf, "valence", auth=auth)
        return cls(
            group.url,
            session,
            connect_timeout=group.connect_timeout,
            read_timeout=group.read_timeout,
            retries=group.retries,
            retry_interval=group.retry_interval,
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
                        f"({type(e).__name__}: {e})",
                        method=method,
                        url=url,
                    ) from e
                LOG.warning(
                    "%s %s: no answer (%s), retrying", method, url, type(e).__name__
                )
            else:
                if response.status_code == 503 and not last:
                    LOG.warning(
                        "%s %s: Valence unavailable (503), retrying", method, url
                    )
                elif response.status_code in expect:
                    return response
                else:
                    raise self._error(response, method, url)
            self._sleep(self.retry_interval * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _error(response, method: str, url: str) -> exc.ValenceError:
        status = response.status_code
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
        if status == 404:
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

    def find_node_by_name(self, name: str, podm_id: str | None = None) -> dict | None:
        """The node called ``name`` (the idempotency key), or None.

        :raises ValenceConflict: more than one node has that name.
        """
        params = {"name": name}
        if podm_id:
            params["podm_id"] = podm_id
        nodes = [n for n in self.list_nodes(**params) if n.get("name") == name]
        if len(nodes) > 1:
            raise exc.ValenceConflict(
                f"{len(nodes)} Valence nodes are named {name}: "
                + ", ".join(n["uuid"] for n in nodes)
            )
        return nodes[0] if nodes else None

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
