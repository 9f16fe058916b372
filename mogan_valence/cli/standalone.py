"""``mogan-valence standalone``: the embedded stack, kept up for a newcomer.

One process runs the engine (SQLite, in-process messaging) and the REST API
(cheroot in a thread), with a real local Ironic (fake-hardware nodes) and
the Valence simulator (``--backend rsd|expether``), or an existing Valence
(``--valence-url URL --podm-id ID [--node-inventory FILE]``);
``--auth keystone`` adds a real local Keystone. The first line on standard
output is ``MOGAN_VALENCE_API=<url>``; everything else goes to standard
error. SIGINT or SIGTERM tears it all down.

``EmbeddedStack`` is the one place that builds this stack: the demo runs
on it too.
"""

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

from cheroot import wsgi
from cliff import command
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from oslo_config import cfg
from osc_lib import exceptions as osc_exc

from mogan_valence.api import app as api_app
from mogan_valence.cli import client as client_mod
from mogan_valence.cli import valence_choice
from mogan_valence.common import config
from mogan_valence.common import secrets
from mogan_valence.db import api as db_api
from mogan_valence.db import migration
from mogan_valence.engine import manager as manager_mod
from mogan_valence.engine import rpc
from mogan_valence.engine import rpcapi
from mogan_valence.engine import service as service_mod
from mogan_valence.ironic import client as ironic_client
from mogan_valence.localstack import ironic as local_ironic
from mogan_valence.localstack import process
from mogan_valence import objects
from mogan_valence.simulator import server as simulator
from mogan_valence.simulator import state as simulator_state
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import enrollment
from mogan_valence.valence import expether

CONF = cfg.CONF
COMPOSED_CLASS = "standalone-composed"
PRESET_CLASS = "standalone-preset"
COMPOSED_FLAVOR = "composed.small"
PRESET_FLAVOR = "preset.small"
# fake-hardware never downloads it; the API refuses loopback hosts.
EXAMPLE_IMAGE = "http://images.example.com/demo.qcow2"
DEMO_PROJECT = "demo"
DEMO_USER = "demo"

_CONF = """[DEFAULT]
state_path = {work_dir}
log_file = {work_dir}/mogan-valence.log
use_stderr = false
transport_url = fake://

[engine]
host = standalone
enabled_extensions = {extensions}
poll_interval_min = 0.1
poll_interval_max = 1.0
deploy_timeout = 120
undeploy_timeout = 120

[ironic]
auth_type = none
endpoint_override = {ironic_url}

[api]
host = 127.0.0.1
port = {port}
auth_strategy = {auth}
"""

_VALENCE = """
[valence]
url = {url}
podm_id = {podm_id}
enroll_driver = {enroll_driver}
resource_class = {resource_class}
"""


def write_private(path: str, text: str) -> None:
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(text)


