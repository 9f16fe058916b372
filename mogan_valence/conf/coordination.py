"""The [coordination] group: locks shared by several engines (tooz)."""

from oslo_config import cfg

GROUP = cfg.OptGroup("coordination", title="Coordination between engines")

opts = [
    cfg.StrOpt(
        "backend_url",
        secret=True,
        help="tooz backend URL for the locks several engines share, for "
        "example redis://:PASSWORD@redis.example.com:6379 (append "
        "?timeout=SECONDS to change how long the lock of a dead engine "
        "outlives it; [engine] jobboard_expiration_time by default). An "
        "instance is acted on by one engine at a time, the reconciler runs "
        "on one engine at a time, and "
        "[valence] max_concurrent_composes holds across engines. Unset: the "
        "Redis of [engine] jobboard_backend when that is a Redis URL, else "
        "locks within this engine process only (one engine).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts() -> list[cfg.Opt]:
    return opts
