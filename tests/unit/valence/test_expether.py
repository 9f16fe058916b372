"""ExpEther composed instances through the engine manager, against the
simulator in its ``expether`` backend (real HTTP) and an in-memory Ironic:
the server is composed alone, found manageable, then given its devices;
a host that was in Ironic before is borrowed and given back, never
deleted; and one compose at a time per pod manager."""

import json
import os
import threading

import requests

from mogan_valence.common import states
from mogan_valence.engine import extensions
from mogan_valence.ironic import exceptions as ironic_exc
from mogan_valence.objects import instance as instance_obj
from mogan_valence.valence import enrollment
from mogan_valence.valence import expether
from mogan_valence.valence import extension as ext_mod
from mogan_valence.valence import reconciler as reconciler_mod
from mogan_valence.valence import tasks
from tests import fixtures as mv_fixtures
from tests.unit.engine import base as engine_base

CONF = engine_base.base.CONF
COMPOSITION = {"pci_devices": ["GPU", "SSD"]}
HOST = "aaaaaaaa-0000-4000-8000-0000000000aa"


class ExpEtherTestCase(engine_base.EngineTestCase):
    nodes = {}
    enroll_driver = "fake-hardware"

    def setUp(self):
        super().setUp()
        self.sim = self.useFixture(
            mv_fixtures.Simulator(self.tmp_dir + "/sim", systems=2, backend="expether")
        )
        self.config(
            group="valence",
            url=self.sim.url,
            podm_id=mv_fixtures.PODM_ID,
            enroll_driver=self.enroll_driver,
            resource_class="composed",
            retries=0,
            compose_lookup_window=0.5,
        )
        self.hosts = requests.get(f"{self.sim.url}/admin/hosts", timeout=10).json()
        self.inventory_path = os.path.join(self.tmp_dir, "hosts.json")

    def start(self, **conf):
        if conf:
            self.config(group="valence", **conf)
        self.ext = ext_mod.ValenceExtension(
            extensions.ExtensionHost(conf=CONF, ironic=self.ironic)
        )
        self.manager._manager.extensions[:] = [self.ext]
        self.manager.create_flavor(self.ctx, "gpu", composition=COMPOSITION)

    def devices(self, **match):
        return [
            d
            for d in self.sim.state.devices.values()
            if all(d.get(k) == v for k, v in match.items())
        ]

    def assertPoolWhole(self):
        self.assertEqual({}, self.sim.state.nodes)
        self.assertEqual([], self.devices(state="allocated"))


class TestComposed(ExpEtherTestCase):
    def test_life_cycle_on_an_enrolled_node(self):
        self.start()
        got = self.create(flavor="gpu")
        instance = got["instance"]
        self.assertEqual(states.ACTIVE, instance.status, got["fault"])
        (node,) = self.sim.state.nodes.values()
        attached = sorted(d["type"] for d in self.devices(node_id=node["index"]))
        self.assertEqual(["GPU", "SSD"], attached)
        ironic_node = self.ironic.nodes[instance.node_uuid]
        self.assertEqual(node["uuid"], instance.node_uuid)
        self.assertEqual("fake-hardware", ironic_node["driver"])
        self.assertEqual(
            ["GPU", "SSD"], ironic_node["properties"]["mogan_valence_devices"]
        )
        self.assertEqual([self.hosts[0]["mac"]], ironic_node["ports"])
        self.assertFalse(enrollment.is_adopted(ironic_node))
        got = self.delete(instance.uuid)
        self.assertEqual(states.DELETED, got["instance"].status, got["fault"])
        self.assertEqual({}, self.ironic.nodes)
        self.assertPoolWhole()

    def test_the_inventory_gives_the_driver_and_its_secrets_stay_out_of_logs(self):
        secret = "bmc-s3cret-9f1c"
        entries = self.sim.sim.inventory()
        for entry in entries:
            entry["driver_info"]["redfish_password"] = secret
        with open(self.inventory_path, "w") as f:
            json.dump(entries, f)
        logs = self.useFixture(engine_base.base.fixtures.FakeLogger(level="DEBUG"))
        self.start(enroll_driver="redfish", node_inventory=self.inventory_path)
        got = self.create(flavor="gpu")
        self.assertEqual(states.ACTIVE, got["instance"].status, got["fault"])
        node = self.ironic.nodes[got["instance"].node_uuid]
        self.assertEqual("redfish", node["driver"])
        self.assertEqual(
            self.hosts[0]["redfish_system_id"], node["driver_info"]["redfish_system_id"]
        )
        self.assertEqual(secret, node["driver_info"]["redfish_password"])
        self.assertIn("node_inventory", logs.output)
        self.assertNotIn(secret, logs.output)
        self.assertEqual(
            states.DELETED, self.delete(got["instance"].uuid)["instance"].status
        )
        self.assertPoolWhole()

    def test_a_server_nobody_can_manage_is_refused_before_anything_is_attached(self):
        with open(self.inventory_path, "w") as f:
            json.dump([], f)
        self.start(enroll_driver="redfish", node_inventory=self.inventory_path)
        attaches = []
        real = self.ext.valence.attach_device
        self.ext.valence.attach_device = lambda *a: attaches.append(a) or real(*a)
        got = self.create(flavor="gpu")
        self.assertEqual(states.ERROR, got["instance"].status)
        message = got["fault"].message
        self.assertTrue(message.startswith("compose-node: "), message)
        for word in (self.hosts[0]["eesv"], self.hosts[0]["mac"], "node_inventory"):
            self.assertIn(word, message)
        self.assertEqual([], attaches)
        self.assertPoolWhole()
        self.assertEqual({}, self.ironic.nodes)

    def test_a_missing_device_type_undoes_what_was_attached(self):
        self.start()
        self.manager.create_flavor(
            self.ctx, "fpga", composition={"pci_devices": ["GPU", "FPGA"]}
        )
        got = self.create(flavor="fpga")
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertIn("FPGA", got["fault"].message)
        self.assertPoolWhole()


