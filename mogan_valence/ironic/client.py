"""The wrapper over python-ironicclient that everything else uses.

Every call is pinned to ``[ironic] api_version``; every wait has a deadline
from ``[engine]`` and polls with back-off; errors are typed (see
``exceptions``) and name the node and its state. Results are plain dicts.
"""

import logging
import time
from typing import Any

from ironicclient import client as ironic_client
from ironicclient import exc as ironic_exc
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from mogan_valence.common import http
from mogan_valence.common import polling
from mogan_valence.ironic import exceptions as exc
from mogan_valence.ironic import states

LOG = logging.getLogger(__name__)

NODE_FIELDS = (
    "uuid",
    "name",
    "driver",
    "resource_class",
    "provision_state",
    "target_provision_state",
    "power_state",
    "target_power_state",
    "maintenance",
    "instance_uuid",
    "allocation_uuid",
    "last_error",
    "extra",
    "properties",
    "deploy_interface",
    "retired",
)
# NOTE: Ironic answers 500 when a node list asks for allocation_uuid; lists
# get the fields the engine filters on, single nodes get everything.
LIST_FIELDS = (
    "uuid",
    "name",
    "resource_class",
    "provision_state",
    "target_provision_state",
    "power_state",
    "maintenance",
    "instance_uuid",
    "extra",
)
_CONNECTION_ERRORS = (
    ks_exc.ConnectFailure,
    ks_exc.ConnectTimeout,
    ks_exc.UnknownConnectionError,
)
# Conflicts (node locked) are retried by ironicclient itself.
# NOTE: ironicclient retries *every* 409, "already exists" included, so a
# create that may find its object there already looks first: a 409 costs
# ten seconds.
_CONFLICT_RETRIES = 10
_CONFLICT_RETRY_INTERVAL = 1
# extra key on a node whose cleaning failed: it may still hold a tenant's
# data, whatever state it is moved to, until an operator removes the key.
NEEDS_CLEAN_KEY = "mogan_valence_needs_clean"
# driver_info keys whose values are secrets (Ironic masks them in answers).
_SECRET_KEYS = ("password", "secret", "token", "key")


def _to_dict(resource) -> dict:
    return resource.to_dict() if hasattr(resource, "to_dict") else dict(resource)


# Ironic's conductor prefixes the last_error of an allocation that failed on
# an error of its own (a database lock, a lost connection), not on the lack
# of a node; such a failure is worth another allocation.
IRONIC_INTERNAL_ALLOCATION_ERROR = "Unexpected exception during allocation"
ALLOCATION_ATTEMPTS = 3
ALLOCATION_RETRY_DELAY = 0.5


