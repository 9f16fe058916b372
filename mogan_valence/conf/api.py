"""The [api] group: the Mogan v1 REST API (mogan-valence-api)."""

from oslo_config import cfg

from mogan_valence.conf import metrics

GROUP = cfg.OptGroup("api", title="REST API options")

opts = [
    cfg.StrOpt(
        "auth_strategy",
        default="noauth",
        choices=[
            (
                "keystone",
                "Every request carries a Keystone token, verified by "
                "keystonemiddleware's auth_token ([keystone_authtoken] options).",
            ),
            (
                "noauth",
                "No authentication: every request acts as an admin of "
                "[api] noauth_project_id. For the embedded stack and demos "
                "only; logged as a warning at start.",
            ),
        ],
        help="How the API authenticates requests. Production deployments use "
        "'keystone'.",
    ),
    cfg.StrOpt(
        "noauth_project_id",
        default="00000000-0000-4000-8000-000000000000",
        help="With auth_strategy = noauth, the project every request acts in.",
    ),
    cfg.HostAddressOpt(
        "host",
        default="127.0.0.1",
        help="The address mogan-valence-api listens on.",
    ),
    cfg.PortOpt(
        "port",
        default=6688,
        help="The TCP port mogan-valence-api listens on (Mogan's 6688).",
    ),
    cfg.IntOpt(
        "workers",
        default=8,
        min=1,
        help="How many requests mogan-valence-api serves at once (threads of "
        "its WSGI server). Under uwsgi or Apache, their own settings apply.",
    ),
    cfg.URIOpt(
        "public_endpoint",
        help="The URL clients reach the API at (the part before /v1), used in "
        "the links of every resource and in Location headers, for example "
        "https://cloud.example.com/baremetal_compute. Default: the URL of "
        "each request, as seen through [oslo_middleware] "
        "enable_proxy_headers_parsing.",
    ),
    cfg.IntOpt(
        "max_limit",
        default=1000,
        min=1,
        help="The most items one list answer carries; a larger 'limit' is "
        "capped to it.",
    ),
    cfg.ListOpt(
        "image_file_allowed_paths",
        default=[],
        help="Directories on the engine and Ironic conductor hosts from which "
        "admins may deploy file:// images. Empty (the default): file:// "
        "images are refused for everyone.",
    ),
    cfg.ListOpt(
        "image_url_allowed_hosts",
        default=[],
        help="If set, the only hosts http(s) image URLs may name. Loopback "
        "and link-local hosts are refused unless listed here.",
    ),
]
opts += metrics.opts(
    "mogan-valence-api",
    "instances by state. 0 (the default) serves no metrics. Only the "
    "mogan-valence-api command serves it: under uwsgi or Apache (several "
    "processes sharing no port) no metrics server is started.",
)


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts() -> list[cfg.Opt]:
    return opts
