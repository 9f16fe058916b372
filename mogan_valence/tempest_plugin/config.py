"""The [mogan_valence] options describing the deployment under test."""

from oslo_config import cfg

GROUP = cfg.OptGroup("mogan_valence", title="mogan-valence deployment under test")

opts = [
    cfg.StrOpt(
        "transport_url",
        secret=True,
        help="oslo.messaging transport URL of the engine's message bus "
        "(it may hold the broker password).",
    ),
    cfg.StrOpt("engine_host", help="[engine] host of the engine under test."),
    cfg.StrOpt(
        "engine_topic",
        default="mogan-valence-engine",
        help="[engine] topic of the engine under test.",
    ),
    cfg.StrOpt("ironic_endpoint", help="Ironic API URL (noauth), to check nodes."),
    cfg.StrOpt("valence_url", help="Valence API URL, to check composed nodes."),
    cfg.StrOpt(
        "composed_flavor",
        help="Name of a composed flavor; composed scenarios skip without it.",
    ),
    cfg.StrOpt(
        "composed_resource_class",
        default="baremetal-composed",
        help="[valence] resource_class of the engine under test.",
    ),
    cfg.StrOpt(
        "preset_flavor",
        help="Name of a pre-set flavor; pre-set scenarios skip without it.",
    ),
    cfg.StrOpt("image_source", help="Image to deploy (a URL or an image UUID)."),
    cfg.IntOpt(
        "build_timeout",
        default=900,
        min=1,
        help="Seconds a create or a delete may take.",
    ),
    cfg.FloatOpt(
        "build_interval",
        default=1.0,
        min=0.1,
        help="Seconds between two status checks.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return [(GROUP, opts)]
