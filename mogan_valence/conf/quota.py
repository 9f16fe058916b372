"""The [quota] group: what a project may hold by default."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    "quota",
    title="Quota options",
    help="Default limits of every project. An admin sets a project's own "
    "limits with PUT /v1/quotas/{project_id}. -1 means unlimited.",
)

opts = [
    cfg.IntOpt(
        "servers",
        default=10,
        min=-1,
        help="Servers a project may have (every server not yet deleted counts, "
        "ERROR ones included).",
    ),
    cfg.IntOpt(
        "cores",
        default=640,
        min=-1,
        help="CPU cores a project may hold composed: the sum of 'cpu_cores' of "
        "the compositions of its servers' flavors.",
    ),
    cfg.IntOpt(
        "ram_mib",
        default=4 * 1024 * 1024,
        min=-1,
        help="RAM, in MiB, a project may hold composed: the sum of 'ram_mib' of "
        "the compositions of its servers' flavors.",
    ),
    cfg.IntOpt(
        "disk_gb",
        default=20000,
        min=-1,
        help="Disk, in GB, a project may hold composed: the sum of 'disk_gb' of "
        "the compositions of its servers' flavors.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts() -> list[cfg.Opt]:
    return opts


def defaults(conf: cfg.ConfigOpts) -> dict[str, int]:
    return {opt.name: conf.quota[opt.name] for opt in opts}
