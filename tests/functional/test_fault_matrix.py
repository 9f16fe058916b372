"""The fault matrix: each step of create and of delete, times each kind of
fault, gives a known end state, and never leaves a node behind.

Both Ironic and Valence sit behind fault-injecting proxies; each case fails
one request. The engine runs with short client timeouts and no Valence
retries. What each case must end in:

- an HTTP 500 from either service fails the step: ERROR, with a fault naming
  it, and everything done so far undone;
- a timeout or a dropped connection on the way to Ironic is retried by
  python-ironicclient (it retries connection failures), so the operation
  succeeds;
- the same on the way to Valence fails the step: a compose is never retried
  (it is looked up by name, and the dropped one never arrived), and this
  engine runs with ``[valence] retries = 0``;
- a failed delete leaves ERROR with the step named, and deleting again
  finishes the job.

Every case runs against the simulator's ``rsd`` backend; against its
``expether`` backend, the steps that talk to Valence: the compose (the
server alone), the attach of a device, and the release.
"""

import uuid as uuidlib

import pytest
import requests

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from tests import fixtures as mv_fixtures
from tests.functional import faultproxy
from tests.functional import harness

CTX = mv_context.get_admin_context()
COMPOSITION = {"cpu_cores": 4, "ram_mib": 8192}
IMAGE = "http://127.0.0.1/img.qcow2"
CLIENT_TIMEOUT = 3
PROVISION = r"^/v1/nodes/[^/]+/states/provision$"

# kind -> rule arguments. A timeout holds the request past the client's
# timeout and then drops it: the service never sees it.
KINDS = {
    "http-500": {"status": 500},
    "timeout": {"status": None, "delay": CLIENT_TIMEOUT + 2, "drop": True},
    "connection-refused": {"status": None, "drop": True},
}

# step -> (which proxy, method, path, body, the task named in the fault)
CREATE_STEPS = {
    "compose": ("valence", "POST", r"^/v1/nodes/?$", None, "compose-node"),
    "node-create": ("ironic", "POST", r"^/v1/nodes/?$", None, "enroll-node"),
    "port-create": ("ironic", "POST", r"^/v1/ports/?$", None, "enroll-node"),
    "manage": ("ironic", "PUT", PROVISION, '"manage"', "enroll-node"),
    "provide": ("ironic", "PUT", PROVISION, '"provide"', "enroll-node"),
    "deploy": ("ironic", "PUT", PROVISION, '"active"', "create-instance"),
}
DELETE_STEPS = {
    "undeploy": ("ironic", "PUT", PROVISION, '"deleted"'),
    "unenroll": ("ironic", "DELETE", r"^/v1/nodes/[^/]+$", None),
    "release": ("valence", "DELETE", r"^/v1/nodes/[^/]+$", None),
}
ATTACH = ("valence", "POST", r"^/v1/nodes/[^/]+/action$", None, "compose-node")
# backend -> (its composition, its create steps, its delete steps)
BACKENDS = {
    "rsd": (COMPOSITION, CREATE_STEPS, DELETE_STEPS),
    "expether": (
        {"pci_devices": ["NIC"]},  # one per server: every server can be composed
        {"compose": CREATE_STEPS["compose"], "attach": ATTACH},
        {"release": DELETE_STEPS["release"]},
    ),
}


def pytest_generate_tests(metafunc):
    """Each test once per backend (module-scoped stacks), with the steps
    of that backend."""
    if "backend" not in metafunc.fixturenames:
        return
    if "step" in metafunc.fixturenames:
        which = 1 if metafunc.function.__name__ == "test_create" else 2
        cases = [
            (backend, step, kind)
            for backend, steps in BACKENDS.items()
            for step in sorted(steps[which])
            for kind in sorted(KINDS)
        ]
        metafunc.parametrize(
            ("backend", "step", "kind"), cases, indirect=["backend"], scope="module"
        )
    else:
        metafunc.parametrize("backend", sorted(BACKENDS), indirect=True, scope="module")


@pytest.fixture(scope="module")
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def sim(tmp_path_factory, backend):
    with mv_fixtures.running_simulator(
        str(tmp_path_factory.mktemp("valence")), systems=3, backend=backend
    ) as fixture:
        yield fixture


@pytest.fixture(scope="module")
def proxies(ironic, sim):
    made = {
        "ironic": faultproxy.FaultProxy(ironic.url).start(),
        "valence": faultproxy.FaultProxy(sim.url).start(),
    }
    yield made
    for proxy in made.values():
        proxy.stop()


