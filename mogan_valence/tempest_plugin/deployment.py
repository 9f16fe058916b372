"""The deployment under test, seen as a tenant sees it: the REST API through
keystoneauth1 (a token from Keystone, the endpoint from the catalog), with
waiters whose deadlines come from [mogan_valence]."""

import os
import uuid as uuidlib

from keystoneauth1 import adapter
from keystoneauth1.identity import v3
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from oslo_config import cfg

from mogan_valence.common import polling
from mogan_valence.tempest_plugin import config

ENV = "MOGAN_VALENCE_DEPLOYMENT_CONF"

# Server states and power states as the API shows them.
ACTIVE = "active"
BUILDING = "building"
ERROR = "error"
POWER_ON = "power on"
POWER_OFF = "power off"
# What a wait sees of a server that is no longer there (404).
GONE = "gone"


class NotConfigured(Exception):
    pass


def load_conf(path: str | None = None) -> cfg.ConfigOpts:
    """[mogan_valence] from ``path``, tempest's configuration, or $ENV's file."""
    if path is None:
        try:
            from tempest import config as tempest_config  # noqa: PLC0415

            conf = tempest_config.CONF
            group = conf.mogan_valence
            configured = bool(group.auth_url or group.endpoint)
        except Exception:  # noqa: BLE001  (no tempest, or not configured)
            configured = False
        if configured:
            if not conf.service_available.mogan_valence:
                raise NotConfigured("[service_available] mogan_valence is False")
            return conf
        path = os.environ.get(ENV)
    if not path:
        raise NotConfigured(
            f"no deployment configured: set {ENV} to a file with a "
            "[mogan_valence] section, or configure tempest"
        )
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf([], project="mogan-valence-tests", default_config_files=[path])
    return conf


class ApiClient:
    """The REST API as one user: a keystoneauth1 adapter on the
    ``baremetal_compute`` service. Answers are returned, never raised."""

    def __init__(self, opts, username=None, password=None, project_name=None):
        if opts.auth_type == "none":
            auth = noauth.NoAuth()
        else:
            auth = v3.Password(
                auth_url=opts.auth_url,
                username=username,
                password=password,
                project_name=project_name,
                user_domain_name=opts.user_domain_name,
                project_domain_name=opts.project_domain_name,
            )
        self.username = username or "noauth"
        self.http = adapter.Adapter(
            ks_session.Session(auth=auth),
            service_type=config.SERVICE_TYPE,
            interface=opts.interface,
            region_name=opts.region_name,
            endpoint_override=opts.endpoint or None,
            raise_exc=False,
        )

    def request(self, method: str, path: str, body=None):
        kwargs = {"headers": {"Accept": "application/json"}}
        if body is not None:
            kwargs["json"] = body
        return self.http.request(path, method, **kwargs)

    def get_server(self, uuid: str) -> dict | None:
        """The server, or None once it is gone (404)."""
        answer = self.request("GET", f"/servers/{uuid}")
        if answer.status_code == 404:
            return None
        _expect(answer, 200, f"GET /servers/{uuid}")
        return answer.json()

    def list_servers(self, detail: bool = False) -> list[dict]:
        path = "/servers/detail" if detail else "/servers"
        answer = self.request("GET", path)
        _expect(answer, 200, f"GET {path}")
        return answer.json()["servers"]

    def find_flavor(self, name: str) -> dict:
        answer = self.request("GET", "/flavors")
        _expect(answer, 200, "GET /flavors")
        found = [f for f in answer.json()["flavors"] if f["name"] == name]
        if len(found) != 1:
            raise AssertionError(
                f"{len(found)} flavors named {name!r} visible to {self.username}"
            )
        return found[0]


def _expect(answer, status: int, what: str) -> None:
    if answer.status_code != status:
        raise AssertionError(
            f"{what}: HTTP {answer.status_code} (expected {status}): {answer.text}"
        )


