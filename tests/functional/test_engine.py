"""The engine as a separate process, with the real Ironic and RabbitMQ."""

import http.server
import signal
import threading

import pytest

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from mogan_valence.engine import timing
from tests.functional import harness

CTX = mv_context.get_admin_context()


@pytest.fixture(scope="module")
def engine(tmp_path_factory, transport_url, ironic):
    proc = harness.EngineProcess(
        str(tmp_path_factory.mktemp("engine")), transport_url, ironic.url
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def api(engine):
    return engine.api()


def _associated(ironic, node_uuids):
    client = ironic.client()
    return {u: client.node.get(u).instance_uuid for u in node_uuids}


def test_preset_instance_goes_active_and_is_deleted(ironic, api, resource_class):
    nodes = ironic.enroll_fake_nodes(2, resource_class, prefix=resource_class)
    api.create_flavor(CTX, f"bm-{resource_class}", resources={resource_class: 1})
    instance = api.create_instance(
        CTX, "web-1", f"bm-{resource_class}", "http://127.0.0.1/img.qcow2"
    )
    assert instance.status == states.BUILDING
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ACTIVE, (
        got["fault"] and got["fault"].message
    )
    node_uuid = got["instance"].node_uuid
    assert node_uuid in nodes
    node = ironic.client().node.get(node_uuid)
    assert node.provision_state == "active"
    assert node.instance_uuid == instance.uuid

    api.delete_instance(CTX, instance.uuid)
    got = harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})
    assert got["instance"].status == states.DELETED
    node = ironic.client().node.get(node_uuid)
    assert node.provision_state == "available"
    assert node.instance_uuid is None
    assert [
        s["step"]
        for s in got["instance"].extra[timing.STEPS_KEY]
        if s["op"] == "delete"
    ] == ["undeploy"]


class _HeldImage(http.server.BaseHTTPRequestHandler):
    """Holds every request for the image until released, then answers 404."""

    requested = threading.Event()
    release = threading.Event()

    def _hold(self):
        type(self).requested.set()
        type(self).release.wait(60)
        self.send_response(404)
        self.end_headers()

    do_GET = do_HEAD = _hold

    def log_message(self, *args):
        pass


@pytest.fixture
def held_image():
    _HeldImage.requested.clear()
    _HeldImage.release.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HeldImage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/image.qcow2", _HeldImage
    _HeldImage.release.set()
    server.shutdown()


def _bad_node(ironic, resource_class):
    """A node whose deploy really fails: the 'direct' interface fetches the
    image first, and the image is not there."""
    [uuid] = ironic.enroll_fake_nodes(
        1,
        resource_class,
        prefix=f"bad-{resource_class}",
        deploy_interface="direct",
        driver_info={
            "deploy_kernel": "http://127.0.0.1/k",
            "deploy_ramdisk": "http://127.0.0.1/r",
        },
    )
    # Its instance_info keeps a checksum so that validation passes.
    ironic.client().node.update(
        uuid,
        [
            {
                "op": "add",
                "path": "/instance_info/image_checksum",
                "value": "d41d8cd98f00b204e9800998ecf8427e",
            }
        ],
    )
    return uuid


def test_failing_deploy_is_rescheduled_to_another_node(
    ironic, api, resource_class, held_image
):
    image, held = held_image
    bad = _bad_node(ironic, resource_class)
    api.create_flavor(CTX, f"bm-{resource_class}", resources={resource_class: 1})
    instance = api.create_instance(CTX, "resched", f"bm-{resource_class}", image)
    # Only the bad node exists: the first attempt must take it.
    assert held.requested.wait(60), "the bad node never started deploying"
    [good] = ironic.enroll_fake_nodes(
        1, resource_class, prefix=f"good-{resource_class}"
    )
    held.release.set()
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ACTIVE, (
        got["fault"] and got["fault"].message
    )
    assert got["instance"].node_uuid == good
    bad_node = ironic.client().node.get(bad)
    assert bad_node.provision_state == "available"
    assert bad_node.instance_uuid is None
    steps = [(s["step"], s["outcome"]) for s in got["instance"].extra[timing.STEPS_KEY]]
    assert ("create-instance", "failed") in steps
    assert ("create-instance", "ok") in steps


def test_no_node_left_ends_in_error_with_allocation_freed(
    ironic, api, resource_class, held_image
):
    image, held = held_image
    held.release.set()
    bad = _bad_node(ironic, resource_class)
    api.create_flavor(CTX, f"bm-{resource_class}", resources={resource_class: 1})
    instance = api.create_instance(CTX, "doomed", f"bm-{resource_class}", image)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ERROR
    fault = got["fault"]
    assert fault.message.startswith("schedule-create-instance: No valid node found")
    assert bad in fault.message
    assert got["instance"].node_uuid is None
    client = ironic.client()
    assert [a for a in client.allocation.list() if a.uuid == instance.uuid] == []
    node = client.node.get(bad)
    assert node.instance_uuid is None
    assert node.provision_state == "available"


def test_engine_refuses_to_start_with_a_missing_extension(
    tmp_path, transport_url, ironic
):
    proc = harness.EngineProcess(
        str(tmp_path), transport_url, ironic.url, extensions="no-such-extension"
    )
    proc.dbsync()
    result = harness.subprocess.run(
        [harness._bin("mogan-valence-engine"), "--config-file", proc.conf_path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "'no-such-extension' is not installed" in result.stderr


def test_sigterm_stops_the_engine(tmp_path, transport_url, ironic):
    proc = harness.EngineProcess(str(tmp_path), transport_url, ironic.url)
    proc.start()
    proc.proc.proc.send_signal(signal.SIGTERM)
    # wait() raises TimeoutExpired if it does not stop in time.
    assert proc.proc.proc.wait(timeout=30) == 0


def test_sigterm_exits_within_graceful_timeout_and_the_create_resumes(
    tmp_path, transport_url, ironic, resource_class, held_image
):
    """A deploy that goes on longer than [engine] graceful_shutdown_timeout
    does not keep a stopping engine alive: it exits, and the next start
    resumes the create where it was."""
    image, held = held_image
    bad = _bad_node(ironic, resource_class)
    engine = harness.EngineProcess(
        str(tmp_path / "engine"),
        transport_url,
        ironic.url,
        extra="\n[engine]\ngraceful_shutdown_timeout = 1\n",
    )
    engine.start()
    try:
        api = engine.api()
        api.create_flavor(CTX, f"bm-{resource_class}", resources={resource_class: 1})
        instance = api.create_instance(CTX, "held", f"bm-{resource_class}", image)
        # Ironic holds the deploy on the image: the flow waits for it.
        assert held.requested.wait(60), "the deploy never started"
        engine.proc.proc.send_signal(signal.SIGTERM)
        # Bounded by the 60 s the image is held: an engine that waited for
        # its worker would still run when this wait ends.
        engine.proc.proc.wait(timeout=15)
        engine.proc.proc = None
        engine.start()
        # Resumed, still waiting on the held deploy.
        assert api.get_instance(CTX, instance.uuid)["instance"].status == (
            states.BUILDING
        )
        held.release.set()
        got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
        # The held image ends in 404: a real deploy failure on the only
        # node, then no other node to reschedule to.
        assert got["instance"].status == states.ERROR
        assert got["fault"].message.startswith("schedule-create-instance: ")
        assert bad in got["fault"].message
        api.delete_instance(CTX, instance.uuid)
        got = harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})
        assert got["instance"].status == states.DELETED
        assert ironic.client().node.get(bad).provision_state == "available"
    finally:
        engine.stop()
