"""mogan-valence: flavors and instances through the engine's RPC API."""

import argparse
import json
import sys
import time

import oslo_messaging as messaging
from oslo_config import cfg

from mogan_valence.cli import output
from mogan_valence.common import context as mv_context
from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence import conf as _conf  # noqa: F401  (registers the options)
from mogan_valence.engine import rpcapi
from mogan_valence import objects
from mogan_valence import version

CONF = cfg.CONF

FLAVOR_COLUMNS = ["uuid", "name", "resources", "composition", "is_public", "disabled"]
INSTANCE_COLUMNS = ["uuid", "name", "status", "flavor_uuid", "node_uuid", "composed"]


class CommandError(Exception):
    pass


def parse_composition(values: list[str]) -> dict | None:
    """``--composition '{"cpu_cores": 4}'`` or ``--composition cpu_cores=4 ...``."""
    if not values:
        return None
    if len(values) == 1 and values[0].lstrip().startswith("{"):
        try:
            parsed = json.loads(values[0])
        except ValueError as e:
            raise CommandError(f"--composition is not valid JSON: {e}") from e
        return parsed
    result: dict = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise CommandError(f"--composition expects KEY=VALUE, got {item!r}")
        if raw.startswith("[") or raw.lstrip("-").isdigit():
            try:
                result[key] = json.loads(raw)
                continue
            except ValueError:
                pass
        result[key] = raw
    return result


def _pairs(values: list[str], what: str) -> dict:
    result = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        if not key:
            raise CommandError(f"{what} expects NAME or NAME=VALUE, got {item!r}")
        result[key] = raw if sep else None
    return result


def _flavor_row(flavor) -> dict:
    return flavor.as_dict()


def _instance_row(instance, fault=None) -> dict:
    row = instance.as_dict()
    if fault is not None:
        row["fault"] = fault.message
    return row


