"""The [database] group: oslo.db's options with this service's defaults."""

from oslo_config import cfg
from oslo_db import options as db_options

DEFAULT_CONNECTION = "sqlite:///$state_path/mogan-valence.sqlite"


def register_opts(conf: cfg.ConfigOpts) -> None:
    # oslo.db owns the options; we only pick an embedded default so that a
    # fresh install works without a database server.
    db_options.set_defaults(conf, connection=DEFAULT_CONNECTION)


def set_sample_defaults() -> None:
    """Show our default in the generated sample (it lists oslo.db's opts)."""
    cfg.set_defaults(db_options.database_opts, connection=DEFAULT_CONNECTION)
