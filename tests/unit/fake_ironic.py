"""An in-memory stand-in for ``mogan_valence.ironic.client.IronicClient``.

Unit tests of the engine stub Ironic at this boundary; the real wrapper is
exercised against a real Ironic by the functional tests.
"""

import threading

from mogan_valence.ironic import exceptions as exc


class FakeIronic:
    def __init__(self, nodes: dict[str, str] | None = None):
        """:param nodes: node uuid -> resource class (all available)."""
        self.lock = threading.Lock()
        self.nodes = {
            uuid: {
                "uuid": uuid,
                "name": f"node-{uuid[:4]}",
                "resource_class": rc,
                "provision_state": "available",
                "target_provision_state": None,
                "instance_uuid": None,
                "allocation_uuid": None,
                "properties": {},
                "deploy_interface": "fake",
                "maintenance": False,
                "extra": {},
            }
            for uuid, rc in (nodes or {}).items()
        }
        self.allocations: dict[str, str] = {}
        self.calls: list[tuple] = []
        # node uuid -> exception to raise from deploy / undeploy
        self.deploy_failures: dict[str, Exception] = {}
        self.undeploy_failures: dict[str, Exception] = {}
        self.fail_next: dict[str, Exception] = {}

    def _maybe_fail(self, op: str):
        error = self.fail_next.pop(op, None)
        if error is not None:
            raise error

    def get_node(self, node_uuid, fields=None):
        try:
            return dict(self.nodes[node_uuid])
        except KeyError:
            raise exc.NodeNotFound(node=node_uuid) from None

    def find_node(self, node_uuid):
        return dict(self.nodes[node_uuid]) if node_uuid in self.nodes else None

    def allocate(self, instance_uuid, resource_class, traits=None, exclude_nodes=()):
        self.calls.append(("allocate", instance_uuid, tuple(exclude_nodes)))
        self._maybe_fail("allocate")
        with self.lock:
            for node in self.nodes.values():
                if (
                    node["resource_class"] == resource_class
                    and node["provision_state"] == "available"
                    and not node["instance_uuid"]
                    and node["uuid"] not in exclude_nodes
                ):
                    node["instance_uuid"] = instance_uuid
                    node["allocation_uuid"] = instance_uuid
                    self.allocations[instance_uuid] = node["uuid"]
                    return node["uuid"], instance_uuid
        raise exc.NoValidNode(reason=f"no available node of class {resource_class}")

    def delete_allocation(self, allocation_uuid):
        self.calls.append(("delete_allocation", allocation_uuid))
        with self.lock:
            node_uuid = self.allocations.pop(allocation_uuid, None)
            if node_uuid is None:
                return False
            node = self.nodes[node_uuid]
            node["instance_uuid"] = None
            node["allocation_uuid"] = None
        return True

    def deploy(self, node_uuid, instance_info, configdrive=None, node=None):
        self.calls.append(("deploy", node_uuid))
        error = self.deploy_failures.get(node_uuid)
        node = self.nodes[node_uuid]
        node["instance_info"] = dict(instance_info)
        if error is not None:
            node["provision_state"] = "deploy failed"
            raise error
        node["provision_state"] = "active"
        return dict(node)

    def undeploy(self, node_uuid, retire=False, force=False, instance_uuid=None):
        self.calls.append(("undeploy", node_uuid))
        self._maybe_fail("undeploy")
        owner = (self.nodes.get(node_uuid) or {}).get("instance_uuid")
        if instance_uuid and owner and owner != instance_uuid:
            return None  # another instance's now
        error = self.undeploy_failures.get(node_uuid)
        if error is not None:
            if isinstance(error, exc.CleanFailed) and node_uuid in self.nodes:
                self.nodes[node_uuid]["provision_state"] = "clean failed"
            raise error
        node = self.nodes.get(node_uuid)
        if node is None:
            return None
        if node["provision_state"] == "clean failed" and not force:
            raise exc.CleanFailed(node_uuid, "undeploy", "clean failed")
        if node["provision_state"] in ("active", "deploy failed"):
            node["retired"] = bool(retire or node.get("retired"))
            node["provision_state"] = "manageable" if node["retired"] else "available"
        node.pop("instance_info", None)
        if node["allocation_uuid"]:
            self.delete_allocation(node["allocation_uuid"])
        if not node.get("retired"):
            # As the real wrapper: a node leaving the pool keeps its claim.
            node["instance_uuid"] = None
        return dict(node)

    # -- enrollment ---------------------------------------------------------------

    def create_node(self, node_uuid, **fields):
        self.calls.append(("create_node", node_uuid))
        self._maybe_fail("create_node")
        if node_uuid not in self.nodes:
            self.nodes[node_uuid] = {
                "uuid": node_uuid,
                "provision_state": "enroll",
                "target_provision_state": None,
                "instance_uuid": None,
                "allocation_uuid": None,
                "maintenance": False,
                "ports": [],
                "deploy_interface": fields.get("deploy_interface", "fake"),
                **fields,
            }
        return dict(self.nodes[node_uuid])

    def claim_node(self, node_uuid, instance_uuid, node=None):
        self.calls.append(("claim_node", node_uuid))
        node = self.nodes[node_uuid]
        if node["instance_uuid"] not in (None, instance_uuid):
            raise exc.NodeStateError(
                node_uuid,
                "claim",
                node["provision_state"],
                "claimed by another instance",
            )
        node["instance_uuid"] = instance_uuid

    def create_port(self, node_uuid, address):
        self.calls.append(("create_port", node_uuid, address))
        self._maybe_fail("create_port")
        ports = self.nodes[node_uuid].setdefault("ports", [])
        if address not in ports:
            ports.append(address)

    def manage(self, node_uuid, node=None):
        self.calls.append(("manage", node_uuid))
        self._maybe_fail("manage")
        self.nodes[node_uuid]["provision_state"] = "manageable"
        return dict(self.nodes[node_uuid])

    def provide(self, node_uuid, node=None):
        self.calls.append(("provide", node_uuid))
        self._maybe_fail("provide")
        self.nodes[node_uuid]["provision_state"] = "available"

    def set_power(self, node_uuid, target):
        self.calls.append(("set_power", node_uuid, target))
        self._maybe_fail("set_power")
        state = "power off" if target.endswith("off") else "power on"
        self.nodes[node_uuid]["power_state"] = state
        return state

    def make_available(self, node_uuid, node=None):
        state = self.nodes[node_uuid]["provision_state"]
        if state == "enroll":
            self.manage(node_uuid)
            state = "manageable"
        if state == "manageable":
            self.provide(node_uuid)
        return dict(self.nodes[node_uuid])

    def delete_node(self, node_uuid, node=None):
        self.calls.append(("delete_node", node_uuid))
        self._maybe_fail("delete_node")
        return self.nodes.pop(node_uuid, None) is not None

    def list_nodes(self, detail=False, **filters):
        return [
            dict(n)
            for n in self.nodes.values()
            if all(n.get(k) == v for k, v in filters.items())
        ]

    # -- borrowed nodes -------------------------------------------------------------

    def find_node_by_port(self, address):
        for node in self.nodes.values():
            if address.lower() in [p.lower() for p in node.get("ports") or []]:
                return dict(node)
        return None

    def patch_node(self, node_uuid, ops):
        self.calls.append(("patch_node", node_uuid))
        self._maybe_fail("patch_node")
        node = self.nodes[node_uuid]
        for op in ops:
            parts = op["path"].strip("/").split("/")
            target = node
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            if op["op"] == "remove":
                target.pop(parts[-1], None)
            else:
                target[parts[-1]] = op["value"]

    def return_to_pool(self, node_uuid, extra_key, property_keys=()):
        self.calls.append(("return_to_pool", node_uuid))
        self._maybe_fail("return_to_pool")
        node = self.nodes.get(node_uuid)
        if node is None:
            return None
        node["instance_uuid"] = None
        node.get("extra", {}).pop(extra_key, None)
        for key in property_keys:
            node.get("properties", {}).pop(key, None)
        node["retired"] = False
        node["provision_state"] = "available"
        return dict(node)
