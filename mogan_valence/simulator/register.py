"""``POST /v1/nodes/<uuid>/register``: enrol a composed node in Ironic.

Valence's ``ironic`` provisioning driver does this with a Keystone-authed
ironicclient. The simulator talks to an Ironic it is pointed at
(``--ironic-url``; no authentication, as a standalone Ironic runs), over
Ironic's REST API directly so it needs nothing of the engine.
"""

import json
import logging

import requests

from mogan_valence.simulator import state as state_mod

LOG = logging.getLogger(__name__)

# The request's keys other than driver_info go into the node as they are;
# "latest" lets any field of the running Ironic through.
_HEADERS = {
    "X-OpenStack-Ironic-API-Version": "latest",
    "Accept": "application/json",
}
LOAD_FAILED = "Failed to load ironic driver"


def node_params(detail: dict, pod_manager: dict, request: dict) -> tuple[dict, dict]:
    """What Valence's redfishv1 driver asks Ironic for: (node, port).

    ``driver`` is ``redfish`` unless the request names another; driver_info
    points at the pod manager, with the request's driver_info merged over
    it; every other request key is passed through.
    """
    username = password = None
    for auth in pod_manager.get("authentication") or []:
        if auth.get("type") == "basic":
            items = auth.get("auth_items") or {}
            username, password = items.get("username"), items.get("password")
    driver_info = {
        "redfish_address": pod_manager["url"],
        "redfish_username": username,
        "redfish_password": password,
        "redfish_system_id": detail["computer_system"],
    }
    driver_info.update(request.get("driver_info") or {})
    node = {"driver": "redfish", "name": detail["name"]}
    node.update({k: v for k, v in request.items() if k != "driver_info"})
    node["driver_info"] = driver_info
    nics = detail.get("metadata", {}).get("network") or []
    port = {"address": nics[0]["mac"]} if nics else {}
    return node, port


def _valence_exception(detail: str) -> state_mod.ValenceError:
    # Valence's ValenceException, title misspelt as the real server has it.
    return state_mod.ValenceError(
        500, "Internal Server Error", "An unknown exception occured", detail
    )


def _ironic_message(response: requests.Response) -> str:
    """Ironic's faultstring (its error body is JSON inside JSON)."""
    try:
        outer = response.json()
        inner = outer.get("error_message", outer)
        if isinstance(inner, str):
            inner = json.loads(inner)
        return inner.get("faultstring") or response.text
    except (ValueError, AttributeError):
        return response.text


class Ironic:
    """The few Ironic calls registration makes."""

    def __init__(self, url: str | None, timeout: float = 30):
        self.url = url.rstrip("/") if url else None
        self.timeout = timeout

    def load(self) -> None:
        """Valence loads its driver first, and fails whatever the node."""
        if not self.url:
            LOG.error("%s: no --ironic-url was given", LOAD_FAILED)
            raise _valence_exception(LOAD_FAILED)
        try:
            requests.get(self.url, headers=_HEADERS, timeout=self.timeout)
        except requests.RequestException as e:
            LOG.error("%s: Ironic at %s: %s", LOAD_FAILED, self.url, e)
            raise _valence_exception(LOAD_FAILED) from e

    def _post(self, path: str, body: dict) -> requests.Response:
        return requests.post(
            f"{self.url}{path}", json=body, headers=_HEADERS, timeout=self.timeout
        )

    def create_node(self, node: dict) -> dict:
        try:
            response = self._post("/v1/nodes", node)
        except requests.RequestException as e:
            raise self._unexpected(str(e)) from e
        if response.status_code != 201:
            raise self._unexpected(_ironic_message(response))
        return response.json()

    def create_port(self, node_uuid: str, address: str) -> None:
        """Valence only logs a port that could not be made."""
        try:
            response = self._post(
                "/v1/ports", {"address": address, "node_uuid": node_uuid}
            )
        except requests.RequestException as e:
            LOG.warning("Port %s of Ironic node %s: %s", address, node_uuid, e)
            return
        if response.status_code != 201:
            LOG.warning(
                "Port %s of Ironic node %s: %s",
                address,
                node_uuid,
                _ironic_message(response),
            )

    @staticmethod
    def _unexpected(reason: str) -> state_mod.ValenceError:
        return _valence_exception(
            f"Unexpected error while registering node with Ironic: {reason}"
        )
