"""The Valence extension's tasks and delete steps: every execute and revert
branch, against the simulator (real HTTP) and an in-memory Ironic."""

from unittest import mock
import requests
from taskflow.types import failure as tf_failure

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.engine import extensions
from mogan_valence.ironic import exceptions as ironic_exc
from mogan_valence.objects import instance as instance_obj
from mogan_valence.valence import enrollment
from mogan_valence.valence import exceptions as vexc
from mogan_valence.valence import extension as ext_mod
from mogan_valence.valence import tasks
from tests import fixtures as mv_fixtures
from tests.unit import fake_ironic
from tests.unit.engine import base as engine_base

COMPOSITION = {"cpu_cores": 8, "ram_mib": 16384}
FLAVOR = {
    "uuid": None,
    "name": "c8",
    "resources": {},
    "resource_traits": {},
    "composition": COMPOSITION,
}


class ValenceTestCase(engine_base.EngineTestCase):
    nodes = {}

    def setUp(self):
        self.sim = None
        super().setUp()

    def _configure(self):
        self.sim = self.useFixture(
            mv_fixtures.Simulator(self.tmp_dir + "/sim", systems=2)
        )
        self.config(
            group="valence",
            url=self.sim.url,
            podm_id=mv_fixtures.PODM_ID,
            enroll_driver="fake-hardware",
            resource_class="composed",
            retries=0,
        )

    def fault(self, **body):
        requests.post(f"{self.sim.url}/admin/faults", json=body, timeout=10)