class EmbeddedStack:
    """Ironic, the Valence simulator (or an existing Valence), Keystone
    (optionally), the engine and the REST API, all on loopback under
    ``work_dir``.

    :param say: prints one progress line (the demo's and standalone's own
        output).
    :param composed: compose through Valence and make a composed flavor.
    :param preset_nodes: fake-hardware nodes to enroll for a pre-set
        flavor (0: no pre-set flavor).
    :param auth: "noauth" or "keystone".
    :param backend: the embedded simulator's driver, ``rsd`` or
        ``expether``; in expether mode the stack writes the simulator's
        host inventory and points ``[valence] node_inventory`` at it.
    :param valence_url: an existing Valence to compose with instead of the
        simulator (``podm_id`` required; the pod manager is read before
        anything starts).
    :param node_inventory: with ``valence_url``, the operator's inventory
        of ExpEther hosts (``[valence] node_inventory``; the enroll driver
        then comes from its entries).
    """

    def __init__(
        self,
        work_dir: str,
        say,
        composed: bool = True,
        preset_nodes: int = 2,
        systems: int = 4,
        port: int | None = None,
        auth: str = "noauth",
        backend: str = expether.RSD,
        valence_url: str | None = None,
        podm_id: str | None = None,
        node_inventory: str | None = None,
    ):
        self.work_dir = work_dir
        self.say = say
        self.composed = composed
        self.preset_nodes = preset_nodes
        self.systems = systems
        self.port = port or process.free_port()
        self.auth = auth
        self.backend = backend
        self.valence_url = valence_url
        self.podm_id = podm_id or (
            None if valence_url else simulator_state.DEFAULT_PODM_UUID
        )
        self.node_inventory = (
            os.path.abspath(node_inventory) if node_inventory else None
        )
        # The node shape of the pod manager: the backend, or what an
        # existing Valence says of its pod manager.
        self.shape = expether.RSD if valence_url else backend
        self.composition = valence_choice.composition_for(self.shape)
        self.valence = None
        self._checked = False
        self.ironic = None
        self.sim = None
        self.keystone = None
        self.engine = None
        self.flavors: dict[str, dict] = {}
        self._server = None
        self._thread = None
        self._cleanups: list = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def step(self, text: str, fn, *args, **kwargs):
        began = time.monotonic()
        result = fn(*args, **kwargs)
        self.say(f"{text} ({time.monotonic() - began:.2f}s)")
        return result

    def start(self) -> None:
        """Start everything; on failure, stop what was started and raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    @property
    def enroll_driver(self) -> str:
        """``[valence] enroll_driver``: the inventory's entries decide when
        there is one (redfish for a host that none names); else
        fake-hardware, as the embedded stack always enrolled."""
        if self.node_inventory or (
            self.sim is not None and self.shape == expether.EXPETHER
        ):
            return "redfish"
        return "fake-hardware"

    def check_valence(self) -> None:
        """With an existing Valence: its pod manager (and so the node shape
        and the demo's composition), and the inventory, before anything
        starts.

        :raises valence_choice.ValenceUnusable: one line naming what is wrong.
        """
        if not (self.composed and self.valence_url) or self._checked:
            return
        if self.node_inventory:
            valence_choice.read_inventory(self.node_inventory)
        podm = valence_choice.check_valence(self.valence_url, self.podm_id)
        self.shape = expether.shape_of(podm)
        self.composition = valence_choice.composition_for(self.shape)
        if self.node_inventory and self.shape != expether.EXPETHER:
            raise valence_choice.ValenceUnusable(
                f"--node-inventory lists ExpEther hosts, but pod manager "
                f"{self.podm_id} has driver {podm.get('driver') or 'redfishv1'}: "
                "its composed systems are enrolled as fake-hardware nodes here; "
                "leave --node-inventory out"
            )
        self._checked = True
        self.say(
            f"Valence at {secrets.mask_url_credentials(self.valence_url)}: pod "
            f"manager {self.podm_id} ({podm.get('name') or 'no name'}, driver "
            f"{podm.get('driver') or 'redfishv1'}: {self.shape} nodes)"
        )

    def _start(self) -> None:
        if not local_ironic.available():
            raise osc_exc.CommandError(
                "the embedded stack needs the 'ironic' package (pip install "
                "ironic); 'make demo' installs it"
            )
        # Nothing is started before an unusable Valence is refused.
        self.check_valence()
        self.ironic = local_ironic.StandaloneIronic(
            os.path.join(self.work_dir, "ironic")
        )
        os.makedirs(self.ironic.run_dir, exist_ok=True)
        self._cleanups.append(self.ironic.stop)
        self.step(f"started Ironic at {self.ironic.url}", self.ironic.start)
        if self.preset_nodes:
            self.step(
                f"enrolled {self.preset_nodes} fake-hardware nodes of class "
                f"{PRESET_CLASS}",
                self.ironic.enroll_fake_nodes,
                self.preset_nodes,
                PRESET_CLASS,
                prefix="preset",
            )
        if self.composed and not self.valence_url:
            self.sim = simulator.Simulator(
                simulator.Options(
                    port=0,
                    systems=self.systems,
                    redfish=False,
                    state_dir=os.path.join(self.work_dir, "valence"),
                    backend=self.backend,
                )
            )
            self._cleanups.append(self.sim.stop)
            self.step(
                f"started the Valence simulator ({self.backend} backend, a pod "
                f"of {self.systems} systems)",
                self.sim.start,
            )
            if self.shape == expether.EXPETHER:
                self.node_inventory = os.path.join(self.work_dir, "inventory.json")
                entries = valence_choice.inventory_entries(self.sim.inventory())
                write_private(self.node_inventory, json.dumps(entries, indent=1))
                self.say(
                    f"wrote the inventory of {len(entries)} ExpEther hosts "
                    f"({valence_choice.EMBEDDED_HOST_DRIVER}) to {self.node_inventory}"
                )
        if self.composed:
            self.valence = valence_client.ValenceClient(
                self.sim.url if self.sim is not None else self.valence_url,
                connect_timeout=5.0,
                read_timeout=30.0,
                retries=1,
            )
        if self.auth == "keystone":
            self.step("started Keystone", self._start_keystone)

        self._configure()
        objects.register_all()
        db_api.dispose()
        self.step(
            "created the database (mogan-valence-dbsync upgrade)", migration.upgrade
        )
        self.engine = service_mod.EngineService(
            manager_mod.EngineManager(ironic_client.IronicClient.from_conf(CONF)),
            transport=rpc.get_transport(CONF, url="fake://"),
        )
        self._cleanups.append(lambda: self.engine.stop(graceful_timeout=30))
        self.step("started the engine (in-process messaging)", self.engine.start)
        self.step(f"started the REST API at {self.api_url}", self._start_api)
        self._create_flavors()

    def _start_keystone(self) -> None:
        from mogan_valence.localstack import keystone as local_keystone

        if not local_keystone.available():
            raise osc_exc.CommandError(
                "--auth keystone needs the 'keystone' package (pip install keystone)"
            )
        self.keystone = local_keystone.LocalKeystone(
            os.path.join(self.work_dir, "keystone")
        )
        os.makedirs(self.keystone.run_dir, exist_ok=True)
        self._cleanups.append(self.keystone.stop)
        self.keystone.start()
        self.keystone.seed(
            ["service", DEMO_PROJECT],
            {"mogan": ("service", "service"), DEMO_USER: (DEMO_PROJECT, "member")},
        )
        admin = self.keystone.session()
        identity = {"service_type": "identity", "interface": "public"}
        service = admin.post(
            "/services",
            json={"service": {"type": client_mod.SERVICE_TYPE, "name": "mogan"}},
            endpoint_filter=identity,
        ).json()["service"]["id"]
        for interface in ("public", "internal"):
            admin.post(
                "/endpoints",
                json={
                    "endpoint": {
                        "service_id": service,
                        "interface": interface,
                        "region_id": "RegionOne",
                        "url": self.api_url,
                    }
                },
                endpoint_filter=identity,
            )

    def _configure(self) -> None:
        text = _CONF.format(
            work_dir=self.work_dir,
            extensions="valence" if self.composed else "",
            ironic_url=self.ironic.url,
            port=self.port,
            auth=self.auth,
        )
        if self.composed:
            text += _VALENCE.format(
                url=self.sim.url if self.sim is not None else self.valence_url,
                podm_id=self.podm_id,
                enroll_driver=self.enroll_driver,
                resource_class=COMPOSED_CLASS,
            )
            if self.node_inventory:
                text += f"node_inventory = {self.node_inventory}\n"
        if self.keystone is not None:
            text += self.keystone.authtoken_section()
        path = os.path.join(self.work_dir, "mogan-valence.conf")
        write_private(path, text)
        config.parse_args([f"--config-file={path}"])
        config.setup_logging()

    def _start_api(self) -> None:
        application = api_app.build_wsgi_app(
            CONF, rpcapi.EngineAPI(transport=self.engine.transport)
        )
        self._server = wsgi.Server(
            ("127.0.0.1", self.port),
            application,
            numthreads=8,
            server_name="mogan-valence-api",
        )
        self._server.prepare()
        self._thread = threading.Thread(
            target=self._server.serve, name="mogan-valence-api", daemon=True
        )
        self._thread.start()
        self._cleanups.append(self._stop_api)

    def _stop_api(self) -> None:
        self._server.stop()
        self._thread.join(timeout=10)

    def admin_client(self) -> client_mod.ApiClient:
        """An API client with an admin's rights."""
        if self.keystone is not None:
            session = self.keystone.session()
        else:
            session = ks_session.Session(auth=noauth.NoAuth())
        return client_mod.ApiClient(session, endpoint=self.api_url)

    def _create_flavors(self) -> None:
        client = self.admin_client()
        if self.composed:
            self.flavors["composed"] = self.step(
                f"created flavor {COMPOSED_FLAVOR} {self.composition}",
                client.post,
                "/flavors",
                {
                    "name": COMPOSED_FLAVOR,
                    "description": "composed by Valence for each server",
                    "composition": self.composition,
                },
            )
        if self.preset_nodes:
            self.flavors["preset"] = self.step(
                f"created flavor {PRESET_FLAVOR} (resource class {PRESET_CLASS})",
                client.post,
                "/flavors",
                {
                    "name": PRESET_FLAVOR,
                    "description": "an existing fake-hardware node",
                    "resources": {PRESET_CLASS: 1},
                },
            )

    def leftovers(self, instance_uuids=()) -> list[str]:
        """What is still composed or enrolled for the servers
        ``instance_uuids`` (or for any server): Ironic nodes claimed, marked
        for a server, of the composed class, or not back to available;
        Valence nodes named ``mogan-<instance uuid>`` (and, in the
        simulator, any node at all)."""
        client = self.ironic.client()
        left = []
        fields = ["uuid", "instance_uuid", "extra", "provision_state", "resource_class"]
        for node in client.node.list(fields=fields, limit=0):
            marker = enrollment.marker_of({"extra": node.extra})
            if node.instance_uuid:
                left.append(f"ironic:{node.uuid} (claimed by {node.instance_uuid})")
            elif marker:
                left.append(
                    f"ironic:{node.uuid} (marked for {marker.get('instance_uuid')})"
                )
            elif node.resource_class == COMPOSED_CLASS:
                left.append(f"ironic:{node.uuid} (enrolled for a server)")
            elif node.provision_state != "available":
                left.append(f"ironic:{node.uuid} ({node.provision_state})")
        if self.valence is not None:
            for uuid in instance_uuids:
                name = f"mogan-{uuid}"
                left += [
                    f"valence:{n['uuid']} ({name})"
                    for n in self.valence.find_nodes_by_name(name, self.podm_id)
                ]
        if self.sim is not None:
            known = {item.split(" ")[0] for item in left}
            left += [
                f"valence:{u}"
                for u in self.sim.state.nodes
                if f"valence:{u}" not in known
            ]
        return left

    def stop(self) -> None:
        """Stop everything started, last first; never raises."""
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001  (keep tearing down)
                self.say(f"teardown: {type(e).__name__}: {e}")


def stderr_say(t0: float):
    def say(text: str) -> None:
        print(f"[{time.monotonic() - t0:6.1f}s] {text}", file=sys.stderr, flush=True)

    return say


class Standalone(command.Command):
    """Run the whole service on this machine until interrupted.

    A real local Ironic, the Valence simulator (--backend rsd|expether) or
    an existing Valence (--valence-url, --podm-id, --node-inventory), the
    engine and the REST API (noauth, or behind a local Keystone with --auth
    keystone). The first line on standard output is MOGAN_VALENCE_API=<url>.
    """

    auth_required = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--port",
            type=int,
            metavar="PORT",
            help="The API's port on 127.0.0.1 (default: a free one).",
        )
        parser.add_argument(
            "--auth",
            choices=["noauth", "keystone"],
            default="noauth",
            help="noauth (the default): every request acts as an admin. "
            "keystone: also start a local Keystone with a demo project and "
            "user, and require its tokens.",
        )
        parser.add_argument(
            "--systems",
            type=int,
            default=4,
            metavar="N",
            help="Systems in the simulated pod (default 4).",
        )
        valence_choice.add_valence_arguments(parser)
        parser.add_argument(
            "--keep-dir",
            metavar="DIR",
            help="Work in DIR and keep it (logs, databases) after the stop; "
            "by default a temporary directory is removed.",
        )
        return parser

    def take_action(self, parsed_args):
        valence = valence_choice.valence_arguments(parsed_args)
        stop = threading.Event()
        previous = {
            signum: signal.signal(signum, lambda *_: stop.set())
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        keep = self._keep = parsed_args.keep_dir
        work_dir = (
            os.path.abspath(keep)
            if keep
            else tempfile.mkdtemp(prefix="mogan-valence-standalone-")
        )
        os.makedirs(work_dir, exist_ok=True)
        say = stderr_say(time.monotonic())
        stack = EmbeddedStack(
            work_dir,
            say,
            systems=parsed_args.systems,
            port=parsed_args.port,
            auth=parsed_args.auth,
            **valence,
        )
        try:
            try:
                stack.start()
            except valence_choice.ValenceUnusable:
                raise
            except Exception as e:  # noqa: BLE001  (report, then tear down)
                raise osc_exc.CommandError(
                    f"the stack did not start: {type(e).__name__}: {e}"
                    + (f" (logs in {work_dir})" if keep else "")
                ) from None
            if not stop.is_set():
                print(f"MOGAN_VALENCE_API={stack.api_url}", flush=True)
                self._introduce(stack, work_dir)
                while not stop.wait(1.0):
                    if not stack.ironic.proc.running:
                        raise osc_exc.CommandError(
                            f"Ironic stopped; see {stack.ironic.log_path}"
                        )
            say("stopping")
        finally:
            stack.stop()
            if not keep:
                shutil.rmtree(work_dir, ignore_errors=True)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        say("stopped: nothing left running")
        return 0

    def _introduce(self, stack: EmbeddedStack, work_dir: str) -> None:
        err = sys.stderr
        kept = "kept" if self._keep else "removed at the stop; --keep-dir keeps them"
        print(
            f"\nmogan-valence standalone is up (logs in {work_dir}, {kept}).",
            file=err,
        )
        print("Flavors ready to use:", file=err)
        if "composed" in stack.flavors:
            print(f"  {COMPOSED_FLAVOR}  composed: {stack.composition}", file=err)
        if "preset" in stack.flavors:
            print(
                f"  {PRESET_FLAVOR}    pre-set: {stack.preset_nodes} "
                f"fake-hardware nodes of class {PRESET_CLASS}",
                file=err,
            )
        print("Try:", file=err)
        if stack.keystone is not None:
            print(
                f"  export OS_AUTH_URL={stack.keystone.url} OS_AUTH_TYPE=password "
                f"OS_USERNAME={DEMO_USER} OS_PASSWORD={DEMO_USER}pw "
                f"OS_PROJECT_NAME={DEMO_PROJECT} OS_USER_DOMAIN_ID=default "
                "OS_PROJECT_DOMAIN_ID=default",
                file=err,
            )
            print(
                f"  (a member of project {DEMO_PROJECT}; the admin is "
                "OS_USERNAME=admin OS_PASSWORD=adminpw OS_PROJECT_NAME=admin)",
                file=err,
            )
        else:
            print(f"  export MOGAN_VALENCE_API={stack.api_url}", file=err)
        print(
            f"  mogan-valence server create web-1 --flavor {COMPOSED_FLAVOR} "
            f"--image {EXAMPLE_IMAGE} --wait",
            file=err,
        )
        print("  mogan-valence server list", file=err)
        print("  mogan-valence server delete web-1 --wait", file=err)
        print("Stop with Ctrl-C or SIGTERM: everything started goes away.\n", file=err)
        err.flush()
