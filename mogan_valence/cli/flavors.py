"""``mogan-valence flavor ...``: flavors and their access lists (admin)."""

import json

from cliff import command
from cliff import lister
from cliff import show
from osc_lib import exceptions as osc_exc

from mogan_valence.cli import output

LIST_COLUMNS = ["uuid", "name", "is_public", "disabled", "resources", "composition"]
SHOW_FIRST = ["uuid", "name", "description", "is_public", "disabled"]


def parse_composition(values: list[str] | None) -> dict | None:
    """``--composition '{"cpu_cores": 4}'`` or ``--composition cpu_cores=4
    ...``: a JSON object, or KEY=VALUE pairs whose numbers and JSON lists
    are typed."""
    if not values:
        return None
    if len(values) == 1 and values[0].lstrip().startswith("{"):
        try:
            return json.loads(values[0])
        except ValueError as e:
            raise osc_exc.CommandError(
                f"--composition is not valid JSON: {e}"
            ) from None
    result: dict = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise osc_exc.CommandError(f"--composition expects KEY=VALUE, got {item!r}")
        if raw.startswith("[") or raw.lstrip("-").isdigit():
            try:
                result[key] = json.loads(raw)
                continue
            except ValueError:
                pass
        result[key] = raw
    return result


def show_flavor(flavor: dict) -> tuple[tuple, tuple]:
    return output.record(flavor, SHOW_FIRST)


class CreateFlavor(show.ShowOne):
    """Create a flavor, pre-set or composed.

    Pre-set: servers are scheduled on an Ironic resource class. Composed:
    Valence composes a node for each server.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="NAME", help="Name of the new flavor.")
        parser.add_argument(
            "--resource",
            action="append",
            metavar="RESOURCE_CLASS",
            default=[],
            help="Ironic resource class the servers of this flavor are "
            "scheduled on (pre-set flavors; may repeat).",
        )
        parser.add_argument(
            "--trait",
            action="append",
            metavar="TRAIT",
            default=[],
            help="A trait the node must have (may repeat).",
        )
        parser.add_argument(
            "--composition",
            nargs="+",
            metavar="JSON|KEY=VALUE",
            help="What to compose for each server: a JSON object, or KEY=VALUE "
            "pairs such as cpu_cores=16 ram_mib=65536 disk_gb=500 "
            'disk_type=SSD, or \'{"valence_flavor": "<uuid>"}\'.',
        )
        parser.add_argument(
            "--description", metavar="TEXT", help="Description of the flavor."
        )
        parser.add_argument(
            "--private",
            action="store_true",
            help="Only admins and the projects added with 'flavor access "
            "add' may see and use it.",
        )
        return parser

    def take_action(self, parsed_args):
        body = {
            "name": parsed_args.name,
            "is_public": not parsed_args.private,
            "resources": {rc: 1 for rc in parsed_args.resource},
        }
        if parsed_args.trait:
            body["resource_traits"] = {t: "required" for t in parsed_args.trait}
        composition = parse_composition(parsed_args.composition)
        if composition is not None:
            body["composition"] = composition
        if parsed_args.description is not None:
            body["description"] = parsed_args.description
        return show_flavor(self.app.client.post("/flavors", body))


class ListFlavor(lister.Lister):
    """List flavors (admins see every flavor)."""

    def take_action(self, parsed_args):
        flavors = self.app.client.list_flavors()
        return LIST_COLUMNS, [output.row(f, LIST_COLUMNS) for f in flavors]


class ShowFlavor(show.ShowOne):
    """Show a flavor (admins also see its resources and composition)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("flavor", metavar="FLAVOR", help="Flavor name or UUID.")
        return parser

    def take_action(self, parsed_args):
        return show_flavor(self.app.client.find("flavor", parsed_args.flavor))