class TestTasks(ValenceTestCase):
    def setUp(self):
        super().setUp()
        self._configure()
        self.ext = ext_mod.ValenceExtension(
            extensions.ExtensionHost(conf=engine_base.base.CONF, ironic=self.ironic)
        )
        self.instance = instance_obj.Instance(name="c", status=states.BUILDING)
        self.instance.create(self.ctx)
        self.compose = tasks.ComposeNodeTask(
            self.ext.valence, engine_base.base.CONF, self.ext.pods, self.ext.hosts
        )
        self.enroll = tasks.EnrollNodeTask(
            self.ironic, self.ext.valence, engine_base.base.CONF, self.ext.hosts
        )

    def test_compose_saves_composed_and_node_before_returning(self):
        node = self.compose.execute(self.instance.uuid, FLAVOR)
        self.assertEqual(f"mogan-{self.instance.uuid}", node["name"])
        saved = instance_obj.Instance.get(self.ctx, self.instance.uuid)
        self.assertTrue(saved.is_composed)
        self.assertEqual(node["uuid"], saved.node_uuid)
        self.assertEqual([node["uuid"]], list(self.sim.state.nodes))

    def test_compose_adopts_an_existing_node_by_name(self):
        first = self.compose.execute(self.instance.uuid, FLAVOR)
        again = self.compose.execute(self.instance.uuid, FLAVOR)
        self.assertEqual(first["uuid"], again["uuid"])
        self.assertEqual(1, len(self.sim.state.nodes))

    def test_compose_revalidates_the_composition(self):
        bad = dict(FLAVOR, composition={"cpu_cores": 0})
        self.assertRaises(
            vexc.InvalidComposition, self.compose.execute, self.instance.uuid, bad
        )
        self.assertEqual({}, self.sim.state.nodes)

    def test_compose_revert_releases(self):
        node = self.compose.execute(self.instance.uuid, FLAVOR)
        self.compose.revert(node, self.instance.uuid, FLAVOR)
        self.assertEqual({}, self.sim.state.nodes)
        self.assertIsNone(
            instance_obj.Instance.get(self.ctx, self.instance.uuid).node_uuid
        )
        # Idempotent: already released is fine.
        self.compose.revert(node, self.instance.uuid, FLAVOR)

    def test_compose_revert_after_its_own_failure_finds_a_left_node(self):
        self.fault(operation="compose", status=500, after_commit=True)
        self.assertRaises(
            vexc.ValenceServerError, self.compose.execute, self.instance.uuid, FLAVOR
        )
        self.assertEqual(1, len(self.sim.state.nodes))
        failure = tf_failure.Failure.from_exception(RuntimeError("x"))
        self.compose.revert(failure, self.instance.uuid, FLAVOR)
        self.assertEqual({}, self.sim.state.nodes)

    def test_compose_revert_after_failure_with_nothing_left(self):
        failure = tf_failure.Failure.from_exception(RuntimeError("x"))
        self.compose.revert(failure, self.instance.uuid, FLAVOR)
        self.assertEqual({}, self.sim.state.nodes)

    def test_failure_inside_compose_revert_is_raised(self):
        node = self.compose.execute(self.instance.uuid, FLAVOR)
        self.fault(operation="release", status=500)
        self.assertRaises(
            vexc.ValenceServerError,
            self.compose.revert,
            node,
            self.instance.uuid,
            FLAVOR,
        )
        self.assertEqual([node["uuid"]], list(self.sim.state.nodes))

    def test_enroll_creates_claims_ports_manages_provides(self):
        node = self.compose.execute(self.instance.uuid, FLAVOR)
        node_uuid = self.enroll.execute(self.instance.uuid, node)
        self.assertEqual(node["uuid"], node_uuid)
        ironic_node = self.ironic.nodes[node_uuid]
        self.assertEqual("available", ironic_node["provision_state"])
        self.assertEqual(self.instance.uuid, ironic_node["instance_uuid"])
        self.assertEqual("composed", ironic_node["resource_class"])
        self.assertEqual("fake-hardware", ironic_node["driver"])
        self.assertEqual(
            self.instance.uuid,
            ironic_node["extra"][enrollment.EXTRA_KEY]["instance_uuid"],
        )
        self.assertEqual(2, len(ironic_node["ports"]))
        ops = [c[0] for c in self.ironic.calls]
        # Claimed before it can become available.
        self.assertLess(ops.index("claim_node"), ops.index("manage"))
        self.assertLess(ops.index("manage"), ops.index("provide"))

    def test_enroll_revert_removes_the_node_even_after_a_failed_execute(self):
        node = self.compose.execute(self.instance.uuid, FLAVOR)
        self.ironic.fail_next["manage"] = ironic_exc.NodeStateError(
            node["uuid"], "manage", "verifying", "boom"
        )
        self.assertRaises(
            ironic_exc.NodeStateError, self.enroll.execute, self.instance.uuid, node
        )
        failure = tf_failure.Failure.from_exception(RuntimeError("x"))
        self.enroll.revert(failure, self.instance.uuid, node)
        self.assertNotIn(node["uuid"], self.ironic.nodes)
        self.enroll.revert(failure, self.instance.uuid, node)  # idempotent

    def test_failure_inside_enroll_revert_is_raised(self):
        node = self.compose.execute(self.instance.uuid, FLAVOR)
        self.enroll.execute(self.instance.uuid, node)
        self.ironic.fail_next["delete_node"] = ironic_exc.IronicUnavailable(
            reason="down"
        )
        self.assertRaises(
            ironic_exc.IronicUnavailable,
            self.enroll.revert,
            node["uuid"],
            self.instance.uuid,
            node,
        )

    def test_redfish_enrollment_fields(self):
        self.config(
            group="valence",
            enroll_driver="redfish",
            redfish_address="https://podm:8443",
            redfish_username="admin",
            redfish_password="s3cret",
        )
        detail = {
            "uuid": "u",
            "computer_system": {"@odata.id": "/redfish/v1/Systems/7"},
            "metadata": {"network": [{"mac": "AA:BB:CC:DD:EE:FF"}]},
            "cpu_cores": 8,
            "ram_mib": 16384,
            "disk_gb": 100,
        }
        fields = enrollment.node_fields(
            engine_base.base.CONF, "i", {"uuid": "u", "name": "mogan-i"}, detail
        )
        self.assertEqual("redfish", fields["driver"])
        self.assertEqual(
            "/redfish/v1/Systems/7", fields["driver_info"]["redfish_system_id"]
        )
        self.assertEqual("https://podm:8443", fields["driver_info"]["redfish_address"])
        self.assertEqual("ramdisk", fields["deploy_interface"])
        self.assertEqual(
            {"cpus": 8, "memory_mb": 16384, "local_gb": 100, "cpu_arch": "x86_64"},
            fields["properties"],
        )
        self.assertEqual(["aa:bb:cc:dd:ee:ff"], enrollment.macs(detail))
        self.assertRaises(
            enrollment.EnrollmentError,
            enrollment.node_fields,
            engine_base.base.CONF,
            "i",
            {"uuid": "u", "name": "n"},
            {"uuid": "u"},
        )


