"""The redfish backend end to end: the engine composes through the Redfish
composition simulator (its Compute blocks' BMCs are sushy-tools systems),
enrolls each composed system in the real Ironic with the redfish driver at
the system's own path on the service, deploys it (ramdisk over virtual
media), and on delete undeploys, unenrolls and decomposes it.

One engine holds flavors of both backends side by side (the Valence
simulator for the other). The fault matrix fails the compose, the task
monitor and the decompose; the crash cases SIGKILL the engine while a
compose or a decompose is on the wire. Both composition forms, both answer
modes and a reservation that expires before its Apply run through the
engine. After each case nothing is left composed, reserved or enrolled.
"""

import os
import subprocess
import time
import uuid as uuidlib

import pytest

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from mogan_valence.simulator.composition import server as rf_server
from tests import fixtures as mv_fixtures
from tests.functional import faultproxy
from tests.functional import harness

CTX = mv_context.get_admin_context()
RF_PASSWORD = "rf-s3cret-composition"
# Fits one Compute block (2 x 8 cores, 64 GiB) with a Storage block.
SMALL = {"backend": "redfish", "cpu_cores": 8, "ram_mib": 16384, "disk_gb": 100}
# Needs a Processor and a Memory block beside the Compute block.
BIG = {"backend": "redfish", "cpu_cores": 24, "ram_mib": 100000, "disk_gb": 100}
COMPOSE_ACTION = r"CompositionService\.Compose$"


@pytest.fixture(scope="module")
def rfsim(tmp_path_factory):
    sim = rf_server.CompositionSimulator(
        rf_server.Options(
            password=RF_PASSWORD,
            compute_blocks=3,
            zones=1,
            power_delay=0,
            task_seconds=0.5,
        )
    )
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def proxy(rfsim):
    made = faultproxy.FaultProxy(rfsim.url).start()
    yield made
    made.stop()


@pytest.fixture(scope="module")
def valence_sim(tmp_path_factory):
    with mv_fixtures.running_simulator(
        str(tmp_path_factory.mktemp("valence")), systems=2
    ) as fixture:
        yield fixture


@pytest.fixture(scope="module")
def classes():
    tag = uuidlib.uuid4().hex[:8]
    return {"redfish": f"rfc-{tag}", "valence": f"vlc-{tag}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, transport_url, ironic, rfsim, proxy, valence_sim, classes):
    extra = harness.valence_section(
        valence_sim.url, classes["valence"], retries=0, compose_lookup_window=2
    ) + (
        "\n[redfish_composition_default]\n"
        f"address = {proxy.url}\n"
        f"username = {rfsim.username}\n"
        f"password = {rfsim.password}\n"
        f"resource_class = {classes['redfish']}\n"
        "deploy_interface = ramdisk\n"
        "boot_interface = redfish-virtual-media\n"
        "request_timeout = 10\n"
        "task_timeout = 8\n"
        "task_poll_interval = 0.2\n"
    )
    engine = harness.EngineProcess(
        str(tmp_path_factory.mktemp("engine-rfc")),
        transport_url,
        ironic.url,
        extensions="valence",
        extra=extra,
    )
    engine.start()
    api = engine.api()
    api.create_flavor(CTX, "rf-small", composition=SMALL)
    api.create_flavor(CTX, "rf-big", composition=BIG)
    api.create_flavor(CTX, "vl-small", composition={"cpu_cores": 2})
    yield {"engine": engine, "api": api}
    engine.stop()


@pytest.fixture(autouse=True)
def clean_faults(rfsim, proxy, stack):
    rfsim.clear_faults()
    proxy.clear()
    yield
    rfsim.clear_faults()
    proxy.clear()
    # A failed case deletes what it left, so that the next finds the pod free.
    api = stack["api"]
    for instance in api.list_instances(CTX):
        if instance.status != states.DELETED:
            api.delete_instance(CTX, instance.uuid)
            harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR}, 240)
    rfsim.app.mode = "sync"
    rfsim.app.compose_action = True
    rfsim.store.forms = tuple(rf_server.req_mod.FORMS)


def _visible(rfsim) -> list[dict]:
    return [s for s in rfsim.state()["systems"] if s["visible"]]


