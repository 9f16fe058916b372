"""The REST API as the CLI sees it: a keystoneauth adapter, Mogan's error
envelope turned into one-line errors, name-or-UUID lookup, and waits.

Only keystoneauth1 (no python-moganclient): the CLI and the demo are
product code, and the client library is a test dependency.
"""

import json
import sys
import time

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from osc_lib import exceptions as osc_exc

from mogan_valence.common import polling
from mogan_valence import conf as _conf  # noqa: F401  (polling reads [engine])

SERVICE_TYPE = "baremetal_compute"
USER_AGENT = "mogan-valence-cli"
# The back-off of every wait: fast first looks, then at most every 2 s.
WAIT_INTERVAL_MIN = 0.2
WAIT_INTERVAL_MAX = 2.0
# What a wait sees of a server that is no longer there (404).
GONE = "gone"


def display_status(server: dict) -> str:
    """A server's status as the progress lines show it: an ACTIVE server's
    power state with it."""
    state = server["status"]
    if server.get("power_state") and state == "active":
        state = f"{state}, {server['power_state']}"
    return state


class ApiError(osc_exc.CommandError):
    """An error answer of the API, with its HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def error_message(response) -> str:
    """The one-line message of an error answer.

    Mogan's envelope is ``{"error_message": "<JSON of {faultcode,
    faultstring, debuginfo}>"}``; keystonemiddleware answers ``{"error":
    {"message": ...}}``; anything else falls back to the status line.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    message = None
    if isinstance(body, dict):
        inner = body.get("error_message")
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except ValueError:
                message = inner
        if isinstance(inner, dict):
            message = inner.get("faultstring") or inner.get("message")
        if message is None and isinstance(body.get("error"), dict):
            message = body["error"].get("message")
        if message is None and isinstance(body.get("message"), str):
            message = body["message"]
    if not message:
        message = (response.text or "").strip()[:200] or response.reason or "error"
    return f"{message} (HTTP {response.status_code})"


