"""``mogan-valence demo``: one instance created and deleted end to end.

Everything runs on embedded defaults: a SQLite database and in-process
messaging (``fake://``) for the engine, and a real Ironic (standalone,
fake-hardware nodes) started and stopped here. Each step is printed with
its duration.
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

CONF = cfg.CONF
PRESET_CLASS = "demo-preset"
IMAGE = "http://127.0.0.1/images/demo.qcow2"


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

    def configure(self, ironic_url: str) -> None:
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
        config.setup_logging()

    def run(self) -> int:
        self.say(f"working in {self.work_dir}")
        ironic = local_ironic.StandaloneIronic(os.path.join(self.work_dir, "ironic"))
        os.makedirs(ironic.run_dir, exist_ok=True)
        with self.step(f"started Ironic at {ironic.url}"):
            ironic.start()
        self._cleanups.append(ironic.stop)
        with self.step(f"enrolled 2 fake-hardware nodes of class {PRESET_CLASS}"):
            ironic.enroll_fake_nodes(2, PRESET_CLASS, prefix="demo")

        self.configure(ironic.url)
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

        with self.step(f"created flavor demo-preset (resource class {PRESET_CLASS})"):
            flavor = api.create_flavor(ctx, "demo-preset", resources={PRESET_CLASS: 1})
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
        if left:
            self.say(f"nodes still associated with an instance: {left}")
            return 1
        self.say("done: every node is free again")
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
                self.say(
                    f"  {op}: {step['step']:<32} {step['seconds']:6.2f}s "
                    f"{step['outcome']}"
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
        return demo.run()
    except Exception as e:  # noqa: BLE001  (report, then tear down)
        demo.say(f"demo failed: {type(e).__name__}: {e} (logs in {work_dir})")
        keep = keep or work_dir
        return 1
    finally:
        demo.cleanup()
        if not keep:
            shutil.rmtree(work_dir, ignore_errors=True)