def assert_nothing_left(stack, ironic, rfsim, valence_sim, classes):
    """No system composed, no block held, no node enrolled that an ACTIVE
    instance does not own."""
    api = stack["api"]
    active = [i for i in api.list_instances(CTX) if i.status == states.ACTIVE]
    owned = {i.name for i in active}
    state = rfsim.state()
    systems = [s for s in state["systems"] if s["visible"] or s["deleting"]]
    names = {s["name"] for s in systems}
    assert names <= {f"mogan-{i.uuid}" for i in active}, state["systems"]
    held = [b for b in state["blocks"] if b["state"] != "Unused" or b["reserved"]]
    held_by = {b["system"] for b in held}
    assert held_by <= {s["id"] for s in systems}, held
    assert not state["reservations"], state["reservations"]
    ironic_nodes = ironic.client().node.list(resource_class=classes["redfish"])
    assert {n.instance_uuid for n in ironic_nodes} <= {i.uuid for i in active}, owned
    assert len(ironic_nodes) == len(systems)
    assert set(valence_sim.state.nodes) <= {i.node_uuid for i in active}


def _create(stack, name, flavor, image, until=(states.ACTIVE, states.ERROR)):
    api = stack["api"]
    instance = api.create_instance(CTX, name, flavor, image)
    return harness.wait_status(api, instance.uuid, set(until), timeout=240)


def _delete(stack, uuid):
    api = stack["api"]
    api.delete_instance(CTX, uuid)
    return harness.wait_status(api, uuid, {states.DELETED, states.ERROR}, timeout=240)


def _fault(got):
    return got["fault"] and got["fault"].message


# -- the life cycle ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "forms", "action"),
    [
        ("sync", ("specific",), False),
        ("async", ("constrained",), False),
        ("sync", ("specific", "constrained"), True),
        ("async", ("specific",), True),
    ],
    ids=["specific-sync", "constrained-async", "action-sync", "action-async"],
)
def test_life_cycle(
    mode, forms, action, stack, ironic, rfsim, proxy, valence_sim, classes, iso_url
):
    """Both forms, both answer modes, POST or the Compose action; a Valence
    server of the same engine beside it."""
    rfsim.app.mode = mode
    rfsim.store.forms = forms
    # Without the Compose action (CompositionService v1.1): a POST to Systems.
    rfsim.app.compose_action = action
    api = stack["api"]
    seen = len(proxy.hits("POST"))
    rf = api.create_instance(CTX, f"rf-{mode}", "rf-big", iso_url)
    vl = api.create_instance(CTX, f"vl-{mode}", "vl-small", "http://127.0.0.1/i.img")
    got = harness.wait_status(api, rf.uuid, {states.ACTIVE, states.ERROR}, 240)
    assert got["instance"].status == states.ACTIVE, _fault(got)
    assert harness.wait_status(api, vl.uuid, {states.ACTIVE, states.ERROR}, 240)[
        "instance"
    ].status == (states.ACTIVE)

    (system,) = _visible(rfsim)
    assert system["name"] == f"mogan-{rf.uuid}"
    assert len(system["blocks"]) >= 3  # Compute, Processor, Memory, Storage
    node = ironic.client().node.get(got["instance"].node_uuid)
    assert node.driver == "redfish"
    assert node.driver_info["redfish_address"] == proxy.url
    assert (
        node.driver_info["redfish_system_id"] == f"/redfish/v1/Systems/{system['id']}"
    )
    assert node.deploy_interface == "ramdisk"
    assert node.provision_state == "active"
    assert node.power_state == "power on"
    assert node.properties["cpus"] >= 24
    assert node.properties["memory_mb"] >= 100000
    assert node.properties["local_gb"] >= 100
    used = [
        h
        for h in proxy.hits("POST")[seen:]
        if "Compose" in h.path or h.path.endswith("Systems")
    ]
    if action:
        assert all("Compose" in h.path for h in used), used
        assert [b'"PreviewReserve"' in h.body for h in used] == [True, False]
    else:
        assert any(h.path.endswith("/Systems") for h in used), used
    assert_nothing_left(stack, ironic, rfsim, valence_sim, classes)

    for uuid in (rf.uuid, vl.uuid):
        got = _delete(stack, uuid)
        assert got["instance"].status == states.DELETED, _fault(got)
    assert _visible(rfsim) == []
    assert_nothing_left(stack, ironic, rfsim, valence_sim, classes)
    # The BMC password never reaches the engine's log (it runs with debug on).
    with open(os.path.join(stack["engine"].work_dir, "engine.log")) as log:
        assert RF_PASSWORD not in log.read()