class ApiClient:
    """The Mogan v1 REST API through a keystoneauth session.

    :param session: a keystoneauth1 session (Keystone or no auth).
    :param endpoint: the API's URL ending in ``/v1``; None to take the
        ``baremetal_compute`` endpoint from the Keystone catalog.
    """

    def __init__(
        self,
        session,
        endpoint: str | None = None,
        interface: str | None = None,
        region_name: str | None = None,
    ):
        self.adapter = ks_adapter.Adapter(
            session,
            service_type=SERVICE_TYPE,
            interface=interface,
            region_name=region_name,
            endpoint_override=endpoint.rstrip("/") if endpoint else None,
            user_agent=USER_AGENT,
        )

    @property
    def endpoint(self) -> str | None:
        try:
            return self.adapter.get_endpoint()
        except ks_exc.ClientException:
            return None

    @property
    def project_id(self) -> str | None:
        """The caller's project, when the session knows it (Keystone)."""
        try:
            return self.adapter.get_project_id()
        except (ks_exc.ClientException, AttributeError, NotImplementedError):
            return None

    def request(self, method: str, path: str, body=None, ok=(200,)):
        """Send one request; the JSON answer (None when empty).

        :raises ApiError: on an answer outside ``ok``, or when the API
            cannot be reached, with a message fit for the operator.
        """
        kwargs = {"raise_exc": False, "headers": {"Accept": "application/json"}}
        if body is not None:
            kwargs["json"] = body
        try:
            response = self.adapter.request(path, method, **kwargs)
        except ks_exc.EndpointNotFound:
            raise ApiError(
                0,
                f"no {SERVICE_TYPE} endpoint in the service catalog; "
                "give the API's URL with --os-endpoint",
            ) from None
        except ks_exc.ConnectFailure as e:
            # keystoneauth appends urllib3's whole retry story; the first
            # part names the URL.
            reason = str(e).split(": HTTPConnectionPool")[0]
            raise ApiError(0, f"cannot reach the API: {reason}") from None
        except ks_exc.ClientException as e:
            raise ApiError(0, f"{type(e).__name__}: {e}") from None
        if response.status_code not in ok:
            raise ApiError(response.status_code, error_message(response))
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                response.status_code,
                f"the API answered {method} {path} with something not JSON",
            ) from None

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body, ok=(200, 201, 202, 204)):
        return self.request("POST", path, body, ok=ok)

    def put(self, path: str, body, ok=(200, 202, 204)):
        return self.request("PUT", path, body, ok=ok)

    def patch(self, path: str, body):
        return self.request("PATCH", path, body)

    def delete(self, path: str):
        return self.request("DELETE", path, ok=(200, 202, 204))

    # -- lists and lookups -------------------------------------------------

    def list_servers(self, detail: bool = False, all_projects: bool = False):
        """Every server, following ``marker`` across pages."""
        path = "/servers/detail" if detail else "/servers"
        query = ["all_tenants=True"] if all_projects else []
        found: list[dict] = []
        while True:
            marker = [f"marker={found[-1]['uuid']}"] if found else []
            params = "&".join(query + marker)
            page = self.get(f"{path}?{params}" if params else path)["servers"]
            if not page:
                return found
            found.extend(page)

    def list_flavors(self) -> list[dict]:
        return self.get("/flavors")["flavors"]

    def find(self, kind: str, name_or_id: str) -> dict:
        """A flavor or server by UUID or by unique name (``kind``:
        "flavor" or "server"): the UUID is tried first (the API answers 404
        for anything not a UUID), then the names of the list.

        :raises CommandError: when nothing, or more than one, has that name.
        """
        collection = f"{kind}s"
        try:
            return self.get(f"/{collection}/{name_or_id}")
        except ApiError as e:
            if e.status != 404:
                raise
        listed = self.list_servers() if kind == "server" else self.list_flavors()
        matches = [item for item in listed if item.get("name") == name_or_id]
        if not matches:
            raise osc_exc.CommandError(
                f"No {kind} with a name or UUID of '{name_or_id}' exists."
            )
        if len(matches) > 1:
            raise osc_exc.CommandError(
                f"More than one {kind} exists with the name '{name_or_id}'; "
                "use its UUID."
            )
        return self.get(f"/{collection}/{matches[0]['uuid']}")

    # -- waits -------------------------------------------------------------

    def wait_for_server(
        self,
        uuid: str,
        wanted: set[str],
        timeout: float,
        what: str,
        out=None,
        status=None,
    ) -> dict | None:
        """Poll a server until its status is in ``wanted``, printing a
        progress line; return the server.

        The line (``NAME: STATUS (SECONDS s)``) is rewritten in place on a
        terminal, and printed once per status change otherwise. With
        ``GONE`` in ``wanted``, a 404 ends the wait and returns None.
        ``status(server)`` is what ``wanted`` is matched against (by
        default the server's ``status``).

        :raises CommandError: when ``timeout`` passes first, naming the
            last status.
        """
        out = out or sys.stderr
        tty = out.isatty()
        start = time.monotonic()
        shown = {"line": None}
        status_of = status or (lambda server: server["status"])

        def fetch():
            try:
                return self.get(f"/servers/{uuid}")
            except ApiError as e:
                if GONE in wanted and e.status == 404:
                    return None
                raise

        def progress(server, _status):
            if server is None:
                return
            state = display_status(server)
            label = server.get("name") or uuid
            if tty:
                elapsed = time.monotonic() - start
                print(f"\r{label}: {state} ({elapsed:.0f}s)   ", end="", file=out)
                out.flush()
            elif state != shown["line"]:
                print(f"{label}: {state}", file=out, flush=True)
            shown["line"] = state

        try:
            return polling.wait_for_status(
                fetch,
                wanted,
                status=lambda server: GONE if server is None else status_of(server),
                timeout=timeout,
                what=what,
                interval=WAIT_INTERVAL_MIN,
                interval_max=WAIT_INTERVAL_MAX,
                on_poll=progress,
            )
        except polling.StatusTimeout as e:
            raise osc_exc.CommandError(str(e)) from None
        finally:
            if tty and shown["line"] is not None:
                print(file=out, flush=True)