class TestBorrowedHost(ExpEtherTestCase):
    enroll_driver = "redfish"

    def setUp(self):
        super().setUp()
        # The first server is already an Ironic node, with a port of its MAC.
        self.ironic.nodes[HOST] = dict(
            self.ironic.nodes.get(HOST) or {},
            uuid=HOST,
            name="host-1",
            resource_class="baremetal",
            provision_state="available",
            target_provision_state=None,
            instance_uuid=None,
            allocation_uuid=None,
            maintenance=False,
            properties={"cpus": 8},
            extra={},
            ports=[self.hosts[0]["mac"]],
            deploy_interface="fake",
        )
        with open(self.inventory_path, "w") as f:
            json.dump([], f)
        self.start(node_inventory=self.inventory_path)

    def assertBackInThePool(self):
        host = self.ironic.nodes[HOST]
        self.assertEqual("available", host["provision_state"])
        self.assertIsNone(host["instance_uuid"])
        self.assertFalse(host.get("retired"))
        self.assertEqual({}, host["extra"])
        self.assertEqual({"cpus": 8}, host["properties"])
        self.assertEqual([HOST], list(self.ironic.nodes))

    def test_borrowed_then_given_back_with_the_devices_released_first(self):
        got = self.create(flavor="gpu")
        instance = got["instance"]
        self.assertEqual(states.ACTIVE, instance.status, got["fault"])
        self.assertEqual(HOST, instance.node_uuid)
        host = self.ironic.nodes[HOST]
        self.assertEqual(instance.uuid, host["instance_uuid"])
        self.assertTrue(enrollment.is_adopted(host))
        self.assertEqual(["GPU", "SSD"], host["properties"]["mogan_valence_devices"])
        order = []
        release = self.ext.valence.release_node
        self.ext.valence.release_node = lambda u: order.append("release") or release(u)
        back = self.ironic.return_to_pool
        self.ironic.return_to_pool = lambda *a, **k: (
            order.append("return") or back(*a, **k)
        )
        got = self.delete(instance.uuid)
        self.assertEqual(states.DELETED, got["instance"].status, got["fault"])
        self.assertEqual(["release", "return"], order)
        self.assertNotIn(("delete_node", HOST), self.ironic.calls)
        self.assertBackInThePool()
        self.assertPoolWhole()

    def test_a_failed_deploy_gives_the_host_back_after_the_release(self):
        self.ironic.deploy_failures[HOST] = ironic_exc.IronicError(reason="boom")
        self.config(group="engine", schedule_max_attempts=1)
        got = self.create(flavor="gpu")
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertBackInThePool()
        self.assertPoolWhole()
        self.assertNotIn("borrowed_host", got["instance"].extra)

    def test_a_host_in_use_is_refused_and_nothing_is_attached(self):
        self.ironic.nodes[HOST]["instance_uuid"] = "someone-else"
        got = self.create(flavor="gpu")
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertIn("in use by instance someone-else", got["fault"].message)
        self.assertPoolWhole()
        self.assertEqual("someone-else", self.ironic.nodes[HOST]["instance_uuid"])

    def test_the_reconciler_releases_then_returns_a_leaked_host(self):
        got = self.create(flavor="gpu")
        instance = instance_obj.Instance.get(None, got["instance"].uuid)
        # Its instance went to ERROR with the host undeployed (cleaned).
        instance.status = states.ERROR
        instance.save()
        self.ironic.nodes[HOST]["provision_state"] = "manageable"
        self.config(group="valence", reconcile_grace_period=0)
        actions = reconciler_mod.Reconciler(CONF, self.ironic, self.ext.valence).run()
        kinds = [(a.kind, a.node_uuid) for a in actions]
        self.assertEqual(reconciler_mod.RELEASE, kinds[0][0])
        self.assertEqual((reconciler_mod.RETURN, HOST), kinds[1])
        self.assertTrue(all(a.done for a in actions), actions)
        self.assertBackInThePool()
        self.assertPoolWhole()

    def test_the_host_is_claimed_before_any_device_is_attached(self):
        seen = []
        real = self.ext.valence.attach_device

        def attach(node_uuid, device_uuid):
            seen.append(self.ironic.nodes[HOST]["instance_uuid"])
            return real(node_uuid, device_uuid)

        self.ext.valence.attach_device = attach
        got = self.create(flavor="gpu")
        self.assertEqual(states.ACTIVE, got["instance"].status, got["fault"])
        self.assertEqual([got["instance"].uuid] * 2, seen)

    def test_an_old_delete_never_tears_down_the_host_given_to_another(self):
        got = self.create(flavor="gpu")
        x = got["instance"].uuid
        # The delete undeploys, then its release fails: ERROR.
        release = self.ext.valence.release_node
        self.ext.valence.release_node = lambda u: (_ for _ in ()).throw(
            RuntimeError("Valence is down")
        )
        got = self.delete(x)
        self.assertEqual(states.ERROR, got["instance"].status)
        self.ext.valence.release_node = release
        # The reconciler releases the devices and gives the host back ...
        self.ironic.nodes[HOST]["provision_state"] = "manageable"
        self.config(group="valence", reconcile_grace_period=0)
        reconciler_mod.Reconciler(CONF, self.ironic, self.ext.valence).run()
        self.assertBackInThePool()
        self.assertIsNone(instance_obj.Instance.get(None, x).node_uuid)
        # ... where another instance gets it.
        self.ironic.nodes[HOST].update(
            instance_uuid="someone-else", provision_state="active"
        )
        got = self.delete(x)
        self.assertEqual(states.DELETED, got["instance"].status, got["fault"])
        self.assertEqual("active", self.ironic.nodes[HOST]["provision_state"])
        self.assertEqual("someone-else", self.ironic.nodes[HOST]["instance_uuid"])

    def test_the_reconciler_never_returns_a_host_whose_devices_are_attached(self):
        self.ironic.deploy_failures[HOST] = ironic_exc.IronicError(reason="boom")
        self.config(group="engine", schedule_max_attempts=1)
        release = self.ext.valence.release_node
        self.ext.valence.release_node = lambda u: (_ for _ in ()).throw(
            RuntimeError("Valence is down")
        )
        got = self.create(flavor="gpu")
        self.assertEqual(states.ERROR, got["instance"].status)
        self.ext.valence.release_node = release
        self.assertEqual(2, len(self.devices(state="allocated")))
        # Young Valence node, old Ironic host: nothing is given back.
        self.config(group="valence", reconcile_grace_period=3600)
        actions = reconciler_mod.Reconciler(CONF, self.ironic, self.ext.valence).run()
        self.assertEqual([], [(a.kind, a.node_uuid) for a in actions])
        self.assertEqual(got["instance"].uuid, self.ironic.nodes[HOST]["instance_uuid"])
        # Once old enough: the devices first, then the host.
        self.config(group="valence", reconcile_grace_period=0)
        actions = reconciler_mod.Reconciler(CONF, self.ironic, self.ext.valence).run()
        kinds = [a.kind for a in actions]
        self.assertEqual([reconciler_mod.RELEASE, reconciler_mod.RETURN], kinds)
        self.assertBackInThePool()
        self.assertPoolWhole()


