"""``mogan-valence demo``: one instance created and deleted end to end.

Everything runs on embedded defaults: a SQLite database and in-process
messaging (``fake://``) for the engine, a real Ironic (standalone,
fake-hardware nodes) and the Valence simulator, started and stopped here.
By default the instance is composed (compose, enroll, deploy; undeploy,
unenroll, release); ``--preset`` runs a pre-set flavor on an existing node
instead. Each step is printed with its duration.
"""

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time

from oslo_config import cfg

from mogan_valence.common import config
from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from mogan_valence.db import api as db_api
from mogan_valence.db import migration
from mogan_valence.engine import manager as manager_mod
from mogan_valence.engine import rpc
from mogan_valence.engine import rpcapi
from mogan_valence.engine import service as service_mod
from mogan_valence.engine import timing
from mogan_valence.ironic import client as ironic_client
from mogan_valence.localstack import ironic as local_ironic
from mogan_valence import objects
from mogan_valence.simulator import server as simulator
from mogan_valence.simulator import state as simulator_state

CONF = cfg.CONF
PRESET_CLASS = "demo-preset"
COMPOSED_CLASS = "demo-composed"
IMAGE = "http://127.0.0.1/images/demo.qcow2"
COMPOSITION = {"cpu_cores": 16, "ram_mib": 65536, "disk_gb": 500, "disk_type": "SSD"}
# What the steps are called on screen.
STEP_NAMES = {
    "compose-node": "compose",
    "enroll-node": "enroll",
    "schedule-create-instance": "schedule",
    "create-instance": "deploy",
}


