from oslo_config import cfg

opts = [
    cfg.StrOpt(
        "state_path",
        default="/var/lib/mogan-valence",
        help="Top-level directory for the engine's state: the default SQLite "
        "database lives here. Other options may refer to it as $state_path.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts)


def list_opts() -> list[cfg.Opt]:
    return opts
