"""Run the engine as operators do: a separate process, real Ironic, RabbitMQ."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid as uuidlib

from oslo_config import cfg

from mogan_valence.common import context as mv_context
from mogan_valence.common import polling
from mogan_valence.common import states
from mogan_valence import conf as _conf  # noqa: F401  (registers the options)
from mogan_valence.engine import rpc
from mogan_valence.engine import rpcapi
from mogan_valence.localstack import process
from mogan_valence import objects
from tests import fixtures as mv_fixtures
from tests.functional import faultproxy

objects.register_all()

ENGINE_CONF = """[DEFAULT]
transport_url = {transport_url}
log_file = {work_dir}/engine.log
use_stderr = false
debug = true
state_path = {work_dir}

[database]
connection = {connection}

[engine]
host = {host}
topic = {topic}
poll_interval_min = 0.1
poll_interval_max = 1.0
deploy_timeout = {deploy_timeout}
undeploy_timeout = 120
node_action_timeout = 120
graceful_shutdown_timeout = 10
enabled_extensions = {extensions}
jobboard_backend = {jobboard}
jobboard_expiration_time = {expiry}

[ironic]
auth_type = none
endpoint_override = {ironic_url}
"""


def _bin(name: str) -> str:
    return os.path.join(os.path.dirname(sys.executable), name)


class EngineProcess:
    def __init__(
        self,
        work_dir: str,
        transport_url: str,
        ironic_url: str,
        deploy_timeout: int = 120,
        extensions: str = "",
        extra: str = "",
        connection: str | None = None,
        topic: str | None = None,
        jobboard: str | None = None,
        expiry: int = 30,
    ):
        """:param connection: the database (default: a SQLite file of its own).
        :param topic: the RPC topic (default: one of its own).
        :param jobboard: the ``[engine] jobboard_backend`` of several engines
            sharing ``connection`` and ``topic``; ``expiry`` is their
            ``jobboard_expiration_time``.
        """
        self.work_dir = work_dir
        os.makedirs(work_dir, exist_ok=True)
        self.host = f"engine-{uuidlib.uuid4().hex[:8]}"
        self.topic = topic or f"mogan-valence-test-{self.host}"
        self.jobboard = jobboard or "none"
        self.transport_url = transport_url
        self.conf_path = os.path.join(work_dir, "engine.conf")
        self.connection = connection or f"sqlite:///{work_dir}/engine.sqlite"
        with open(self.conf_path, "w") as f:
            f.write(
                ENGINE_CONF.format(
                    transport_url=transport_url,
                    work_dir=work_dir,
                    host=self.host,
                    topic=self.topic,
                    ironic_url=ironic_url,
                    deploy_timeout=deploy_timeout,
                    extensions=extensions,
                    connection=self.connection,
                    jobboard=self.jobboard,
                    expiry=expiry,
                )
                + extra
            )
        self.proc = process.ServiceProcess(
            "mogan-valence-engine",
            [_bin("mogan-valence-engine"), "--config-file", self.conf_path],
            os.path.join(work_dir, "engine.out"),
        )
        self._api = None

    def dbsync(self) -> None:
        subprocess.run(
            [_bin("mogan-valence-dbsync"), "--config-file", self.conf_path, "upgrade"],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, timeout: float = 60) -> None:
        self.dbsync()
        self.proc.start()
        deadline = time.monotonic() + timeout
        api = self.api(rpc_timeout=2)
        ctx = mv_context.get_admin_context()
        while True:
            if not self.proc.running:
                raise RuntimeError(
                    f"engine exited; see {self.proc.log_path} and "
                    f"{self.work_dir}/engine.log"
                )
            try:
                # Asked of this engine: with a jobboard, a request on the
                # shared topic is answered by whichever engine is up first.
                api.client.prepare(server=self.host, timeout=2).call(
                    ctx, "list_flavors"
                )
                return
            except Exception:  # noqa: BLE001  (not listening yet)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.stop()

    def api(self, rpc_timeout: float = 60) -> rpcapi.EngineAPI:
        """An RPC client of this engine (through the test process's CONF)."""
        conf = cfg.CONF
        if not conf._args:
            conf([], project="mogan-valence-test", default_config_files=[])
        conf.set_override("host", self.host, group="engine")
        conf.set_override("topic", self.topic, group="engine")
        conf.set_override("jobboard_backend", self.jobboard, group="engine")
        transport = rpc.get_transport(conf, url=self.transport_url)
        return rpcapi.EngineAPI(transport=transport, conf=conf, timeout=rpc_timeout)


def valence_section(
    url: str, resource_class: str, driver: str = "fake-hardware", **options
) -> str:
    """The [valence] options of an engine composing from the simulator."""
    lines = [
        f"url = {url}",
        f"podm_id = {mv_fixtures.PODM_ID}",
        f"enroll_driver = {driver}",
        f"resource_class = {resource_class}",
    ]
    lines += [f"{key} = {value}" for key, value in options.items()]
    return "\n[valence]\n" + "\n".join(lines) + "\n"


def composed_engine(
    work, transport_url: str, ironic_url: str, systems: int, prefix, backend="rsd"
):
    """A started engine composing from a simulator of ``systems`` systems
    (of the ``backend`` shape), with a resource class of its own: (engine,
    simulator, resource class). The caller stops both."""
    sim = mv_fixtures.Simulator(str(work / "valence"), systems=systems, backend=backend)
    sim.setUp()
    resource_class = f"{prefix}-{uuidlib.uuid4().hex[:8]}"
    engine = EngineProcess(
        str(work / "engine"),
        transport_url,
        ironic_url,
        extensions="valence",
        extra=valence_section(sim.url, resource_class, retries=0),
    )
    engine.start()
    return engine, sim, resource_class


def assert_nothing_leaked(api, ironic, sim, resource_class: str) -> None:
    """No Valence or Ironic node that an ACTIVE instance does not own."""
    ctx = mv_context.get_admin_context()
    owned = {i.node_uuid for i in api.list_instances(ctx) if i.status == states.ACTIVE}
    leaked_valence = set(sim.state.nodes) - owned
    leaked_ironic = {
        n.uuid for n in ironic.client().node.list(resource_class=resource_class)
    } - owned
    assert not leaked_valence, f"Valence nodes leaked: {leaked_valence}"
    assert not leaked_ironic, f"Ironic nodes leaked: {leaked_ironic}"


def kill_rule(engine, method, path, body=None, forward_first=False):
    """A proxy rule that SIGKILLs the engine's process group (and reaps it)
    when a request matches: once the request reached the service, with
    ``forward_first``; the engine never sees an answer."""

    def kill():
        os.killpg(engine.proc.proc.pid, signal.SIGKILL)
        engine.proc.proc.wait(timeout=30)

    return faultproxy.Rule(
        method,
        path,
        body=body,
        status=None,
        drop=True,
        on_hit=kill,
        forward_first=forward_first,
    )


def wait_killed(engine, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while engine.proc.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not engine.proc.running, "the engine was never killed"


def start_again(engine):
    """Start a killed engine again; an RPC client of it."""
    engine.proc.proc = None
    engine.start()
    return engine.api()


def wait_status(api, uuid: str, until: set[str], timeout: float = 120):
    """The instance's ``get_instance`` answer once its status is in ``until``.

    :raises AssertionError: after ``timeout``, naming the last status.
    """
    ctx = mv_context.get_admin_context()
    try:
        return polling.wait_for_status(
            lambda: api.get_instance(ctx, uuid),
            until,
            status=lambda got: got["instance"].status,
            timeout=timeout,
            what=f"instance {uuid} to be {' or '.join(sorted(until))}",
            interval=0.2,
        )
    except polling.StatusTimeout as e:
        raise AssertionError(str(e)) from None


class ApiProcess:
    """mogan-valence-api in front of an ``EngineProcess``: the same database
    and broker, noauth unless ``extra`` says otherwise."""

    def __init__(self, engine: EngineProcess, extra: str = "", name: str = "api"):
        """:param name: of its files in the engine's directory (several
        APIs may stand in front of one engine)."""
        self.engine = engine
        self.port = process.free_port()
        base = os.path.join(engine.work_dir, name)
        self.conf_path = f"{base}.conf"
        with open(self.conf_path, "w") as f:
            f.write(
                f"[DEFAULT]\ntransport_url = {engine.transport_url}\n"
                f"log_file = {base}.log\nuse_stderr = false\n"
                f"debug = true\n"
                f"[database]\nconnection = {engine.connection}\n"
                f"[engine]\nhost = {engine.host}\ntopic = {engine.topic}\n"
                f"[api]\nhost = 127.0.0.1\nport = {self.port}\n" + extra
            )
        self.proc = process.ServiceProcess(
            "mogan-valence-api",
            [_bin("mogan-valence-api"), "--config-file", self.conf_path],
            f"{base}.out",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 60) -> None:
        self.proc.start()
        self.proc.wait_http(self.url, timeout)

    def stop(self) -> None:
        self.proc.stop()

    def cli(self, *args, check=True, env=None) -> subprocess.CompletedProcess:
        """``mogan-valence --os-endpoint <this API> ARGS``."""
        return cli(*args, endpoint=self.url, check=check, env=env)


def cli(
    *args, endpoint: str | None = None, env=None, check=True, timeout=300
) -> subprocess.CompletedProcess:
    """Run ``mogan-valence ARGS`` (against the API at ``endpoint``, without
    authentication, when given)."""
    argv = [_bin("mogan-valence")]
    if endpoint:
        argv += ["--os-endpoint", endpoint]
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OS_") and k != "MOGAN_VALENCE_API"
    }
    environment.update(env or {})
    result = subprocess.run(
        [*argv, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"mogan-valence {' '.join(args)} failed "
            f"({result.returncode}): {result.stderr}"
        )
    return result


@contextlib.contextmanager
def api_stack(work, transport_url: str, ironic_url: str, prefix: str):
    """A composing engine (2 systems) with a noauth API in front of it:
    ``{"engine", "api", "sim", "class"}``, stopped at the end."""
    engine, sim, composed_class = composed_engine(
        work, transport_url, ironic_url, 2, prefix
    )
    api = ApiProcess(engine)
    try:
        api.start()
        yield {"engine": engine, "api": api, "sim": sim, "class": composed_class}
    finally:
        api.stop()
        engine.stop()
        sim.cleanUp()