class Demo:
    def __init__(self, work_dir: str, out=sys.stdout):
        self.work_dir = work_dir
        self.out = out
        self.t0 = time.monotonic()
        self._cleanups: list = []

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", file=self.out, flush=True)

    @contextlib.contextmanager
    def step(self, text: str):
        began = time.monotonic()
        yield
        self.say(f"{text} ({time.monotonic() - began:.2f}s)")

    def cleanup(self) -> None:
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as e:  # noqa: BLE001  (keep tearing down)
                self.say(f"cleanup failed: {e}")

    def configure(self, ironic_url: str, valence_url: str | None) -> None:
        config.parse_args([], log_to_stderr=True)
        CONF.set_override("state_path", self.work_dir)
        CONF.set_override("log_file", os.path.join(self.work_dir, "engine.log"))
        CONF.set_override("use_stderr", False)
        CONF.set_override("host", "demo", group="engine")
        CONF.set_override("auth_type", "none", group="ironic")
        CONF.set_override("endpoint_override", ironic_url, group="ironic")
        CONF.set_override("poll_interval_min", 0.1, group="engine")
        CONF.set_override("poll_interval_max", 1.0, group="engine")
        CONF.set_override("deploy_timeout", 120, group="engine")
        CONF.set_override("undeploy_timeout", 120, group="engine")
        if valence_url:
            CONF.set_override("enabled_extensions", ["valence"], group="engine")
            CONF.set_override("url", valence_url, group="valence")
            CONF.set_override(
                "podm_id", simulator_state.DEFAULT_PODM_UUID, group="valence"
            )
            CONF.set_override("enroll_driver", "fake-hardware", group="valence")
            CONF.set_override("resource_class", COMPOSED_CLASS, group="valence")
        config.setup_logging()

    def run(self, preset: bool = False) -> int:
        self.say(f"working in {self.work_dir}")
        ironic = local_ironic.StandaloneIronic(os.path.join(self.work_dir, "ironic"))
        os.makedirs(ironic.run_dir, exist_ok=True)
        with self.step(f"started Ironic at {ironic.url}"):
            ironic.start()
        self._cleanups.append(ironic.stop)
        sim = None
        if preset:
            with self.step(f"enrolled 2 fake-hardware nodes of class {PRESET_CLASS}"):
                ironic.enroll_fake_nodes(2, PRESET_CLASS, prefix="demo")
        else:
            sim = simulator.Simulator(
                simulator.Options(
                    port=0,
                    systems=4,
                    redfish=False,
                    state_dir=os.path.join(self.work_dir, "valence"),
                )
            )
            with self.step("started the Valence simulator (a pod of 4 systems)"):
                sim.start()
            self._cleanups.append(sim.stop)

        self.configure(ironic.url, sim.url if sim else None)
        objects.register_all()
        with self.step("created the engine database (mogan-valence-dbsync upgrade)"):
            db_api.dispose()
            migration.upgrade()
        engine = service_mod.EngineService(
            manager_mod.EngineManager(ironic_client.IronicClient.from_conf(CONF)),
            transport=rpc.get_transport(CONF, url="fake://"),
        )
        with self.step("started the engine (in-process messaging)"):
            engine.start()
        self._cleanups.append(lambda: engine.stop(graceful_timeout=30))
        api = rpcapi.EngineAPI(transport=engine.transport)
        ctx = mv_context.get_admin_context()

        if preset:
            with self.step(
                f"created flavor demo-preset (resource class {PRESET_CLASS})"
            ):
                flavor = api.create_flavor(
                    ctx, "demo-preset", resources={PRESET_CLASS: 1}
                )
        else:
            with self.step(f"created flavor demo-composed {COMPOSITION}"):
                flavor = api.create_flavor(
                    ctx, "demo-composed", composition=COMPOSITION
                )
        began = time.monotonic()
        instance = api.create_instance(ctx, "demo-server", flavor.name, IMAGE)
        self.say(f"creating instance {instance.uuid}")
        instance, fault = self.wait(
            api, ctx, instance.uuid, {states.ACTIVE, states.ERROR}
        )
        self.print_steps(instance, "create")
        if instance.status != states.ACTIVE:
            self.say(f"instance went to ERROR: {fault.message if fault else '?'}")
            return 1
        self.say(
            f"instance ACTIVE on node {instance.node_uuid} "
            f"({time.monotonic() - began:.2f}s)"
        )

        began = time.monotonic()
        api.delete_instance(ctx, instance.uuid)
        instance, fault = self.wait(
            api, ctx, instance.uuid, {states.DELETED, states.ERROR}
        )
        self.print_steps(instance, "delete")
        if instance.status != states.DELETED:
            self.say(f"delete failed: {fault.message if fault else '?'}")
            return 1
        self.say(f"instance deleted ({time.monotonic() - began:.2f}s)")
        left = [n.uuid for n in ironic.client().node.list(associated=True)]
        if sim is not None:
            left += [
                n.uuid for n in ironic.client().node.list(resource_class=COMPOSED_CLASS)
            ]
            left += [f"valence:{u}" for u in sim.state.nodes]
        if left:
            self.say(f"left behind: {left}")
            return 1
        self.say("done: nothing left composed or enrolled, every node is free")
        return 0

    def wait(self, api, ctx, uuid: str, until: set[str], timeout: float = 300):
        deadline = time.monotonic() + timeout
        interval = 0.1
        while True:
            got = api.get_instance(ctx, uuid)
            if got["instance"].status in until:
                return got["instance"], got["fault"]
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"instance {uuid} still {got['instance'].status} after {timeout}s"
                )
            time.sleep(interval)
            interval = min(interval * 1.5, 1.0)

    def print_steps(self, instance, op: str) -> None:
        for step in (instance.extra or {}).get(timing.STEPS_KEY, []):
            if step["op"] == op:
                name = STEP_NAMES.get(step["step"], step["step"])
                self.say(
                    f"  {op}: {name:<10} {step['seconds']:6.2f}s {step['outcome']}"
                )


def run(args) -> int:
    logging.basicConfig(level=logging.WARNING)
    if not local_ironic.available():
        print(
            "mogan-valence demo needs the 'ironic' package (pip install ironic); "
            "'make demo' installs it.",
            file=sys.stderr,
        )
        return 1
    keep = args.keep_dir
    work_dir = os.path.abspath(keep) if keep else tempfile.mkdtemp(prefix="mogan-demo-")
    os.makedirs(work_dir, exist_ok=True)
    demo = Demo(work_dir)
    try:
        return demo.run(preset=args.preset)
    except Exception as e:  # noqa: BLE001  (report, then tear down)
        demo.say(f"demo failed: {type(e).__name__}: {e} (logs in {work_dir})")
        keep = keep or work_dir
        return 1
    finally:
        demo.cleanup()
        if not keep:
            shutil.rmtree(work_dir, ignore_errors=True)