class _TransientAllocationFailure(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class IronicClient:
    def __init__(self, client, conf: cfg.ConfigOpts = cfg.CONF):
        self.client = client
        self.conf = conf

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts = cfg.CONF) -> "IronicClient":
        group = conf.ironic
        auth = None
        if group.auth_type and group.auth_type != "none":
            auth = ks_loading.load_auth_from_conf_options(conf, "ironic")
        elif not group.endpoint_override:
            raise exc.IronicError(
                reason="[ironic] needs either Keystone credentials (auth_type) "
                "or endpoint_override"
            )
        session = http.adopt(
            ks_loading.load_session_from_conf_options(conf, "ironic", auth=auth)
        )
        kwargs: dict[str, Any] = {}
        if group.endpoint_override:
            kwargs["endpoint"] = group.endpoint_override
        client = ironic_client.get_client(
            "1",
            session=session,
            os_ironic_api_version=group.api_version,
            max_retries=_CONFLICT_RETRIES,
            retry_interval=_CONFLICT_RETRY_INTERVAL,
            service_type=group.service_type,
            region_name=group.region_name,
            valid_interfaces=group.valid_interfaces,
            **kwargs,
        )
        return cls(client, conf)

    # -- plumbing --------------------------------------------------------------

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _CONNECTION_ERRORS as e:
            raise exc.IronicUnavailable(reason=f"{what}: {e}") from e

    def _wait(
        self,
        node_uuid: str,
        action: str,
        expected: set[str],
        timeout: float,
        fail_states: frozenset = frozenset(),
    ) -> dict:
        def done(node: dict) -> bool:
            state = node["provision_state"]
            target = node["target_provision_state"]
            if state in expected and not target:
                return True
            if state == states.CLEANFAIL:
                raise exc.CleanFailed(node_uuid, action, state, node.get("last_error"))
            if state in fail_states or (not target and state not in expected):
                # Settled somewhere else: the action failed.
                raise exc.NodeStateError(
                    node_uuid, action, state, node.get("last_error")
                )
            return False

        return self._poll(
            node_uuid, action, done, timeout, f"node {node_uuid} to finish {action}"
        )

    def _poll(self, node_uuid: str, action: str, done, timeout: float, what: str):
        """Read the node until ``done(node)``; a timeout names the action."""
        try:
            return polling.wait_for(
                lambda: self.get_node(node_uuid),
                done,
                timeout=timeout,
                what=what,
                delay_first=True,
            )
        except polling.PollTimeout as e:
            raise exc.NodeTimeout(
                node_uuid, action, (e.last or {}).get("provision_state"), timeout
            ) from e

    # -- nodes ------------------------------------------------------------------

    def get_node(self, node_uuid: str, fields=NODE_FIELDS) -> dict:
        try:
            node = self._call(
                f"get node {node_uuid}",
                self.client.node.get,
                node_uuid,
                fields=list(fields),
            )
        except ironic_exc.NotFound as e:
            raise exc.NodeNotFound(node=node_uuid) from e
        return _to_dict(node)

    def find_node(self, node_uuid: str) -> dict | None:
        try:
            return self.get_node(node_uuid)
        except exc.NodeNotFound:
            return None

    def find_node_by_port(self, address: str) -> dict | None:
        """The node that has a port with this MAC, if any."""
        ports = self._call(
            "list ports", self.client.port.list, address=address.lower(), detail=True
        )
        for port in ports:
            node = self.find_node(port.node_uuid)
            if node is not None:
                return node
        return None

    def list_nodes(self, detail: bool = False, **filters) -> list[dict]:
        """Nodes matching ``filters``; ``detail`` gives every field
        (created_at among them), at a higher cost."""
        if detail:
            kwargs = {"detail": True}
        else:
            kwargs = {"fields": list(LIST_FIELDS)}
        nodes = self._call(
            "list nodes", self.client.node.list, limit=0, **kwargs, **filters
        )
        return [_to_dict(n) for n in nodes]

    def create_node(self, node_uuid: str, **fields) -> dict:
        """Create a node with a chosen uuid; an existing one is returned.

        Looks first (a re-run step finds its node), and sends the body
        unlogged: driver_info carries BMC credentials, and keystoneauth logs
        request bodies at DEBUG.
        """
        existing = self.find_node(node_uuid)
        if existing is not None:
            LOG.info("Node %s already exists in Ironic; using it", node_uuid)
            return existing
        try:
            _, created = self._call(
                f"create node {node_uuid}",
                self.client.http_client.json_request,
                "POST",
                "/v1/nodes",
                body={"uuid": node_uuid, **fields},
                log=False,
            )
        except ironic_exc.Conflict:
            # Created by someone else in between (or our answer was lost).
            existing = self.find_node(node_uuid)
            if existing is None:
                raise
            return existing
        except ironic_exc.BadRequest as e:
            raise exc.IronicError(reason=f"Ironic refused node {node_uuid}: {e}") from e
        if isinstance(created, dict) and created.get("uuid") == node_uuid:
            # Ironic answers a create with the whole node: no second read.
            return {key: created.get(key) for key in NODE_FIELDS}
        return self.get_node(node_uuid)

    def create_port(self, node_uuid: str, address: str) -> None:
        """Add a port; a port with that MAC on this node already is fine.

        Looks first: a re-run enroll must not pay ironicclient's 409 retries.
        """
        ports = self._call(
            "list ports", self.client.port.list, address=address, detail=True
        )
        if any(p.node_uuid == node_uuid for p in ports):
            return
        if ports:
            raise exc.IronicError(
                reason=f"MAC {address} is already a port of another node"
            )
        self._call(
            f"create port {address}",
            self.client.port.create,
            node_uuid=node_uuid,
            address=address,
        )

    def claim_node(
        self, node_uuid: str, instance_uuid: str, node: dict | None = None
    ) -> None:
        """Mark a node as the instance's, so that no allocation can take it.

        :param node: the node as just read, to save a request.
        """
        node = node or self.get_node(node_uuid)
        if node["instance_uuid"] == instance_uuid:
            return
        if node["instance_uuid"]:
            raise exc.NodeStateError(
                node_uuid,
                "claim",
                node["provision_state"],
                f"already claimed by {node['instance_uuid']}",
            )
        self._patch(
            node_uuid, [{"op": "add", "path": "/instance_uuid", "value": instance_uuid}]
        )

    def unclaim_node(self, node_uuid: str, node: dict | None = None) -> None:
        """:param node: the node as just read, to save a request."""
        node = node or self.get_node(node_uuid)
        ops = []
        if node["instance_uuid"]:
            ops.append({"op": "remove", "path": "/instance_uuid"})
        if ops:
            self._patch(node_uuid, ops)

    def patch_node(self, node_uuid: str, ops: list[dict]) -> None:
        """Apply a JSON patch to a node (its body is not logged)."""
        self._patch(node_uuid, ops)

    def return_to_pool(
        self, node_uuid: str, extra_key: str, property_keys: tuple[str, ...] = ()
    ) -> dict | None:
        """Give back a node an instance borrowed (it stays enrolled), in an
        order a kill can interrupt anywhere: first its claim and the retired
        flag go, then it is brought to ``available`` (Ironic cleans it again
        on the way when automated cleaning is on), and only then
        ``extra[extra_key]`` and ``properties[k]`` for each of
        ``property_keys``: while ``extra[extra_key]`` is there, the node is
        still the borrower's to finish giving back. None if it is gone.

        :raises CleanFailed: that cleaning failed (the node keeps the mark).
        """
        node = self.find_node(node_uuid)
        if node is None:
            return None
        if not states.is_settled(node):
            node = self._settle(node_uuid, "return", self.conf.engine.undeploy_timeout)
        ops = []
        if node["instance_uuid"]:
            ops.append({"op": "remove", "path": "/instance_uuid"})
        if node.get("retired"):
            ops.append({"op": "replace", "path": "/retired", "value": False})
        if ops:
            self._patch(node_uuid, ops)
            node = self.get_node(node_uuid)
        node = self.make_available(node_uuid, node=node)
        ops = [
            {"op": "remove", "path": f"/{where}/{key}"}
            for where, keys in (("extra", (extra_key,)), ("properties", property_keys))
            for key in keys
            if key in (node.get(where) or {})
        ]
        if ops:
            self._patch(node_uuid, ops)
            node = self.get_node(node_uuid)
        LOG.info("Node %s is back in the pool", node_uuid)
        return node

    def _patch(self, node_uuid: str, ops: list[dict]) -> None:
        try:
            self._call(
                f"update node {node_uuid}", self.client.node.update, node_uuid, ops
            )
        except ironic_exc.NotFound as e:
            raise exc.NodeNotFound(node=node_uuid) from e
        except ironic_exc.BadRequest as e:
            raise exc.IronicError(
                reason=f"Ironic refused to update node {node_uuid}: {e}"
            ) from e

    def _set_state(self, node_uuid: str, verb: str, **kwargs) -> None:
        try:
            self._call(
                f"{verb} node {node_uuid}",
                self.client.node.set_provision_state,
                node_uuid,
                verb,
                **kwargs,
            )
        except ironic_exc.NotFound as e:
            raise exc.NodeNotFound(node=node_uuid) from e
        except (ironic_exc.BadRequest, ironic_exc.Conflict) as e:
            node = self.find_node(node_uuid) or {}
            raise exc.NodeStateError(
                node_uuid, verb, node.get("provision_state"), str(e)
            ) from e

    def make_available(self, node_uuid: str, node: dict | None = None) -> dict:
        """Bring a node to ``available`` from wherever enrollment left it.

        Safe to re-run from any state a kill can leave: a node on its way
        (verifying, cleaning) is waited for, one already further along is
        taken on from there, ``enroll`` is managed and ``manageable``
        provided. :param node: the node as just read, to save a request.

        :raises CleanFailed: cleaning on provide failed.
        :raises NodeStateError: the node is somewhere enrollment never goes.
        """
        node = node or self.get_node(node_uuid)
        timeout = self.conf.engine.node_action_timeout
        # Each pass moves the node one state on; three are enough from enroll.
        for _ in range(4):
            state = node["provision_state"]
            if state == states.AVAILABLE and not node["target_provision_state"]:
                return node
            if state == states.CLEANFAIL:
                raise exc.CleanFailed(
                    node_uuid, "provide", state, node.get("last_error")
                )
            if node["target_provision_state"] and state not in states.STABLE_FAILURES:
                node = self._settle(node_uuid, "enroll", timeout)
            elif state == states.ENROLL:
                self._set_state(node_uuid, states.VERB_MANAGE)
                node = self._wait(
                    node_uuid, states.VERB_MANAGE, {states.MANAGEABLE}, timeout
                )
            elif state == states.MANAGEABLE:
                self._set_state(node_uuid, states.VERB_PROVIDE)
                node = self._wait(
                    node_uuid,
                    states.VERB_PROVIDE,
                    {states.AVAILABLE},
                    timeout,
                    fail_states=frozenset({states.CLEANFAIL}),
                )
            else:
                raise exc.NodeStateError(
                    node_uuid, "enroll", state, node.get("last_error")
                )
        raise exc.NodeStateError(node_uuid, "enroll", node["provision_state"])

    def _settle(self, node_uuid: str, action: str, timeout: float) -> dict:
        """Wait for a node in transition to stop somewhere."""
        return self._poll(
            node_uuid, action, states.is_settled, timeout, f"node {node_uuid} to settle"
        )

    def set_power(self, node_uuid: str, target: str) -> str:
        """Power a node on, off or reboot it (``soft_*``: gracefully), and
        wait until Ironic reports the result; returns the power state.

        :raises NodeTimeout: Ironic did not get there within node_action_timeout.
        :raises IronicError: Ironic refused or failed the change.
        """
        soft = target.startswith("soft_")
        verb = target.removeprefix("soft_")
        expected = "power off" if verb == "off" else "power on"
        try:
            self._call(
                f"power {target} {node_uuid}",
                self.client.node.set_power_state,
                node_uuid,
                verb,
                soft=soft,
            )
        except ironic_exc.NotFound as e:
            raise exc.NodeNotFound(node=node_uuid) from e
        except (ironic_exc.BadRequest, ironic_exc.Conflict) as e:
            raise exc.IronicError(
                reason=f"Ironic refused to power {target} node {node_uuid}: {e}"
            ) from e
        timeout = self.conf.engine.node_action_timeout

        def done(node: dict) -> bool:
            if node["target_power_state"]:
                return False
            if node.get("last_error") and node["power_state"] != expected:
                raise exc.IronicError(
                    reason=f"power {target} of node {node_uuid} failed: "
                    f"{node['last_error']}"
                )
            return node["power_state"] == expected

        try:
            node = polling.wait_for(
                lambda: self.get_node(node_uuid),
                done,
                timeout=timeout,
                what=f"node {node_uuid} to power {target}",
                delay_first=True,
            )
        except polling.PollTimeout as e:
            raise exc.NodeTimeout(
                node_uuid,
                f"power {target}",
                (e.last or {}).get("provision_state"),
                timeout,
            ) from e
        return node["power_state"]

    def delete_node(self, node_uuid: str, node: dict | None = None) -> bool:
        """Remove a node from Ironic; False if it was already gone.

        A node Ironic would refuse to delete (claimed, or in a transient
        state) is unclaimed and put in maintenance first.

        :param node: the node as the caller just read it, to save a request.
        """
        if node is None:
            node = self.find_node(node_uuid)
        if node is None:
            return False
        if node["instance_uuid"] and not node["allocation_uuid"]:
            self.unclaim_node(node_uuid, node=node)
        if node["allocation_uuid"]:
            self.delete_allocation(node["allocation_uuid"])
        if (
            node["provision_state"] not in states.DELETABLE
            or node["target_provision_state"]
        ):
            if not node["maintenance"]:
                self._call(
                    f"maintenance {node_uuid}",
                    self.client.node.set_maintenance,
                    node_uuid,
                    True,
                    maint_reason="mogan-valence: removing this node",
                )
        try:
            self._call(f"delete node {node_uuid}", self.client.node.delete, node_uuid)
        except ironic_exc.NotFound:
            return False
        except (ironic_exc.BadRequest, ironic_exc.Conflict) as e:
            raise exc.NodeStateError(
                node_uuid, "delete", node["provision_state"], str(e)
            ) from e
        LOG.info("Deleted node %s from Ironic", node_uuid)
        return True

    # -- scheduling ---------------------------------------------------------------

    def allocate(
        self,
        instance_uuid: str,
        resource_class: str,
        traits: list[str] | None = None,
        exclude_nodes: list[str] | tuple = (),
    ) -> tuple[str, str]:
        """Pick a node through the allocation API; return (node, allocation).

        The allocation carries the instance's uuid, which Ironic then puts on
        the node as instance_uuid.

        :raises NoValidNode: no available node matches (or all are excluded).
        """
        kwargs: dict[str, Any] = {
            "resource_class": resource_class,
            "uuid": instance_uuid,
            "extra": {"instance_uuid": instance_uuid},
        }
        if traits:
            kwargs["traits"] = list(traits)
        # Look first: a resumed step finds the allocation it made (and a
        # conflicting create would pay ironicclient's 409 retries).
        allocation = self._find_allocation(instance_uuid)
        if allocation is not None and (
            allocation["state"] == "error"
            or allocation.get("node_uuid") in set(exclude_nodes)
        ):
            # A failed or earlier attempt's leftover: start again.
            self.delete_allocation(instance_uuid)
            allocation = None
        if allocation is None and exclude_nodes:
            candidates = [
                n["uuid"]
                for n in self.list_nodes(
                    resource_class=resource_class,
                    provision_state=states.AVAILABLE,
                    associated=False,
                    maintenance=False,
                )
                if n["uuid"] not in set(exclude_nodes)
            ]
            if not candidates:
                raise exc.NoValidNode(
                    reason=f"no available node of resource class {resource_class} "
                    f"besides the node(s) already tried: {', '.join(exclude_nodes)}"
                )
            kwargs["candidate_nodes"] = candidates
        for attempt in range(1, ALLOCATION_ATTEMPTS + 1):
            try:
                return self._allocate_once(allocation, kwargs)
            except _TransientAllocationFailure as e:
                if attempt == ALLOCATION_ATTEMPTS:
                    raise exc.AllocationFailed(
                        allocation=instance_uuid, reason=e.reason
                    ) from None
                LOG.warning(
                    "Allocation %s failed inside Ironic (%s); trying again (%d of %d)",
                    instance_uuid,
                    e.reason,
                    attempt + 1,
                    ALLOCATION_ATTEMPTS,
                )
                allocation = None
                time.sleep(attempt * ALLOCATION_RETRY_DELAY)
        raise AssertionError("unreachable")

    def _allocate_once(self, allocation: dict | None, kwargs: dict) -> tuple[str, str]:
        if allocation is None:
            try:
                allocation = _to_dict(
                    self._call(
                        "create allocation", self.client.allocation.create, **kwargs
                    )
                )
            except ironic_exc.BadRequest as e:
                raise exc.NoValidNode(reason=str(e)) from e
        alloc_uuid = allocation["uuid"]

        def done(a: dict) -> bool:
            if a["state"] == "error":
                reason = a.get("last_error") or "allocation failed"
                if reason.startswith(IRONIC_INTERNAL_ALLOCATION_ERROR):
                    raise _TransientAllocationFailure(reason)
                raise exc.NoValidNode(reason=reason)
            return a["state"] == "active"

        try:
            allocation = polling.wait_for(
                lambda: _to_dict(
                    self._call("get allocation", self.client.allocation.get, alloc_uuid)
                ),
                done,
                timeout=self.conf.engine.node_action_timeout,
                what=f"allocation {alloc_uuid}",
                delay_first=True,
            )
        except (exc.NoValidNode, _TransientAllocationFailure):
            self.delete_allocation(alloc_uuid)
            raise
        except polling.PollTimeout as e:
            self.delete_allocation(alloc_uuid)
            raise exc.AllocationFailed(
                allocation=alloc_uuid, reason=f"not done after {e.timeout:.0f}s"
            ) from e
        return allocation["node_uuid"], alloc_uuid

    def _find_allocation(self, allocation_uuid: str) -> dict | None:
        try:
            return _to_dict(
                self._call(
                    f"get allocation {allocation_uuid}",
                    self.client.allocation.get,
                    allocation_uuid,
                )
            )
        except ironic_exc.NotFound:
            return None

    def delete_allocation(self, allocation_uuid: str) -> bool:
        try:
            self._call(
                f"delete allocation {allocation_uuid}",
                self.client.allocation.delete,
                allocation_uuid,
            )
        except ironic_exc.NotFound:
            return False
        return True

    # -- deploy -------------------------------------------------------------------

    def deploy(
        self,
        node_uuid: str,
        instance_info: dict,
        configdrive: str | dict | None = None,
        node: dict | None = None,
    ) -> dict:
        """Set instance_info, validate, deploy, and wait for 'active'.

        Idempotent, so that a resumed flow can run it again: a node already
        active is done, a deploy in progress is waited for.

        :param node: the node as just read, to save a request.
        """
        node = node or self.get_node(node_uuid)
        if node["target_provision_state"] == states.ACTIVE and not states.is_settled(
            node
        ):
            return self._wait(
                node_uuid,
                "deploy",
                {states.ACTIVE},
                self.conf.engine.deploy_timeout,
                fail_states=frozenset({states.DEPLOYFAIL, states.ERROR}),
            )
        if (
            node["provision_state"] == states.ACTIVE
            and not node["target_provision_state"]
        ):
            return node
        ops = [
            {"op": "add", "path": f"/instance_info/{key}", "value": value}
            for key, value in sorted(instance_info.items())
        ]
        self._patch(node_uuid, ops)
        result = self._call(
            f"validate {node_uuid}", self.client.node.validate, node_uuid
        )
        failures = {}
        for interface in ("deploy", "power"):
            check = getattr(result, interface, None) or {}
            if not check.get("result"):
                failures[interface] = check.get("reason") or "no reason given"
        if failures:
            raise exc.NodeValidationFailed(
                node=node_uuid,
                interfaces=", ".join(sorted(failures)),
                reasons="; ".join(f"{k}: {v}" for k, v in sorted(failures.items())),
            )
        kwargs = {"configdrive": configdrive} if configdrive else {}
        self._set_state(node_uuid, states.VERB_ACTIVE, **kwargs)
        return self._wait(
            node_uuid,
            "deploy",
            {states.ACTIVE},
            self.conf.engine.deploy_timeout,
            fail_states=frozenset({states.DEPLOYFAIL, states.ERROR}),
        )

    def undeploy(
        self,
        node_uuid: str,
        retire: bool = False,
        force: bool = False,
        instance_uuid: str | None = None,
    ) -> dict | None:
        """Tear an instance down; None if the node is gone, or (with
        ``instance_uuid``) held by another instance now.

        Idempotent: a node already available or manageable is only cleared of
        what the instance left on it (allocation, instance_uuid, instance_info).

        :param retire: the node leaves the pool after this instance (a
            composed node): it is marked retired before the teardown, so that
            Ironic's cleaning ends in ``manageable``, never ``available``, and
            nothing can schedule onto it before it is removed.
        :param force: an admin's forced release: a node whose cleaning failed
            is left as it is instead of stopping the teardown.
        :param instance_uuid: the instance being torn down: a node claimed
            by another instance (it went back to the pool after an earlier
            try and was given to someone else) is not touched.
        :raises CleanFailed: cleaning failed (now or on an earlier try); the
            node may still hold the tenant's data.
        """
        node = self.find_node(node_uuid)
        if node is None:
            return None
        owner = node.get("instance_uuid")
        if instance_uuid and owner and owner != instance_uuid:
            LOG.warning(
                "Node %s now belongs to instance %s: not tearing it down for %s",
                node_uuid,
                owner,
                instance_uuid,
            )
            return None
        timeout = self.conf.engine.undeploy_timeout
        if not states.is_settled(node):
            # In transition (deploying, cleaning, ...): let it settle first.
            node = self._settle(node_uuid, "undeploy", timeout)
        unclean = node["provision_state"] == states.CLEANFAIL or bool(
            (node.get("extra") or {}).get(NEEDS_CLEAN_KEY)
        )
        if unclean:
            if not force:
                # NOTE: 'manage' takes a node out of clean failed without
                # cleaning it: only an operator's explicit removal of the
                # mark says that it was cleaned.
                self._mark_unclean(node)
                raise exc.CleanFailed(
                    node_uuid,
                    "undeploy",
                    node["provision_state"],
                    node.get("last_error"),
                )
            LOG.warning(
                "Node %s failed cleaning; going on without it, as forced by an admin",
                node_uuid,
            )
        if node["provision_state"] in states.UNDEPLOY_FROM:
            if retire and not node.get("retired"):
                self._patch(
                    node_uuid,
                    [
                        {"op": "replace", "path": "/retired", "value": True},
                        {
                            "op": "replace",
                            "path": "/retired_reason",
                            "value": "mogan-valence: composed node, removed "
                            "after its instance",
                        },
                    ],
                )
            self._set_state(node_uuid, states.VERB_DELETED)
            try:
                node = self._wait(
                    node_uuid,
                    "undeploy",
                    {states.AVAILABLE, states.MANAGEABLE},
                    timeout,
                    fail_states=frozenset({states.CLEANFAIL, states.ERROR}),
                )
            except exc.CleanFailed:
                self._mark_unclean(self.get_node(node_uuid))
                raise
        if node["allocation_uuid"]:
            self.delete_allocation(node["allocation_uuid"])
            node = self.get_node(node_uuid)
        # A node leaving the pool keeps its claim until it is removed: an
        # available one (its deploy never started) must not be schedulable.
        if node["instance_uuid"] and not retire:
            self._patch(node_uuid, [{"op": "remove", "path": "/instance_uuid"}])
        return node

    def _mark_unclean(self, node: dict) -> None:
        """Mark a node whose cleaning failed, for good (idempotent)."""
        if (node.get("extra") or {}).get(NEEDS_CLEAN_KEY):
            return
        self._patch(
            node["uuid"],
            [{"op": "add", "path": f"/extra/{NEEDS_CLEAN_KEY}", "value": True}],
        )