class SetFlavor(command.Command):
    """Change a flavor's name, description, visibility or state."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("flavor", metavar="FLAVOR", help="Flavor name or UUID.")
        parser.add_argument("--name", metavar="NAME", help="New name.")
        parser.add_argument(
            "--description",
            metavar="TEXT",
            help="New description ('' to remove it).",
        )
        public = parser.add_mutually_exclusive_group()
        public.add_argument(
            "--public",
            dest="is_public",
            action="store_true",
            default=None,
            help="Every project may see and use it.",
        )
        public.add_argument(
            "--private",
            dest="is_public",
            action="store_false",
            help="Only admins and the projects on its access list may.",
        )
        state = parser.add_mutually_exclusive_group()
        state.add_argument(
            "--disable",
            dest="disabled",
            action="store_true",
            default=None,
            help="No new server may use it.",
        )
        state.add_argument(
            "--enable",
            dest="disabled",
            action="store_false",
            help="New servers may use it again.",
        )
        return parser

    def take_action(self, parsed_args):
        patch = []
        if parsed_args.name is not None:
            patch.append({"op": "replace", "path": "/name", "value": parsed_args.name})
        if parsed_args.description == "":
            patch.append({"op": "remove", "path": "/description"})
        elif parsed_args.description is not None:
            patch.append(
                {
                    "op": "replace",
                    "path": "/description",
                    "value": parsed_args.description,
                }
            )
        for field in ("is_public", "disabled"):
            value = getattr(parsed_args, field)
            if value is not None:
                patch.append({"op": "replace", "path": f"/{field}", "value": value})
        if not patch:
            raise osc_exc.CommandError(
                "nothing to change: give --name, --description, --public, "
                "--private, --enable or --disable"
            )
        flavor = self.app.client.find("flavor", parsed_args.flavor)
        self.app.client.patch(f"/flavors/{flavor['uuid']}", patch)


class DeleteFlavor(command.Command):
    """Delete flavors (refused while a server uses one)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "flavors", metavar="FLAVOR", nargs="+", help="Flavor names or UUIDs."
        )
        return parser

    def take_action(self, parsed_args):
        failed = []
        for name in parsed_args.flavors:
            try:
                flavor = self.app.client.find("flavor", name)
                self.app.client.delete(f"/flavors/{flavor['uuid']}")
            except osc_exc.CommandError as e:
                self.app.stderr.write(f"flavor {name}: {e}\n")
                failed.append(name)
        if failed:
            raise osc_exc.CommandError(
                f"{len(failed)} of {len(parsed_args.flavors)} flavors not deleted"
            )


class _AccessCommand(command.Command):
    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "flavor", metavar="FLAVOR", help="Private flavor name or UUID."
        )
        parser.add_argument("project", metavar="PROJECT_ID", help="Project ID.")
        return parser


class AddFlavorAccess(_AccessCommand):
    """Let a project see and use a private flavor (admin)."""

    def take_action(self, parsed_args):
        flavor = self.app.client.find("flavor", parsed_args.flavor)
        self.app.client.post(
            f"/flavors/{flavor['uuid']}/access", {"tenant_id": parsed_args.project}
        )


class RemoveFlavorAccess(_AccessCommand):
    """Take a project off a private flavor's access list (admin)."""

    def take_action(self, parsed_args):
        flavor = self.app.client.find("flavor", parsed_args.flavor)
        self.app.client.delete(
            f"/flavors/{flavor['uuid']}/access/{parsed_args.project}"
        )


class ListFlavorAccess(lister.Lister):
    """List the projects that may use a private flavor (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("flavor", metavar="FLAVOR", help="Flavor name or UUID.")
        return parser

    def take_action(self, parsed_args):
        flavor = self.app.client.find("flavor", parsed_args.flavor)
        access = self.app.client.get(f"/flavors/{flavor['uuid']}/access")
        projects = access.get("flavor_access") or []
        return ["project_id"], [
            (p if isinstance(p, str) else p.get("tenant_id"),) for p in projects
        ]