@pytest.fixture(scope="module")
def composed_class():
    return f"matrix-{uuidlib.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def api(tmp_path_factory, transport_url, proxies, composed_class, backend):
    extra = (
        harness.valence_section(
            proxies["valence"].url,
            composed_class,
            retries=0,
            read_timeout=CLIENT_TIMEOUT,
            connect_timeout=CLIENT_TIMEOUT,
        )
        + f"\n[ironic]\ntimeout = {CLIENT_TIMEOUT}\n"
    )
    proc = harness.EngineProcess(
        str(tmp_path_factory.mktemp("engine")),
        transport_url,
        proxies["ironic"].url,
        extensions="valence",
        extra=extra,
    )
    proc.start()
    client = proc.api()
    client.create_flavor(CTX, "matrix", composition=BACKENDS[backend][0])
    yield client
    proc.stop()


@pytest.fixture(autouse=True)
def clean_faults(proxies, sim):
    for proxy in proxies.values():
        proxy.clear()
    requests.delete(f"{sim.url}/admin/faults", timeout=10)
    yield
    for proxy in proxies.values():
        proxy.clear()


def succeeds(step: tuple, kind: str) -> bool:
    return step[0] == "ironic" and kind in ("timeout", "connection-refused")


def _rule(proxies, step, kind):
    where, method, path, body = step[:4]
    return proxies[where].add(
        faultproxy.Rule(method, path, body=body, count=1, **KINDS[kind])
    )


def test_create(backend, step, kind, api, proxies, ironic, sim, composed_class):
    steps = BACKENDS[backend][1]
    rule = _rule(proxies, steps[step], kind)
    instance = api.create_instance(CTX, f"{step}-{kind}", "matrix", IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert rule.hits == 1, f"the fault never hit {step}"
    if succeeds(steps[step], kind):
        assert got["instance"].status == states.ACTIVE, got["fault"].message
    else:
        assert got["instance"].status == states.ERROR
        task = steps[step][4]
        assert got["fault"].message.startswith(f"{task}: "), got["fault"].message
    harness.assert_nothing_leaked(api, ironic, sim, composed_class)
    api.delete_instance(CTX, instance.uuid)
    assert (
        harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})[
            "instance"
        ].status
        == states.DELETED
    )
    harness.assert_nothing_leaked(api, ironic, sim, composed_class)


def test_create_no_capacity(backend, api, ironic, sim, composed_class):
    held = []
    if backend == "rsd":
        requests.post(
            f"{sim.url}/admin/faults",
            json={"operation": "compose", "status": 409},
            timeout=10,
        )
        words = "no computer systems available"
    else:
        # The real thing: every server composed, as Valence's driver says.
        for n in range(len(sim.sim.pod.systems)):
            held.append(api.create_instance(CTX, f"fill-{n}", "matrix", IMAGE))
        for instance in held:
            got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
            assert got["instance"].status == states.ACTIVE, got["fault"].message
        words = "Node not available"
    instance = api.create_instance(CTX, "no-capacity", "matrix", IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ERROR
    assert words in got["fault"].message
    harness.assert_nothing_leaked(api, ironic, sim, composed_class)
    for instance in held:
        api.delete_instance(CTX, instance.uuid)
    for instance in held:
        got = harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})
        assert got["instance"].status == states.DELETED, got["fault"].message
    harness.assert_nothing_leaked(api, ironic, sim, composed_class)


def test_delete(backend, step, kind, api, proxies, ironic, sim, composed_class):
    steps = BACKENDS[backend][2]
    instance = api.create_instance(CTX, f"del-{step}-{kind}", "matrix", IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ACTIVE, (
        got["fault"] and got["fault"].message
    )
    rule = _rule(proxies, steps[step], kind)
    api.delete_instance(CTX, instance.uuid)
    got = harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})
    assert rule.hits == 1, f"the fault never hit {step}"
    if succeeds(steps[step], kind):
        assert got["instance"].status == states.DELETED, got["fault"].message
        harness.assert_nothing_leaked(api, ironic, sim, composed_class)
        return
    assert got["instance"].status == states.ERROR
    assert got["fault"].message.startswith(f"{step}: "), got["fault"].message
    # What the failed delete left is still owned by the instance (in ERROR):
    # nothing was released that Ironic still holds.
    node = got["instance"].node_uuid
    if step != "release":
        assert node in sim.state.nodes
    api.delete_instance(CTX, instance.uuid)
    got = harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})
    assert got["instance"].status == states.DELETED, got["fault"].message
    harness.assert_nothing_leaked(api, ironic, sim, composed_class)
