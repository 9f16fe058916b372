"""``mogan-valence quota ...``: a project's limits and what it uses."""

from cliff import lister
from osc_lib import exceptions as osc_exc

RESOURCES = ("servers", "cores", "ram_mib", "disk_gb")
COLUMNS = ("resource", "limit", "in_use")


def _rows(body: dict) -> list[tuple]:
    quota = (body or {}).get("quota") or {}
    rows = []
    for name in list(RESOURCES) + sorted(set(quota) - set(RESOURCES)):
        if name in quota:
            value = quota[name]
            if isinstance(value, dict):
                rows.append((name, value.get("limit"), value.get("in_use")))
            else:
                rows.append((name, value, None))
    return rows


def _project(app, project: str | None) -> str:
    if project:
        return project
    project = app.client.project_id
    if not project:
        raise osc_exc.CommandError(
            "give a PROJECT: without Keystone the caller's project is not known"
        )
    return project


class ShowQuota(lister.Lister):
    """Show a project's quota and usage.

    The limit of each resource and how much of it the project's servers
    use (servers; composed cores, RAM and disk).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "project",
            metavar="PROJECT_ID",
            nargs="?",
            help="The project (default: the caller's own).",
        )
        return parser

    def take_action(self, parsed_args):
        project = _project(self.app, parsed_args.project)
        return COLUMNS, _rows(self.app.client.get(f"/quotas/{project}"))


class SetQuota(lister.Lister):
    """Set a project's limits (admin) and show the new quota."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("project", metavar="PROJECT_ID", help="The project.")
        for name, what in (
            ("servers", "servers"),
            ("cores", "composed CPU cores"),
            ("ram-mib", "composed RAM, in MiB"),
            ("disk-gb", "composed disk, in GB"),
        ):
            parser.add_argument(
                f"--{name}",
                type=int,
                metavar="N",
                help=f"The most {what} the project may have (-1: no limit).",
            )
        parser.add_argument(
            "--default",
            action="append",
            default=[],
            choices=RESOURCES,
            metavar="RESOURCE",
            help="Give the project the [quota] default of RESOURCE again "
            f"(one of {', '.join(RESOURCES)}); repeatable.",
        )
        return parser

    def take_action(self, parsed_args):
        limits = {
            name: getattr(parsed_args, name)
            for name in RESOURCES
            if getattr(parsed_args, name) is not None
        }
        for name in parsed_args.default:
            if name in limits:
                raise osc_exc.CommandError(
                    f"{name}: give a limit or --default, not both"
                )
            limits[name] = None
        if not limits:
            raise osc_exc.CommandError(
                "nothing to set: give --servers, --cores, --ram-mib, --disk-gb "
                "or --default RESOURCE"
            )
        body = self.app.client.put(f"/quotas/{parsed_args.project}", {"quota": limits})
        if not body:
            body = self.app.client.get(f"/quotas/{parsed_args.project}")
        return COLUMNS, _rows(body)
