"""``mogan-valence reconcile``: find leaked nodes and remove them, once.

Runs in this process with the engine's configuration file (database, Ironic
and Valence options), like the engine's periodic reconciler.
"""

import sys

from oslo_config import cfg

from mogan_valence.cli import output
from mogan_valence.common import config
from mogan_valence.ironic import client as ironic_client
from mogan_valence import objects
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import reconciler

CONF = cfg.CONF


def run(args) -> int:
    try:
        config.parse_args(
            [f"--config-file={f}" for f in args.config_file], log_to_stderr=True
        )
    except cfg.Error as e:
        print(f"mogan-valence: {e}", file=sys.stderr)
        return 2
    config.setup_logging()
    objects.register_all()
    if args.grace_period is not None:
        CONF.set_override("reconcile_grace_period", args.grace_period, group="valence")
    worker = reconciler.Reconciler(
        CONF,
        ironic_client.IronicClient.from_conf(CONF),
        valence_client.ValenceClient.from_conf(CONF),
    )
    actions = worker.run(dry_run=args.dry_run)

    def result(action) -> str | None:
        if action.kind == reconciler.HOLD:
            return "held: needs an operator"
        if args.dry_run:
            return "planned"
        return "done" if action.done else action.error

    rows = [
        {
            "action": a.kind,
            "node": a.node_uuid,
            "instance": a.instance_uuid,
            "reason": a.reason,
            "result": result(a),
        }
        for a in actions
    ]
    output.emit(rows, args.format, ["action", "node", "instance", "reason", "result"])
    if not actions:
        print("Nothing to reconcile.", file=sys.stderr)
    return 1 if any(a.error for a in actions) else 0