class TestOneComposeAtATime(ExpEtherTestCase):
    def race(self, count):
        """``count`` composes at once through ComposeNodeTask."""
        flavor = {"name": "gpu", "composition": {"pci_devices": ["NIC"]}}
        compose = tasks.ComposeNodeTask(
            self.ext.valence, CONF, self.ext.pods, self.ext.hosts
        )
        start = threading.Barrier(count)
        results, errors = [], []

        def one():
            instance = instance_obj.Instance(name="r", status=states.BUILDING)
            instance.create(self.ctx)
            start.wait()
            try:
                results.append(compose.execute(instance.uuid, flavor))
            except Exception as e:  # noqa: BLE001  (reported below)
                errors.append(e)

        threads = [threading.Thread(target=one) for _ in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return results, errors

    def test_facing_double_allocation_each_instance_gets_its_own_server(self):
        self.start()
        requests.post(
            f"{self.sim.url}/admin/faults",
            json={"operation": "compose", "double_allocate": True, "count": 10},
            timeout=10,
        )
        results, errors = self.race(2)
        self.assertEqual([], errors)
        indexes = [self.sim.state.nodes[r["uuid"]]["index"] for r in results]
        self.assertEqual(2, len(set(indexes)), indexes)

    def test_without_the_bound_the_fault_is_real(self):
        # The same race with the bound lifted: the simulator double-allocates.
        self.start(max_concurrent_composes=0)
        requests.post(
            f"{self.sim.url}/admin/faults",
            json={"operation": "compose", "double_allocate": True, "count": 10},
            timeout=10,
        )
        results, _ = self.race(2)
        indexes = [self.sim.state.nodes[r["uuid"]]["index"] for r in results]
        self.assertEqual(1, len(set(indexes)), indexes)


class TestShape(ExpEtherTestCase):
    def test_the_shape_comes_from_the_pod_managers_driver(self):
        self.start()
        self.assertEqual(expether.EXPETHER, self.ext.pods.shape(mv_fixtures.PODM_ID))
