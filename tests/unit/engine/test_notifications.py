"""The engine's versioned notifications, through oslo.messaging's 'test'
driver (it keeps what would be sent), and the step metrics they share a
listener with."""

from oslo_config import cfg
from oslo_messaging.notify import _impl_test
from prometheus_client import REGISTRY

import taskflow.engines

from mogan_valence.common import states
from mogan_valence.engine.flows import constants
from mogan_valence.engine.flows import power
from mogan_valence.engine import notifications
from mogan_valence.objects import instance as instance_obj
from tests import notification_shape
from tests.unit.engine import base

SECRET = "hunter2"


def _outcomes(step, outcome, error=""):
    return (
        REGISTRY.get_sample_value(
            "mogan_valence_step_outcomes_total",
            {"step": step, "outcome": outcome, "error": error},
        )
        or 0.0
    )


class NotifyingEngineTestCase(base.EngineTestCase):
    def setUp(self):
        # Read by init_host (in the base setUp): set first, undone after.
        for group, name, value in (
            ("notifications", "notification_format", "versioned"),
            ("oslo_messaging_notifications", "driver", ["test"]),
            (None, "transport_url", "fake://"),
        ):
            if group == "oslo_messaging_notifications":
                # Registered by oslo.messaging when a transport is made.
                notifications.messaging.get_notification_transport(
                    cfg.CONF, url="fake://"
                )
            cfg.CONF.set_override(name, value, group=group)
            self.addCleanup(cfg.CONF.clear_override, name, group=group)
        _impl_test.reset()
        super().setUp()

    def sent(self):
        return [message for _ctx, message, _prio, _retry in _impl_test.NOTIFICATIONS]

    def events(self):
        return [m["event_type"] for m in self.sent()]

    def payload(self, event_type):
        found = [m for m in self.sent() if m["event_type"] == event_type]
        self.assertEqual(1, len(found), f"{event_type} in {self.events()}")
        primitive = found[0]["payload"]
        self.assertEqual(
            [],
            notification_shape.check(
                event_type,
                found[0]["priority"],
                found[0]["publisher_id"],
                primitive,
            ),
        )
        self.assertEqual("ServerActionPayload", primitive["mogan_object.name"])
        self.assertEqual("1.0", primitive["mogan_object.version"])
        return found[0], primitive["mogan_object.data"]


class TestCreateDeleteNotifications(NotifyingEngineTestCase):
    def test_create_then_delete(self):
        deploys = _outcomes("deploy", "success")
        got = self.create()
        uuid = got["instance"].uuid
        self.assertEqual(states.ACTIVE, got["instance"].status)
        self.assertEqual(["server.create.start", "server.create.end"], self.events())
        message, start = self.payload("server.create.start")
        self.assertEqual(
            f"mogan-valence-engine:{cfg.CONF.engine.host}", message["publisher_id"]
        )
        self.assertEqual("INFO", message["priority"])
        self.assertEqual(states.BUILDING, start["state"])
        self.assertIsNone(start["node_uuid"])
        self.assertEqual({}, start["step_durations"])
        _message, end = self.payload("server.create.end")
        self.assertEqual(uuid, end["uuid"])
        self.assertEqual(states.ACTIVE, end["state"])
        self.assertEqual(states.POWER_ON, end["power_state"])
        self.assertEqual(got["instance"].node_uuid, end["node_uuid"])
        self.assertEqual(self.flavor.uuid, end["flavor_uuid"])
        # A pre-set flavor composes nothing.
        self.assertIsNone(end["composed_node"])
        self.assertIsNone(end["fault"])
        self.assertIn("create-instance", end["step_durations"])
        self.assertIn("schedule-create-instance", end["step_durations"])
        self.assertEqual(deploys + 1, _outcomes("deploy", "success"))

        self.delete(uuid)
        self.assertEqual(
            ["server.delete.start", "server.delete.end"], self.events()[2:]
        )
        _message, start = self.payload("server.delete.start")
        self.assertEqual(states.DELETING, start["state"])
        _message, end = self.payload("server.delete.end")
        self.assertEqual(states.DELETED, end["state"])
        self.assertIn("undeploy", end["step_durations"])

    def test_failed_create_names_the_step_and_hides_secrets(self):
        failures = _outcomes("schedule-create-instance", "failure", "RuntimeError")
        self.ironic.fail_next["allocate"] = RuntimeError(
            f"no luck for http://admin:{SECRET}@podm/x password={SECRET}"
        )
        got = self.create()
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertEqual(["server.create.start", "server.create.error"], self.events())
        message, error = self.payload("server.create.error")
        self.assertEqual("ERROR", message["priority"])
        self.assertEqual(states.ERROR, error["state"])
        fault = error["fault"]["mogan_object.data"]
        self.assertEqual("schedule-create-instance", fault["step"])
        self.assertEqual("RuntimeError", fault["exception"])
        self.assertIn("no luck", fault["message"])
        self.assertNotIn(SECRET, str(self.sent()))
        self.assertEqual(
            failures + 1,
            _outcomes("schedule-create-instance", "failure", "RuntimeError"),
        )

    def test_failed_delete(self):
        got = self.create()
        self.ironic.fail_next["undeploy"] = RuntimeError("tear-down refused")
        got = self.delete(got["instance"].uuid)
        self.assertEqual(states.ERROR, got["instance"].status)
        self.assertEqual(
            ["server.delete.start", "server.delete.error"], self.events()[2:]
        )
        _message, error = self.payload("server.delete.error")
        self.assertEqual("undeploy", error["fault"]["mogan_object.data"]["step"])