class Shell:
    def __init__(
        self, api: rpcapi.EngineAPI, fmt: str = "table", out=sys.stdout, err=sys.stderr
    ):
        self.api = api
        self.fmt = fmt
        self.out = out
        self.err = err
        self.ctx = mv_context.get_admin_context()

    # -- flavors -------------------------------------------------------------

    def flavor_create(self, args):
        resources = {rc: 1 for rc in (args.resource or [])}
        traits = {t: "required" for t in (args.trait or [])}
        flavor = self.api.create_flavor(
            self.ctx,
            args.name,
            resources=resources,
            resource_traits=traits,
            composition=parse_composition(args.composition),
            description=args.description,
            is_public=not args.private,
        )
        output.emit(_flavor_row(flavor), self.fmt, out=self.out)

    def flavor_list(self, args):
        output.emit(
            [_flavor_row(f) for f in self.api.list_flavors(self.ctx)],
            self.fmt,
            FLAVOR_COLUMNS,
            out=self.out,
        )

    def flavor_show(self, args):
        output.emit(
            _flavor_row(self.api.get_flavor(self.ctx, args.flavor)),
            self.fmt,
            out=self.out,
        )

    def flavor_delete(self, args):
        for flavor in args.flavor:
            self.api.delete_flavor(self.ctx, flavor)

    # -- servers -------------------------------------------------------------

    def server_create(self, args):
        instance = self.api.create_instance(
            self.ctx, args.name, args.flavor, args.image, description=args.description
        )
        fault = None
        if args.wait:
            instance, fault = self._wait(
                instance.uuid, {states.ACTIVE, states.ERROR}, args.timeout
            )
        output.emit(_instance_row(instance, fault), self.fmt, out=self.out)
        if instance.status == states.ERROR:
            raise CommandError(
                f"server {instance.name} ({instance.uuid}) went to ERROR: "
                f"{fault.message if fault else 'no fault recorded'}"
            )

    def server_list(self, args):
        rows = [
            _instance_row(i)
            for i in self.api.list_instances(self.ctx, include_deleted=args.all)
        ]
        output.emit(rows, self.fmt, INSTANCE_COLUMNS, out=self.out)

    def server_show(self, args):
        got = self.api.get_instance(self.ctx, args.server)
        output.emit(
            _instance_row(got["instance"], got["fault"]), self.fmt, out=self.out
        )

    def server_delete(self, args):
        for server in args.server:
            instance = self.api.delete_instance(
                self.ctx, server, force_release=args.force_release
            )
            if args.wait:
                instance, fault = self._wait(
                    instance.uuid, {states.DELETED, states.ERROR}, args.timeout
                )
                if instance.status == states.ERROR:
                    raise CommandError(
                        f"delete of {instance.uuid} failed: "
                        f"{fault.message if fault else 'no fault recorded'}"
                    )

    def _wait(self, uuid: str, until: set[str], timeout: float):
        start = time.monotonic()
        interval = 0.2
        tty = self.err.isatty()
        last = None
        while True:
            got = self.api.get_instance(self.ctx, uuid)
            instance, fault = got["instance"], got["fault"]
            elapsed = time.monotonic() - start
            line = f"{instance.name}: {instance.status} ({elapsed:.0f}s)"
            if tty:
                print(f"\r{line}   ", end="", file=self.err, flush=True)
            elif instance.status != last:
                print(line, file=self.err, flush=True)
            last = instance.status
            if instance.status in until:
                if tty:
                    print(file=self.err)
                return instance, fault
            if elapsed > timeout:
                raise CommandError(
                    f"server {uuid} still {instance.status} after {timeout:.0f}s"
                )
            time.sleep(interval)
            interval = min(interval * 1.5, 2.0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mogan-valence", description=__doc__)
    p.add_argument("--version", action="version", version=version.version_string())
    p.add_argument(
        "--config-file",
        action="append",
        default=[],
        help="Configuration file (may repeat); its [DEFAULT] "
        "transport_url and [engine] host say how to reach the engine.",
    )
    p.add_argument("-f", "--format", choices=["table", "json"], default="table")
    p.add_argument(
        "--rpc-timeout",
        type=float,
        default=60.0,
        help="Seconds to wait for the engine to answer a request.",
    )
    sub = p.add_subparsers(dest="resource", required=True)

    flavor = sub.add_parser("flavor", help="Flavors").add_subparsers(
        dest="action", required=True
    )
    c = flavor.add_parser("create", help="Create a flavor")
    c.add_argument("name")
    c.add_argument(
        "--resource",
        action="append",
        metavar="RESOURCE_CLASS",
        help="Ironic resource class to schedule on (pre-set flavors).",
    )
    c.add_argument("--trait", action="append", help="Required trait (may repeat).")
    c.add_argument(
        "--composition",
        nargs="+",
        metavar="JSON|KEY=VALUE",
        help="What to compose: a JSON object or KEY=VALUE pairs, e.g. "
        "cpu_cores=16 ram_mib=65536 disk_gb=500 disk_type=SSD.",
    )
    c.add_argument("--description")
    c.add_argument("--private", action="store_true")
    c.set_defaults(func=Shell.flavor_create)
    flavor.add_parser("list", help="List flavors").set_defaults(func=Shell.flavor_list)
    s = flavor.add_parser("show", help="Show a flavor")
    s.add_argument("flavor", help="Name or uuid")
    s.set_defaults(func=Shell.flavor_show)
    d = flavor.add_parser("delete", help="Delete flavors")
    d.add_argument("flavor", nargs="+")
    d.set_defaults(func=Shell.flavor_delete)

    server = sub.add_parser("server", help="Instances").add_subparsers(
        dest="action", required=True
    )
    c = server.add_parser("create", help="Create an instance")
    c.add_argument("name")
    c.add_argument("--flavor", required=True, help="Flavor name or uuid")
    c.add_argument("--image", required=True, help="Image source (URL or image id)")
    c.add_argument("--description")
    c.add_argument("--wait", action="store_true", help="Wait for ACTIVE or ERROR.")
    c.add_argument("--timeout", type=float, default=3600.0)
    c.set_defaults(func=Shell.server_create)
    ls = server.add_parser("list", help="List instances")
    ls.add_argument("--all", action="store_true", help="Include deleted instances.")
    ls.set_defaults(func=Shell.server_list)
    s = server.add_parser("show", help="Show an instance and its latest fault")
    s.add_argument("server", help="Name or uuid")
    s.set_defaults(func=Shell.server_show)
    d = server.add_parser("delete", help="Delete instances")
    d.add_argument("server", nargs="+")
    d.add_argument("--wait", action="store_true", help="Wait until deleted.")
    d.add_argument("--timeout", type=float, default=3600.0)
    d.add_argument(
        "--force-release",
        action="store_true",
        help="Admins only: go on past a node whose cleaning failed and give its "
        "hardware back uncleaned (it may still hold the tenant's data). Logged.",
    )
    d.set_defaults(func=Shell.server_delete)

    demo = sub.add_parser(
        "demo",
        help="Create and delete an instance end to end on embedded defaults "
        "(SQLite, in-process messaging, a local Ironic it starts itself).",
    )
    demo.add_argument(
        "--preset",
        action="store_true",
        help="Use a pre-set flavor instead of a composed one.",
    )
    demo.add_argument("--keep-dir", help="Keep the demo's files (logs) here.")

    rec = sub.add_parser(
        "reconcile",
        help="Release Valence nodes and remove Ironic nodes composed "
        "for instances that no longer need them (needs the engine's config file).",
    )
    rec.add_argument(
        "--dry-run", action="store_true", help="Only print what would be done."
    )
    rec.add_argument(
        "--grace-period",
        type=int,
        metavar="SECONDS",
        help="Override [valence] reconcile_grace_period.",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.resource == "demo":
        from mogan_valence.cli import demo

        return demo.run(args)
    if args.resource == "reconcile":
        from mogan_valence.cli import reconcile

        return reconcile.run(args)
    try:
        CONF(
            [f"--config-file={f}" for f in args.config_file],
            project="mogan-valence",
            default_config_files=[] if args.config_file else None,
        )
    except cfg.Error as e:
        print(f"mogan-valence: {e}", file=sys.stderr)
        return 2
    objects.register_all()
    shell = Shell(rpcapi.EngineAPI(timeout=args.rpc_timeout), fmt=args.format)
    try:
        args.func(shell, args)
    except CommandError as e:
        print(f"mogan-valence: {e}", file=sys.stderr)
        return 1
    except exception.MoganValenceException as e:
        # NOTE: str() of an exception raised by the engine carries the
        # engine's traceback; the message is what the operator needs.
        print(f"mogan-valence: {e.message}", file=sys.stderr)
        return 1
    except messaging.MessagingTimeout:
        print(
            f"mogan-valence: the engine did not answer within {args.rpc_timeout:.0f}s; "
            f"is mogan-valence-engine running, with the same transport_url and "
            f"[engine] host ({CONF.engine.host})?",
            file=sys.stderr,
        )
        return 1
    except messaging.MessagingException as e:
        print(f"mogan-valence: messaging error: {e}", file=sys.stderr)
        return 1
    return 0
