"""``mogan-valence demo``: one server created and deleted end to end,
through the REST API.

It builds the embedded stack (``standalone.EmbeddedStack``: SQLite and
in-process messaging for the engine, the REST API, a real Ironic with
fake-hardware nodes and the Valence simulator), then creates a server and
deletes it over REST, printing each step with its duration, and checks that
nothing is left composed in Valence or enrolled in Ironic. By default
the server is composed (compose, enroll, deploy; undeploy, unenroll,
release); ``--preset`` runs a pre-set flavor on an existing node instead.

``--backend expether`` runs the simulator as an ExpEther pod (servers with
PCIe devices attached); ``--valence-url URL --podm-id ID [--node-inventory
FILE]`` composes with an existing Valence instead of the simulator, with a
composition that fits its pod manager's driver.
"""

import io
import logging
import os
import shutil
import sys
import tempfile
import time

from cliff import command

from mogan_valence.cli import client as cli_client
from mogan_valence.cli import standalone
from mogan_valence.cli import valence_choice
from osc_lib import exceptions as osc_exc

from mogan_valence.common import context as mv_context
from mogan_valence.objects import instance as instance_obj

SERVER = "demo-server"
TIMEOUT = 300.0
# What the steps are called on screen.
STEP_NAMES = {
    "compose-node": "compose",
    "enroll-node": "enroll",
    "schedule-create-instance": "schedule",
    "create-instance": "deploy",
}


def _wait_deleted(client, uuid: str, quiet):
    """Wait until the server is gone (None) or its delete failed (the
    server, in ERROR)."""
    return client.wait_for_server(
        uuid,
        {cli_client.GONE, "error"},
        TIMEOUT,
        f"server {uuid} to be deleted",
        out=quiet,
    )


class DemoRun:
    def __init__(self, work_dir: str, out=sys.stdout):
        self.work_dir = work_dir
        self.out = out
        self.t0 = time.monotonic()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", file=self.out, flush=True)

    def print_steps(self, steps: list[dict], op: str) -> None:
        for step in steps or []:
            if step.get("op") == op:
                name = STEP_NAMES.get(step["step"], step["step"])
                self.say(
                    f"  {op}: {name:<11} {step['seconds']:6.2f}s {step['outcome']}"
                )

    def run(self, stack: standalone.EmbeddedStack, preset: bool) -> int:
        self.say(f"working in {self.work_dir}")
        stack.start()
        client = stack.admin_client()
        flavor = stack.flavors["preset" if preset else "composed"]
        # The progress lines of the waits are this demo's own lines.
        quiet = io.StringIO()

        began = time.monotonic()
        server = client.post(
            "/servers",
            {
                "server": {
                    "name": SERVER,
                    "image_uuid": standalone.EXAMPLE_IMAGE,
                    "flavor_uuid": flavor["uuid"],
                }
            },
        )
        uuid = server["uuid"]
        self.say(f"POST /v1/servers: creating server {uuid} ({flavor['name']})")
        server = client.wait_for_server(
            uuid,
            {"active", "error"},
            TIMEOUT,
            f"server {uuid} to become ACTIVE",
            out=quiet,
        )
        self.print_steps(server.get("steps"), "create")
        if server["status"] != "active":
            fault = (server.get("fault") or {}).get("message", "?")
            self.say(f"server went to ERROR: {fault}")
            self.clean_up(stack, client, uuid, quiet)
            return 1
        # NOTE: the API does not show the node; this process holds the
        # engine's database.
        node = instance_obj.Instance.get(mv_context.get_admin_context(), uuid).node_uuid
        self.say(
            f"server ACTIVE on Ironic node {node} ({time.monotonic() - began:.2f}s)"
        )

        began = time.monotonic()
        client.delete(f"/servers/{uuid}")
        self.say(f"DELETE /v1/servers/{uuid}")
        left = _wait_deleted(client, uuid, quiet)
        if left is not None:
            fault = (left.get("fault") or {}).get("message", "?")
            self.say(f"delete failed: {fault}")
            return 1
        # NOTE: a deleted server is 404 in the API; the timings of its
        # delete steps are read from the engine's database, which this
        # process holds.
        deleted = instance_obj.Instance.get(mv_context.get_admin_context(), uuid)
        self.print_steps((deleted.extra or {}).get("steps"), "delete")
        self.say(f"server deleted ({time.monotonic() - began:.2f}s)")

        left = stack.leftovers([uuid])
        if left:
            self.say(f"left behind: {', '.join(left)}")
            return 1
        if preset:
            self.say("done: nothing left enrolled, every node is free")
        else:
            self.say(
                f"done: nothing left composed or enrolled (no Valence node "
                f"mogan-{uuid}, no Ironic node claimed or marked for the "
                "server), every node is free"
            )
        return 0

    def clean_up(self, stack, client, uuid: str, quiet) -> None:
        """After a failed create: delete the server (its teardown is
        idempotent) and say what, if anything, is still left."""
        try:
            client.delete(f"/servers/{uuid}")
            _wait_deleted(client, uuid, quiet)
            left = stack.leftovers([uuid])
        except Exception as e:  # noqa: BLE001  (report; the stack stops next)
            self.say(f"cleaning up: {type(e).__name__}: {e}")
            return
        self.say(f"left behind: {', '.join(left)}" if left else "nothing left behind")


class Demo(command.Command):
    """Create and delete a server end to end on the embedded stack.

    Everything goes through the REST API; the stack (SQLite, in-process
    messaging, a local Ironic and the Valence simulator) is started and
    stopped here.
    """

    auth_required = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--preset",
            action="store_true",
            help="Use a pre-set flavor (an existing fake-hardware node) instead "
            "of a composed one.",
        )
        valence_choice.add_valence_arguments(parser)
        parser.add_argument(
            "--keep-dir",
            metavar="DIR",
            help="Work in DIR and keep it (logs) afterwards.",
        )
        return parser

    def take_action(self, parsed_args):
        logging.getLogger().setLevel(logging.WARNING)
        if parsed_args.preset and (parsed_args.valence_url or parsed_args.backend):
            raise osc_exc.CommandError(
                "--preset deploys on an existing node and composes nothing: "
                "leave out --backend and --valence-url"
            )
        valence = valence_choice.valence_arguments(parsed_args)
        keep = parsed_args.keep_dir
        work_dir = (
            os.path.abspath(keep) if keep else tempfile.mkdtemp(prefix="mogan-demo-")
        )
        os.makedirs(work_dir, exist_ok=True)
        demo = DemoRun(work_dir, out=self.app.stdout)
        stack = standalone.EmbeddedStack(
            work_dir,
            demo.say,
            composed=not parsed_args.preset,
            preset_nodes=2 if parsed_args.preset else 0,
            **valence,
        )
        try:
            # An unusable Valence is one line, before anything starts.
            stack.check_valence()
        except valence_choice.ValenceUnusable:
            if not keep:
                shutil.rmtree(work_dir, ignore_errors=True)
            raise
        try:
            return demo.run(stack, preset=parsed_args.preset)
        except Exception as e:  # noqa: BLE001  (report, then tear down)
            demo.say(f"demo failed: {type(e).__name__}: {e} (logs in {work_dir})")
            keep = keep or work_dir
            return 1
        finally:
            stack.stop()
            if not keep:
                shutil.rmtree(work_dir, ignore_errors=True)
