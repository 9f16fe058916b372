"""``mogan-valence server ...``: servers and their power."""

from cliff import command
from cliff import lister
from cliff import show
from osc_lib import exceptions as osc_exc

from mogan_valence.cli import client as cli_client
from mogan_valence.cli import output

LIST_COLUMNS = ["uuid", "name", "status", "power_state"]
LONG_COLUMNS = LIST_COLUMNS + ["flavor_uuid", "image_uuid", "composed", "project_id"]
SHOW_FIRST = [
    "uuid",
    "name",
    "description",
    "status",
    "power_state",
    "flavor_uuid",
    "image_uuid",
    "composed",
    "project_id",
    "user_id",
    "created_at",
    "updated_at",
    "launched_at",
    "fault",
]
FORMATTERS = {"fault": output.FaultColumn, "steps": output.StepsColumn}
DEFAULT_TIMEOUT = 3600.0


def show_server(server: dict) -> tuple[tuple, tuple]:
    return output.record(server, SHOW_FIRST, formatters=FORMATTERS)


def fault_message(server: dict | None) -> str:
    fault = (server or {}).get("fault") or {}
    return fault.get("message") or "no fault recorded"


def add_wait_options(parser, what: str) -> None:
    parser.add_argument(
        "--wait",
        action="store_true",
        help=f"Wait until {what}, showing its progress on standard error.",
    )
    # NOTE: not --timeout: the app's own --timeout (keystoneauth's HTTP
    # timeout, anywhere on the command line) would take it.
    parser.add_argument(
        "--wait-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"With --wait: give up after this long (default {DEFAULT_TIMEOUT:.0f}).",
    )


class CreateServer(show.ShowOne):
    """Create a server (a composed flavor composes its node first)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="NAME", help="Name of the new server.")
        parser.add_argument(
            "--flavor", required=True, metavar="FLAVOR", help="Flavor name or UUID."
        )
        parser.add_argument(
            "--image",
            required=True,
            metavar="SOURCE",
            help="Image to deploy: a Glance image UUID or an http(s) URL.",
        )
        parser.add_argument(
            "--description", metavar="TEXT", help="Description of the server."
        )
        add_wait_options(parser, "the server is ACTIVE (or ERROR)")
        return parser

    def take_action(self, parsed_args):
        client = self.app.client
        flavor = client.find("flavor", parsed_args.flavor)
        request = {
            "name": parsed_args.name,
            "image_uuid": parsed_args.image,
            "flavor_uuid": flavor["uuid"],
        }
        if parsed_args.description is not None:
            request["description"] = parsed_args.description
        server = client.post("/servers", {"server": request})
        if parsed_args.wait:
            server = client.wait_for_server(
                server["uuid"],
                {"active", "error"},
                parsed_args.wait_timeout,
                f"server {server['name']} to become ACTIVE",
                out=self.app.stderr,
            )
            if server["status"] == "error":
                raise osc_exc.CommandError(
                    f"server {server['name']} ({server['uuid']}) went to ERROR: "
                    f"{fault_message(server)}"
                )
        return show_server(server)


class ListServer(lister.Lister):
    """List servers of the caller's project (or of all projects)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--long",
            action="store_true",
            help="More columns (flavor, image, composed, project).",
        )
        parser.add_argument(
            "--all-projects",
            action="store_true",
            help="Servers of every project (admin).",
        )
        return parser

    def take_action(self, parsed_args):
        servers = self.app.client.list_servers(
            detail=parsed_args.long, all_projects=parsed_args.all_projects
        )
        columns = LONG_COLUMNS if parsed_args.long else LIST_COLUMNS
        return columns, [output.row(s, columns) for s in servers]


class ShowServer(show.ShowOne):
    """Show a server, its latest fault and its step timings.

    The fault names the step that failed and why.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("server", metavar="SERVER", help="Server name or UUID.")
        return parser

    def take_action(self, parsed_args):
        return show_server(self.app.client.find("server", parsed_args.server))


class DeleteServer(command.Command):
    """Delete servers.

    Undeploys; for a composed server, also removes its node from Ironic
    and gives the hardware back to Valence.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "servers", metavar="SERVER", nargs="+", help="Server names or UUIDs."
        )
        parser.add_argument(
            "--force-release",
            action="store_true",
            help="Admins only: release a composed node whose cleaning failed, "
            "without a clean. The hardware may still hold the tenant's data; "
            "use it only when the node was cleaned by other means.",
        )
        add_wait_options(parser, "each server is gone")
        return parser

    def take_action(self, parsed_args):
        client = self.app.client
        failed = []
        query = "?force_release=true" if parsed_args.force_release else ""
        for name in parsed_args.servers:
            try:
                server = client.find("server", name)
                client.delete(f"/servers/{server['uuid']}{query}")
                if parsed_args.wait:
                    left = client.wait_for_server(
                        server["uuid"],
                        {cli_client.GONE, "error"},
                        parsed_args.wait_timeout,
                        f"server {server['name']} to be deleted",
                        out=self.app.stderr,
                    )
                    if left is not None:
                        raise osc_exc.CommandError(
                            f"delete failed: {fault_message(left)}"
                        )
            except osc_exc.CommandError as e:
                self.app.stderr.write(f"server {name}: {e}\n")
                failed.append(name)
        if failed:
            raise osc_exc.CommandError(
                f"{len(failed)} of {len(parsed_args.servers)} servers not deleted"
            )


class _PowerCommand(command.Command):
    target = ""
    expected: str | None = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("server", metavar="SERVER", help="Server name or UUID.")
        if self.target != "on":
            parser.add_argument(
                "--soft",
                action="store_true",
                help="Ask the operating system (ACPI) instead of cutting power.",
            )
        add_wait_options(parser, "the power state is reached (or the action failed)")
        return parser

    def take_action(self, parsed_args):
        client = self.app.client
        server = client.find("server", parsed_args.server)
        target = self.target
        if getattr(parsed_args, "soft", False):
            target = f"soft_{target}"
        before = (server.get("fault") or {}).get("created_at")
        client.put(f"/servers/{server['uuid']}/states/power", {"target": target})
        if not parsed_args.wait:
            return

        def status(s):
            fault = s.get("fault") or {}
            if fault.get("created_at") and fault.get("created_at") != before:
                return "failed"
            # A reboot ends powered on; on and off end in their own state.
            if s["power_state"] == self.expected and (
                self.target != "reboot" or s.get("updated_at") != server["updated_at"]
            ):
                return "done"
            return cli_client.display_status(s)

        server = client.wait_for_server(
            server["uuid"],
            {"done", "failed"},
            parsed_args.wait_timeout,
            f"server {server['name']} to {target.replace('_', ' ')}",
            out=self.app.stderr,
            status=status,
        )
        fault = server.get("fault") or {}
        if fault.get("created_at") and fault.get("created_at") != before:
            raise osc_exc.CommandError(f"power {target} failed: {fault['message']}")


class PowerOnServer(_PowerCommand):
    """Power a server on."""

    target = "on"
    expected = "power on"


class PowerOffServer(_PowerCommand):
    """Power a server off (--soft: through its operating system)."""

    target = "off"
    expected = "power off"


class RebootServer(_PowerCommand):
    """Reboot a server (--soft: through its operating system)."""

    target = "reboot"
    expected = "power on"
