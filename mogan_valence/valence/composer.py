"""The composer interface: what the extension asks of a composition backend.

A backend composes a node by name from a flavor's composition, finds nodes
by that name (the idempotency key, ``mogan-<instance uuid>``), reads and
releases them, lists them for the reconciler, and says what is free. Two
backends implement it: ``valence`` (the Valence v1 API, through
``ValenceClient``) and ``redfish`` (a DMTF Redfish CompositionService,
``redfish.RedfishComposer``). A flavor's composition chooses one with
``"backend"`` (``[valence] backend`` otherwise).

A node is a dict with at least ``uuid`` (also the uuid of the Ironic node
enrolled for it) and ``name``; ``created_at`` when the backend knows it.
"""

import abc
import logging
import threading
import urllib.parse

from mogan_valence.common import exception
from mogan_valence.common import polling
from mogan_valence.valence import composition as composition_mod

LOG = logging.getLogger(__name__)

LOOKUP_INTERVAL_MIN = 0.25
LOOKUP_INTERVAL_MAX = 2.0

# instance.extra key: which composer holds the instance's composed node
# ({"backend", "service"}); absent on instances of the Valence backend.
COMPOSER_KEY = "composer"


class Composer(abc.ABC):
    """One composition backend (one service of it)."""

    backend: str = ""
    service: str | None = None

    @property
    def ref(self) -> dict:
        """What an instance records to find this composer again."""
        return {"backend": self.backend, "service": self.service}

    @abc.abstractmethod
    def compose(
        self,
        name: str,
        composition: dict,
        description: str | None = None,
        scope: str | None = None,
    ) -> dict:
        """Compose a node called ``name`` for a validated composition.

        A compose whose answer is lost is looked up by name before this
        fails; when nothing shows up the error says the outcome is unknown.
        """

    @abc.abstractmethod
    def find_nodes_by_name(self, name: str, scope: str | None = None) -> list[dict]:
        """Every node called ``name``, oldest first."""

    def wait_for_nodes_by_name(
        self, name: str, scope: str | None = None, *, window: float | None = None
    ) -> list[dict]:
        """The nodes called ``name``, looking again for ``window`` seconds
        (after a compose whose outcome is unknown, the node may appear a
        moment later); ``[]`` when none appeared. An error of the last look
        is raised rather than claiming that nothing exists."""
        return polling.look_until_found(
            lambda: self.find_nodes_by_name(name, scope),
            window=self.lookup_window if window is None else window,
            what=f"composed node {name}",
            transient=self.transient_errors,
            interval_min=LOOKUP_INTERVAL_MIN,
            interval_max=LOOKUP_INTERVAL_MAX,
        )

    @abc.abstractmethod
    def get_node(self, node_uuid: str) -> dict:
        """The node's detail; raises the backend's not-found error."""

    @abc.abstractmethod
    def release_node(self, node_uuid: str) -> bool:
        """Give the node's hardware back; False if it was already gone."""

    @abc.abstractmethod
    def list_nodes(self) -> list[dict]:
        """Every node the backend holds (any name)."""

    @abc.abstractmethod
    def free_capacity(self, scope: str | None = None) -> dict:
        """What could still be composed, as the backend counts it."""

    def forget_pending(self, name: str) -> int:
        """Give back what an unfinished compose of ``name`` holds without a
        node (a reservation); how many. Nothing by default."""
        return 0

    # Errors a lookup may meet that say nothing about what exists.
    transient_errors: tuple = ()
    # Errors after which a compose may still have gone through.
    outcome_unknown_errors: tuple = ()
    lookup_window: float = 0.0


