"""``mogan-valence reconcile``: find leaked nodes and remove them, once.

Runs in this process with the engine's configuration file (database, Ironic
and Valence options), like the engine's periodic reconciler; it needs no
API.
"""

from cliff import lister
from oslo_config import cfg
from osc_lib import exceptions as osc_exc

from mogan_valence.common import config
from mogan_valence.ironic import client as ironic_client
from mogan_valence import objects
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import reconciler

CONF = cfg.CONF
COLUMNS = ("action", "node", "instance", "reason", "result")


class Reconcile(lister.Lister):
    """Remove nodes composed for servers that no longer need them.

    Removes their Ironic nodes and releases their Valence nodes; an
    ExpEther host that was in Ironic before is given back to the pool
    (``return``) once its devices are released, never removed. Runs here,
    with the engine's configuration file, not through the API.
    """

    auth_required = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--config-file",
            action="append",
            default=[],
            metavar="PATH",
            help="The engine's configuration file (may repeat): its database, "
            "[ironic] and [valence] options.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only print what would be done."
        )
        parser.add_argument(
            "--grace-period",
            type=int,
            metavar="SECONDS",
            help="Override [valence] reconcile_grace_period.",
        )
        return parser

    def take_action(self, parsed_args):
        try:
            config.parse_args(
                [f"--config-file={f}" for f in parsed_args.config_file],
                log_to_stderr=True,
            )
        except cfg.Error as e:
            raise osc_exc.CommandError(f"configuration: {e}") from None
        config.setup_logging()
        objects.register_all()
        if parsed_args.grace_period is not None:
            CONF.set_override(
                "reconcile_grace_period", parsed_args.grace_period, group="valence"
            )
        worker = reconciler.Reconciler(
            CONF,
            ironic_client.IronicClient.from_conf(CONF),
            valence_client.ValenceClient.from_conf(CONF),
        )
        actions = worker.run(dry_run=parsed_args.dry_run)

        def result(action) -> str | None:
            if action.kind == reconciler.HOLD:
                return "held: needs an operator"
            if parsed_args.dry_run:
                return "planned"
            return "done" if action.done else action.error

        if not actions:
            self.app.stderr.write("Nothing to reconcile.\n")
        self._failed = any(a.error for a in actions)
        return COLUMNS, [
            (a.kind, a.node_uuid, a.instance_uuid, a.reason, result(a)) for a in actions
        ]

    def run(self, parsed_args):
        self._failed = False
        status = super().run(parsed_args)
        return 1 if self._failed else status
