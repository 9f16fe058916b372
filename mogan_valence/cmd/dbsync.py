"""mogan-valence-dbsync: create or upgrade the engine's database schema."""

import sys

from alembic.util import exc as alembic_exc
from oslo_config import cfg
from oslo_db import exception as db_exc
from sqlalchemy import exc as sa_exc

from mogan_valence.common import config
from mogan_valence.common import exception
from mogan_valence.db import migration

CONF = cfg.CONF


def _upgrade() -> int:
    before = migration.version()
    migration.upgrade(CONF.command.revision)
    after = migration.version()
    if before == after:
        print(f"Database already at {after}.")
    else:
        print(f"Database upgraded from {before or 'empty'} to {after}.")
    return 0


def _version() -> int:
    current = migration.version()
    print(
        current if current is not None else "None (database not under version control)"
    )
    return 0


def _stamp() -> int:
    migration.stamp(CONF.command.revision)
    print(f"Database stamped at {migration.version()}.")
    return 0


def _add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "upgrade", help="Upgrade the schema to a revision (default: the newest)."
    )
    parser.add_argument("revision", nargs="?", default="head")
    parser.set_defaults(func=_upgrade)

    parser = subparsers.add_parser(
        "version", help="Print the revision the database is at."
    )
    parser.set_defaults(func=_version)

    parser = subparsers.add_parser(
        "stamp",
        help="Record a revision as applied without running migrations "
        "(for a schema created by other means).",
    )
    parser.add_argument("revision")
    parser.set_defaults(func=_stamp)


_command_opt = cfg.SubCommandOpt(
    "command",
    title="Commands",
    help="Available commands",
    handler=_add_commands,
)


def main(argv: list[str] | None = None) -> int:
    CONF.register_cli_opt(_command_opt)
    try:
        config.parse_args(sys.argv[1:] if argv is None else argv, log_to_stderr=True)
    except cfg.Error as e:
        print(f"mogan-valence-dbsync: {e}", file=sys.stderr)
        return 2
    config.setup_logging()
    try:
        return CONF.command.func()
    except (exception.MigrationError, alembic_exc.CommandError) as e:
        print(f"mogan-valence-dbsync: {e}", file=sys.stderr)
        return 1
    except (db_exc.DBError, sa_exc.DBAPIError) as e:
        # NOTE: never print the connection URL, it may hold a password; the
        # driver's own message names the host and port at most.
        cause = getattr(e, "inner_exception", None) or getattr(e, "orig", None) or e
        print(
            f"mogan-valence-dbsync: database error ({type(cause).__name__}): "
            f"{str(cause).strip()}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