class ValenceComposer(Composer):
    """The Valence v1 API as a composer (``scope``: the pod manager)."""

    backend = composition_mod.VALENCE

    def __init__(self, client, default_podm_id: str | None = None):
        from mogan_valence.valence import exceptions as valence_exc

        self.client = client
        self.default_podm_id = default_podm_id
        self.transient_errors = (
            valence_exc.ValenceServerError,
            valence_exc.ValenceUnreachable,
        )
        self.outcome_unknown_errors = (
            valence_exc.ValenceComposeOutcomeUnknown,
            valence_exc.ValenceUnreachable,
            valence_exc.ValenceServerError,
        )

    @property
    def lookup_window(self) -> float:
        return self.client.compose_lookup_window

    def compose(self, name, composition, description=None, scope=None):
        return self.client.compose(
            composition_mod.to_request(
                composition, name, scope or self.default_podm_id, description
            )
        )

    def find_nodes_by_name(self, name, scope=None):
        return self.client.find_nodes_by_name(name, scope)

    def wait_for_nodes_by_name(self, name, scope=None, *, window=None):
        return self.client.wait_for_nodes_by_name(name, scope, window=window)

    def get_node(self, node_uuid):
        return self.client.get_node(node_uuid)

    def release_node(self, node_uuid):
        return self.client.release_node(node_uuid)

    def list_nodes(self):
        return self.client.list_nodes()

    def free_capacity(self, scope=None):
        """Free pooled devices by type (ExpEther); Valence tells no more."""
        free: dict[str, int] = {}
        for device in self.client.list_devices():
            if device.get("state") == "free":
                kind = str(device.get("type") or "unknown")
                free[kind] = free.get(kind, 0) + 1
        return {"devices": free}


class UnknownComposer(exception.InvalidInput):
    msg_fmt = "%(reason)s"


def check_service(service: str, options) -> None:
    """Refuse a Redfish service's options that cannot work (at engine
    start, and before anything is composed through it)."""
    from mogan_valence.conf import redfish_composition as rf_conf

    group = rf_conf.service_group(service)
    if not options.address:
        raise UnknownComposer(
            reason=f"[{group}] address is not set: the Redfish composition "
            f"service '{service}' cannot be reached"
        )
    parts = urllib.parse.urlsplit(str(options.address))
    if parts.username or parts.password:
        raise UnknownComposer(
            reason=f"[{group}] address must not carry credentials: set "
            "username and password"
        )
    if parts.path.strip("/") or parts.query:
        raise UnknownComposer(
            reason=f"[{group}] address is the service's scheme, host and port "
            "only (its root is <address>/redfish/v1)"
        )
    if options.auth_type in ("basic", "session") and not (
        options.username and options.password
    ):
        raise UnknownComposer(
            reason=f"[{group}] username and password are needed with "
            f"auth_type = {options.auth_type}"
        )


class Composers:
    """Every composer of this engine, by backend and service; Redfish
    services are connected on first use."""

    def __init__(self, conf, valence_client, coordination=None):
        self.conf = conf
        self.coordination = coordination
        self.valence = ValenceComposer(valence_client, conf.valence.podm_id)
        self._redfish: dict[str, Composer] = {}
        self._lock = threading.Lock()

    def default_backend(self) -> str:
        return self.conf.valence.backend

    def redfish(self, service: str | None = None) -> Composer:
        from mogan_valence.conf import redfish_composition as rf_conf
        from mogan_valence.valence import redfish

        group = self.conf.redfish_composition
        service = service or group.default_service
        if service not in group.enabled_services:
            raise UnknownComposer(
                reason=f"Redfish composition service '{service}' is not in "
                "[redfish_composition] enabled_services "
                f"({', '.join(group.enabled_services) or 'none'})"
            )
        with self._lock:
            found = self._redfish.get(service)
            if found is None:
                options = rf_conf.register_service(self.conf, service)
                check_service(service, options)
                found = redfish.RedfishComposer(
                    service, options, self.conf, coordination=self.coordination
                )
                self._redfish[service] = found
            return found

    def for_composition(self, composition: dict) -> Composer:
        backend = composition_mod.backend_of(composition, self.default_backend())
        if backend == composition_mod.REDFISH:
            return self.redfish(composition.get(composition_mod.SERVICE))
        return self.valence

    def for_ref(self, ref: dict | None) -> Composer:
        """The composer an instance or a node recorded (Valence: none)."""
        if isinstance(ref, dict) and ref.get("backend") == composition_mod.REDFISH:
            return self.redfish(ref.get("service"))
        return self.valence

    def for_instance(self, instance) -> Composer:
        return self.for_ref((instance.extra or {}).get(COMPOSER_KEY))

    def all(self) -> list[Composer]:
        """The Valence composer, and every enabled Redfish service that has
        an address (for the reconciler)."""
        from mogan_valence.conf import redfish_composition as rf_conf

        found: list[Composer] = [self.valence]
        for service in self.conf.redfish_composition.enabled_services:
            if rf_conf.register_service(self.conf, service).address:
                found.append(self.redfish(service))
        return found