def fault_of(server: dict | None) -> str | None:
    fault = (server or {}).get("fault")
    return fault and f"{fault.get('message')} ({fault.get('detail')})"


class Deployment:
    def __init__(self, conf: cfg.ConfigOpts):
        self.opts = conf.mogan_valence
        o = self.opts
        if o.auth_type == "none":
            if not o.endpoint:
                raise NotConfigured("[mogan_valence] auth_type = none needs endpoint")
            self.primary = ApiClient(o)
            self.alt = None
            self.admin = None
        else:
            missing = [
                name
                for name in ("auth_url", "username", "password", "project_name")
                if not getattr(o, name)
            ]
            if missing:
                raise NotConfigured(
                    f"[mogan_valence] {', '.join(missing)} must be set "
                    "(or auth_type = none with endpoint)"
                )
            self.primary = ApiClient(o, o.username, o.password, o.project_name)
            self.alt = (
                ApiClient(o, o.alt_username, o.alt_password, o.alt_project_name)
                if o.alt_username
                else None
            )
            self.admin = (
                ApiClient(o, o.admin_username, o.admin_password, o.admin_project_name)
                if o.admin_username
                else None
            )
        self.ironic = None
        if o.ironic_endpoint:
            from ironicclient import client as ironic_client  # noqa: PLC0415

            self.ironic = ironic_client.get_client(
                "1", endpoint=o.ironic_endpoint, os_ironic_api_version="latest"
            )
        self.valence = None
        if o.valence_url:
            from mogan_valence.valence import client as valence_client  # noqa: PLC0415

            self.valence = valence_client.ValenceClient(o.valence_url, retries=1)

    @staticmethod
    def unique_name(prefix: str = "scenario") -> str:
        return f"{prefix}-{uuidlib.uuid4().hex[:8]}"

    def wait_for(
        self, client: ApiClient, uuid: str, wanted: set[str], what: str, status=None
    ) -> dict | None:
        """GET the server until ``status(server)`` (by default its status;
        GONE once it is gone) is in ``wanted``, for at most build_timeout
        seconds, looking every build_interval seconds.

        :raises AssertionError: at the timeout, naming the last status.
        """
        status_of = status or (lambda server: server["status"])
        try:
            return polling.wait_for_status(
                lambda: client.get_server(uuid),
                wanted,
                status=lambda server: GONE if server is None else status_of(server),
                timeout=self.opts.build_timeout,
                what=f"server {uuid} to be {what}",
                interval=self.opts.build_interval,
            )
        except polling.StatusTimeout as e:
            raise AssertionError(str(e)) from None

    def wait_for_status(self, client: ApiClient, uuid: str, until: set[str]) -> dict:
        return self.wait_for(client, uuid, {GONE, *until}, " or ".join(sorted(until)))

    def delete_and_wait(self, client: ApiClient, uuid: str) -> dict | None:
        """Delete and wait until the server is gone (None) or in ERROR (the
        server, with its fault)."""
        server = client.get_server(uuid)
        if server is None:
            return None
        if server["status"] == BUILDING:
            server = self.wait_for_status(client, uuid, {ACTIVE, ERROR})
        if server is None:
            return None
        # A server in ERROR before the delete ends in ERROR again only with
        # a new fault, naming the teardown step that failed.
        before = (server.get("fault") or {}).get("created_at")
        answer = client.request("DELETE", f"/servers/{uuid}")
        if answer.status_code != 404:
            _expect(answer, 204, f"DELETE /servers/{uuid}")

        def status(s):
            if (s.get("fault") or {}).get("created_at") in (None, before):
                return s["status"]
            return f"{s['status']} (new fault)"

        return self.wait_for(
            client, uuid, {GONE, f"{ERROR} (new fault)"}, "deleted", status
        )

    def delete_by_name(self, client: ApiClient, name: str) -> None:
        """A cleanup that needs no create answer: whatever server of that
        name the project has goes."""
        for server in client.list_servers():
            if server["name"] == name:
                self.delete_and_wait(client, server["uuid"])