def test_reservation_expired_before_apply(
    stack, ironic, rfsim, proxy, valence_sim, classes, iso_url
):
    """The reservation runs out between PreviewReserve and Apply: the engine
    reserves again and the server goes ACTIVE."""
    expired = []

    def expire():
        expired.extend(rfsim.expire_reservations())

    proxy.add(
        faultproxy.Rule(
            "POST", COMPOSE_ACTION, body='"Apply"', status=None, on_hit=expire
        )
    )
    got = _create(stack, "rf-expired", "rf-small", iso_url)
    assert got["instance"].status == states.ACTIVE, _fault(got)
    assert expired, "no reservation expired"
    assert_nothing_left(stack, ironic, rfsim, valence_sim, classes)
    assert _delete(stack, got["instance"].uuid)["instance"].status == states.DELETED
    assert_nothing_left(stack, ironic, rfsim, valence_sim, classes)


# -- the fault matrix -------------------------------------------------------------

# case -> (answer mode, Compose action, fault, does the create end ACTIVE,
# the fault's words). A compose is a POST to Systems without the action, an
# Apply of a reservation with it.
CREATE_FAULTS = {
    "compose-500": ("sync", False, {"status": 500}, False, "500"),
    # Blocks taken meanwhile: picked again, up to three times in all.
    "compose-409": ("sync", False, {"status": 409}, True, None),
    "compose-409-thrice": ("sync", False, {"status": 409, "count": 3}, False, "409"),
    # A refused Apply is reserved and applied again.
    "apply-409": ("sync", True, {"status": 409}, True, None),
    "apply-409-thrice": ("sync", True, {"status": 409, "count": 3}, False, "409"),
    "apply-500": ("sync", True, {"status": 500}, False, "500"),
    "compose-500-after-commit": (
        "sync",
        False,
        {"status": 500, "after_commit": True},
        True,
        None,
    ),
    "apply-dropped-after-commit": (
        "sync",
        True,
        {"status": 0, "drop": True, "after_commit": True},
        True,
        None,
    ),
    "task-fails": (
        "async",
        False,
        {"operation": "task", "status": 409, "outcome": "fail"},
        False,
        "task failed",
    ),
    "task-sticks": (
        "async",
        False,
        {"operation": "task", "outcome": "stick"},
        False,
        "did not end within",
    ),
    "monitor-500": (
        "async",
        False,
        # Twice: a read is tried again once. Its task ends anyway: the
        # system is found by its name.
        {"operation": "monitor", "status": 500, "count": 2},
        True,
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(CREATE_FAULTS))
def test_create_fault(case, stack, ironic, rfsim, valence_sim, classes, iso_url):
    mode, action, fault, succeeds, words = CREATE_FAULTS[case]
    rfsim.app.mode = mode
    rfsim.app.compose_action = action
    rfsim.store.forms = ("specific",)
    fault = dict(fault)
    rfsim.inject(fault.pop("operation", "compose"), **fault)
    got = _create(stack, f"rf-{case}", "rf-small", iso_url)
    if succeeds:
        assert got["instance"].status == states.ACTIVE, _fault(got)
        assert len(_visible(rfsim)) == 1
    else:
        assert got["instance"].status == states.ERROR
        message = _fault(got)
        assert message.startswith("compose-node: "), message
        assert words in message, message
    # A compose left behind by a task that never ended is the reconciler's
    # (the instance keeps a marker); everything else is undone at once.
    if case != "task-sticks":
        assert_nothing_left(stack, ironic, rfsim, valence_sim, classes)
    got = _delete(stack, got["instance"].uuid)
    assert got["instance"].status == states.DELETED, _fault(got)
    if case == "task-sticks":
        # The service ends the task late: the system appears, named after
        # the deleted instance; the reconciler releases it.
        with rfsim.store.lock:
            for task in rfsim.store.tasks.values():
                if task.outcome == "stick":
                    task.outcome = "ok"
        _reconcile(stack, rfsim)
    assert_nothing_left(stack, ironic, rfsim, valence_sim, classes)


def _reconcile(stack, rfsim):
    """Run the reconciler as an operator would, until nothing is left."""
    conf = stack["engine"].conf_path
    deadline = time.monotonic() + 60
    while rfsim.state()["systems"]:
        assert time.monotonic() < deadline, rfsim.state()["systems"]
        subprocess.run(
            [
                harness._bin("mogan-valence"),
                "reconcile",
                "--config-file",
                conf,
                "--grace-period",
                "0",
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        time.sleep(0.5)


DELETE_FAULTS = {
    "decompose-500": ("sync", {"operation": "delete", "status": 500}),
    "decompose-task-fails": (
        "async",
        {"operation": "task", "status": 500, "outcome": "fail"},
    ),
}


@pytest.mark.parametrize("case", sorted(DELETE_FAULTS))
def test_delete_fault(case, stack, ironic, rfsim, valence_sim, classes, iso_url):
    mode, fault = DELETE_FAULTS[case]
    got = _create(stack, f"rf-del-{case}", "rf-small", iso_url)
    assert got["instance"].status == states.ACTIVE, _fault(got)
    rfsim.app.mode = mode
    fault = dict(fault)
    rfsim.inject(fault.pop("operation"), **fault)
    got = _delete(stack, got["instance"].uuid)
    assert got["instance"].status == states.ERROR
    assert "release" in _fault(got), _fault(got)
    # The system is still composed, its Ironic node gone: deleting again
    # finishes the job.
    assert len(_visible(rfsim)) == 1
    got = _delete(stack, got["instance"].uuid)
    assert got["instance"].status == states.DELETED, _fault(got)
    assert_nothing_left(stack, ironic, rfsim, valence_sim, classes)


# -- crashes ----------------------------------------------------------------------


def _restart(engine):
    harness.wait_killed(engine)
    return harness.start_again(engine)


# boundary -> (answer mode, Compose action, method, path, body): the engine
# is killed once this request reached the service, before it saw the answer.
CRASHES = {
    # Its reservation is left: the resumed compose gives it back first.
    "during-preview-reserve": (
        "sync",
        True,
        "POST",
        COMPOSE_ACTION,
        '"PreviewReserve"',
    ),
    "during-apply": ("sync", True, "POST", COMPOSE_ACTION, '"Apply"'),
    "during-compose-task": ("async", False, "GET", r"/TaskMonitors/", None),
    "during-decompose": (
        "sync",
        True,
        "DELETE",
        r"^/redfish/v1/Systems/[^/]+$",
        None,
    ),
}


@pytest.mark.parametrize("boundary", sorted(CRASHES))
def test_killed(boundary, stack, ironic, rfsim, proxy, valence_sim, classes, iso_url):
    mode, action, method, path, body = CRASHES[boundary]
    rfsim.app.mode = mode
    rfsim.app.compose_action = action
    engine = stack["engine"]
    api = stack["api"]
    delete = boundary == "during-decompose"
    instance = api.create_instance(CTX, f"rf-kill-{boundary}", "rf-small", iso_url)
    if delete:
        got = harness.wait_status(
            api, instance.uuid, {states.ACTIVE, states.ERROR}, 240
        )
        assert got["instance"].status == states.ACTIVE, _fault(got)
    rule = proxy.add(harness.kill_rule(engine, method, path, body, forward_first=True))
    if delete:
        api.delete_instance(CTX, instance.uuid)
    api = _restart(engine)
    stack["api"] = api
    assert rule.hits == 1
    proxy.clear()
    until = {states.DELETED, states.ERROR} if delete else {states.ACTIVE, states.ERROR}
    got = harness.wait_status(api, instance.uuid, until, 240)
    wanted = states.DELETED if delete else states.ACTIVE
    assert got["instance"].status == wanted, _fault(got)
    assert_nothing_left(stack, ironic, rfsim, valence_sim, classes)
    if not delete:
        assert _delete(stack, instance.uuid)["instance"].status == states.DELETED
        assert_nothing_left(stack, ironic, rfsim, valence_sim, classes)