class TestPowerNotifications(NotifyingEngineTestCase):
    def test_power_off_then_a_failed_power_on(self):
        uuid = self.create()["instance"].uuid
        self.manager.set_power_state(self.ctx, uuid, "off")
        self.manager.wait_idle(30)
        self.assertEqual(
            ["server.power_off.start", "server.power_off.end"], self.events()[2:]
        )
        _message, end = self.payload("server.power_off.end")
        self.assertEqual(states.POWER_OFF, end["power_state"])

        self.ironic.fail_next["set_power"] = RuntimeError("BMC unreachable")
        self.manager.set_power_state(self.ctx, uuid, "on")
        self.manager.wait_idle(30)
        self.assertEqual(
            ["server.power_on.start", "server.power_on.error"], self.events()[4:]
        )
        message, error = self.payload("server.power_on.error")
        self.assertEqual("ERROR", message["priority"])
        self.assertEqual("power on", error["fault"]["mogan_object.data"]["step"])
        # A failed power action leaves the instance as it was.
        self.assertEqual(states.ACTIVE, error["state"])

    def test_the_power_flow_of_a_jobboard_job(self):
        # The jobboard runs power actions as a flow: its task reports too.
        uuid = self.create()["instance"].uuid
        node = self.manager.get_instance(self.ctx, uuid)["instance"].node_uuid
        flow = power.get_power_flow(self.ironic, self.manager.notifier)
        taskflow.engines.run(
            flow,
            store={
                constants.INSTANCE_UUID: uuid,
                constants.NODE_UUID: node,
                constants.POWER_TARGET: "reboot",
            },
        )
        self.assertEqual(
            ["server.reboot.start", "server.reboot.end"], self.events()[2:]
        )

    def test_soft_reboot_event_name(self):
        uuid = self.create()["instance"].uuid
        self.manager.set_power_state(self.ctx, uuid, "soft_reboot")
        self.manager.wait_idle(30)
        self.assertIn("server.soft_reboot.end", self.events())


class TestPayload(base.EngineTestCase):
    def test_composed_node_without_secret_keys(self):
        # Building a payload needs no transport.
        notifier = notifications.Notifier(cfg.CONF, self.ironic)
        instance = instance_obj.Instance(
            uuid="1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
            status=states.ACTIVE,
            node_uuid=base.NODE_A,
        )
        payload = notifier.payload(
            instance,
            {"cpu_cores": 8, "backend": "redfish", "bmc_password": SECRET},
            granted={"cpus": 8, "memory_mb": 16384, "local_gb": None},
        )
        composed = payload.composed_node
        self.assertEqual("redfish", composed.backend)
        self.assertEqual(base.NODE_A, composed.node_uuid)
        self.assertEqual({"cpu_cores": 8, "backend": "redfish"}, composed.requested)
        self.assertEqual(16384, composed.granted.memory_mb)
        self.assertIsNone(composed.granted.local_gb)

    def test_backend_defaults_to_valence(self):
        self.assertEqual("valence", notifications.backend_of({"cpu_cores": 1}))
        self.assertIsNone(notifications.backend_of(None))

    def test_off_by_default_sends_nothing(self):
        notifier = notifications.Notifier(cfg.CONF, self.ironic)
        self.assertFalse(notifier.enabled)
        notifier.notify("create", "start", "1be26c0b-03f2-4d2e-ae87-c02d7f33c123")