class TestExtensionInEngine(ValenceTestCase):
    def setUp(self):
        super().setUp()
        self._configure()
        self.manager._manager.extensions[:] = [
            ext_mod.ValenceExtension(
                extensions.ExtensionHost(conf=engine_base.base.CONF, ironic=self.ironic)
            )
        ]
        self.manager.create_flavor(self.ctx, "c8", composition=COMPOSITION)

    def test_composed_create_and_delete(self):
        got = self.create(flavor="c8")
        self.assertEqual(states.ACTIVE, got["instance"].status)
        node_uuid = got["instance"].node_uuid
        self.assertEqual([node_uuid], list(self.sim.state.nodes))
        self.assertNotIn("allocate", [c[0] for c in self.ironic.calls])
        got = self.delete(got["instance"].uuid)
        self.assertEqual(states.DELETED, got["instance"].status)
        self.assertEqual({}, self.sim.state.nodes)
        self.assertNotIn(node_uuid, self.ironic.nodes)

    def test_a_teardown_asks_ironic_for_the_node_once(self):
        got = self.create(flavor="c8")
        node_uuid = got["instance"].node_uuid
        with mock.patch.object(
            self.ironic, "find_node", wraps=self.ironic.find_node
        ) as find:
            got = self.delete(got["instance"].uuid)
        self.assertEqual(states.DELETED, got["instance"].status)
        # The unenroll reads it and hands it on; the release knows it is gone.
        self.assertEqual([node_uuid], [c.args[0] for c in find.call_args_list])

    def test_deploy_failure_reverts_everything_without_rescheduling(self):
        self.ironic.fail_next["create_port"] = ironic_exc.IronicError(reason="port")
        got = self.create(flavor="c8")
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertTrue(got["fault"].message.startswith("enroll-node: "))
        self.assertEqual({}, self.sim.state.nodes)
        self.assertEqual({}, self.ironic.nodes)

    def test_no_capacity_is_a_readable_fault(self):
        for i in range(2):
            self.assertEqual(
                states.ACTIVE, self.create(name=f"c{i}", flavor="c8")["instance"].status
            )
        got = self.create(name="third", flavor="c8")
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertIn("no computer systems available", got["fault"].message)
        self.assertEqual(2, len(self.sim.state.nodes))

    def test_release_is_refused_while_ironic_holds_the_node(self):
        got = self.create(flavor="c8")
        node_uuid = got["instance"].node_uuid
        self.ironic.fail_next["delete_node"] = ironic_exc.IronicUnavailable(
            reason="down"
        )
        got = self.delete(got["instance"].uuid)
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertTrue(got["fault"].message.startswith("unenroll: "))
        self.assertIn(node_uuid, self.sim.state.nodes)

    def test_invalid_compositions_are_refused(self):
        err = self.assertRaises(
            exception.InvalidInput,
            self.manager.create_flavor,
            self.ctx,
            "bad",
            composition={"cpu_cores": 4, "gpu": 1},
        )
        self.assertIn("'gpu'", str(err))

    def test_compose_on_no_valid_node(self):
        self.config(group="valence", compose_on_no_valid_node=True)
        self.manager.create_flavor(
            self.ctx, "both", resources={"baremetal": 1}, composition=COMPOSITION
        )
        # No pre-set node exists: scheduling finds none, so one is composed.
        got = self.create(flavor="both")
        self.assertEqual(states.ACTIVE, got["instance"].status, got["fault"])
        self.assertTrue(got["instance"].is_composed)
        self.assertEqual([got["instance"].node_uuid], list(self.sim.state.nodes))
        self.assertIn("allocate", [c[0] for c in self.ironic.calls])
        got = self.delete(got["instance"].uuid)
        self.assertEqual(states.DELETED, got["instance"].status)
        self.assertEqual({}, self.sim.state.nodes)

    def test_compose_on_no_valid_node_prefers_an_existing_node(self):
        self.config(group="valence", compose_on_no_valid_node=True)
        self.ironic.nodes.update(
            fake_ironic.FakeIronic({engine_base.NODE_A: "baremetal"}).nodes
        )
        self.manager.create_flavor(
            self.ctx, "both", resources={"baremetal": 1}, composition=COMPOSITION
        )
        got = self.create(flavor="both")
        self.assertEqual(states.ACTIVE, got["instance"].status)
        self.assertEqual(engine_base.NODE_A, got["instance"].node_uuid)
        self.assertEqual({}, self.sim.state.nodes)


class TestExtensionStart(ValenceTestCase):
    def test_redfish_without_credentials_refuses_to_start(self):
        self._configure()
        self.config(group="valence", enroll_driver="redfish")
        err = self.assertRaises(
            exception.InvalidInput,
            ext_mod.ValenceExtension,
            extensions.ExtensionHost(conf=engine_base.base.CONF, ironic=self.ironic),
        )
        self.assertIn("[valence] redfish_address", str(err))
        self.assertIn("[valence] redfish_password", str(err))
