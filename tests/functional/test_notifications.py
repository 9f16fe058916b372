"""Versioned notifications on the real broker: the engine process (Valence
extension, simulator, real Ironic) sends them over RabbitMQ; an
oslo.messaging notification listener on the same transport receives them,
and each is checked against its sample in doc/notifications/."""

import threading
import time
import urllib.parse
import uuid as uuidlib

import oslo_messaging as messaging
from oslo_config import cfg
import pytest
import requests

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from tests import fixtures as mv_fixtures
from tests import notification_shape
from tests.functional import harness

CTX = mv_context.get_admin_context()
COMPOSITION = {"cpu_cores": 8, "ram_mib": 16384, "disk_gb": 100, "disk_type": "SSD"}
IMAGE = "http://127.0.0.1/img.qcow2"


class Received:
    """The listener's endpoint: every notification, in arrival order."""

    def __init__(self):
        self.messages: list[dict] = []
        self.lock = threading.Lock()

    def _keep(self, priority, publisher_id, event_type, payload):
        with self.lock:
            self.messages.append(
                {
                    "priority": priority,
                    "publisher_id": publisher_id,
                    "event_type": event_type,
                    "payload": payload,
                }
            )

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._keep("INFO", publisher_id, event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._keep("ERROR", publisher_id, event_type, payload)

    def of(self, server_uuid: str) -> list[dict]:
        with self.lock:
            return [
                m
                for m in self.messages
                if m["payload"]["mogan_object.data"]["uuid"] == server_uuid
            ]

    def wait(self, server_uuid: str, event_type: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for message in self.of(server_uuid):
                if message["event_type"] == event_type:
                    return message
            if time.monotonic() > deadline:
                got = [m["event_type"] for m in self.of(server_uuid)]
                raise AssertionError(f"no {event_type} for {server_uuid}; got {got}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def topic():
    return f"mv-notifications-{uuidlib.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def received(transport_url, topic):
    # Listening before the engine starts: nothing it sends is missed.
    transport = messaging.get_notification_transport(cfg.CONF, url=transport_url)
    endpoint = Received()
    listener = messaging.get_notification_listener(
        transport,
        [messaging.Target(topic=topic)],
        [endpoint],
        executor="threading",
    )
    listener.start()
    yield endpoint
    listener.stop()
    listener.wait()
    transport.cleanup()


# Both paths a flow runs on: the engine's own workers, and the conductor of
# a jobboard (Redis).
@pytest.fixture(scope="module", params=["single", "jobboard"])
def stack(request, tmp_path_factory, transport_url, ironic, topic, received):
    work = tmp_path_factory.mktemp("notifications")
    jobboard, extra = None, ""
    if request.param == "jobboard":
        jobboard = request.getfixturevalue("redis_server").url
        extra = f"\n[engine]\njobboard_name = notif_{uuidlib.uuid4().hex[:8]}\n"
    with mv_fixtures.running_simulator(str(work / "valence"), systems=2) as sim:
        composed_class = f"notif-{uuidlib.uuid4().hex[:8]}"
        engine = harness.EngineProcess(
            str(work / "engine"),
            transport_url,
            ironic.url,
            extensions="valence",
            extra=harness.valence_section(sim.url, composed_class, retries=0)
            + "\n[notifications]\nnotification_format = versioned\n"
            f"versioned_notifications_topics = {topic}\n" + extra,
            jobboard=jobboard,
        )
        engine.start()
        try:
            api = engine.api()
            api.create_flavor(CTX, "composed-notify", composition=COMPOSITION)
            yield {"api": api, "sim": sim}
        finally:
            engine.stop()


def _check_all(messages: list[dict]) -> None:
    problems = []
    for m in messages:
        problems += notification_shape.check(
            m["event_type"], m["priority"], m["publisher_id"], m["payload"]
        )
    assert problems == []


def _data(message: dict) -> dict:
    return message["payload"]["mogan_object.data"]


def _obj(value: dict | None) -> dict | None:
    return None if value is None else value["mogan_object.data"]


def test_composed_create_power_and_delete(stack, received):
    api = stack["api"]
    instance = api.create_instance(CTX, "notify-1", "composed-notify", IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ACTIVE, (
        got["fault"] and got["fault"].message
    )
    node_uuid = got["instance"].node_uuid

    start = received.wait(instance.uuid, "server.create.start")
    assert _data(start)["state"] == states.BUILDING
    assert _obj(_data(start)["composed_node"])["node_uuid"] is None
    end = _data(received.wait(instance.uuid, "server.create.end"))
    assert end["state"] == states.ACTIVE
    assert end["node_uuid"] == node_uuid
    composed = _obj(end["composed_node"])
    assert composed["backend"] == "valence"
    assert composed["node_uuid"] == node_uuid
    assert composed["requested"] == COMPOSITION
    granted = _obj(composed["granted"])
    assert granted["cpus"] >= COMPOSITION["cpu_cores"]
    assert granted["memory_mb"] >= COMPOSITION["ram_mib"]
    assert {"compose-node", "enroll-node", "create-instance"} <= set(
        end["step_durations"]
    )

    for target, event in (("off", "power_off"), ("on", "power_on")):
        api.set_power_state(CTX, instance.uuid, target)
        received.wait(instance.uuid, f"server.{event}.start")
        done = _data(received.wait(instance.uuid, f"server.{event}.end"))
        assert done["power_state"] == f"power {target}"

    api.delete_instance(CTX, instance.uuid)
    got = harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})
    assert got["instance"].status == states.DELETED
    start = _data(received.wait(instance.uuid, "server.delete.start"))
    assert start["state"] == states.DELETING
    end = _data(received.wait(instance.uuid, "server.delete.end"))
    assert end["state"] == states.DELETED
    # Read while the node was still in Ironic.
    assert _obj(_obj(end["composed_node"])["granted"])["cpus"] >= 8
    assert {"undeploy", "unenroll", "release"} <= set(end["step_durations"])

    messages = received.of(instance.uuid)
    assert [m["event_type"] for m in messages] == [
        "server.create.start",
        "server.create.end",
        "server.power_off.start",
        "server.power_off.end",
        "server.power_on.start",
        "server.power_on.end",
        "server.delete.start",
        "server.delete.end",
    ]
    assert {m["priority"] for m in messages} == {"INFO"}
    _check_all(messages)


def test_failed_create(stack, received, transport_url):
    sim = stack["sim"]
    requests.post(
        f"{sim.url}/admin/faults",
        json={"operation": "compose", "status": 500},
        timeout=10,
    )
    api = stack["api"]
    instance = api.create_instance(CTX, "notify-fail", "composed-notify", IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ERROR

    message = received.wait(instance.uuid, "server.create.error")
    assert message["priority"] == "ERROR"
    error = _data(message)
    assert error["state"] == states.ERROR
    fault = _obj(error["fault"])
    assert fault["step"] == "compose-node"
    assert "injected fault" in fault["message"]
    assert fault["exception"]
    assert "compose-node" in error["step_durations"]
    password = urllib.parse.urlparse(transport_url).password
    messages = received.of(instance.uuid)
    if password:
        assert password not in str(messages)
    assert [m["event_type"] for m in messages] == [
        "server.create.start",
        "server.create.error",
    ]
    _check_all(messages)
    requests.delete(f"{sim.url}/admin/faults", timeout=10)
