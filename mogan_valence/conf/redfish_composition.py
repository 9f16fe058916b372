"""The Redfish composition services: ``[redfish_composition]`` names them,
and each has a group of its own, ``[redfish_composition_<name>]``.

A flavor whose composition says ``"backend": "redfish"`` composes through
one of them (``"service": "<name>"``, or ``default_service``), as Cinder's
``enabled_backends`` name groups of their own.
"""

import re

from oslo_config import cfg

GROUP = cfg.OptGroup(
    "redfish_composition",
    title="Redfish composition services",
    help="The DMTF Redfish CompositionService endpoints composed flavors of "
    "the 'redfish' backend compose through. Each service named in "
    "enabled_services has its own group, [redfish_composition_<name>].",
)

SERVICE_GROUP_PREFIX = "redfish_composition_"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_]{0,31}$"
FORMS = ("auto", "specific", "constrained")

opts = [
    cfg.ListOpt(
        "enabled_services",
        default=["default"],
        help="Names of the Redfish composition services this deployment "
        "composes through; each is configured in its own group "
        "[redfish_composition_<name>]. Names are lower-case letters, digits "
        "and underscores.",
    ),
    cfg.StrOpt(
        "default_service",
        default="default",
        help="The service a 'redfish' composition uses when it names none.",
    ),
]

service_opts = [
    cfg.URIOpt(
        "address",
        schemes=["http", "https"],
        help="Base URL of the Redfish service (scheme, host and port; the "
        "service root is <address>/redfish/v1). Required to compose through "
        "this service. Composed systems are enrolled in Ironic with the "
        "redfish driver at this same address.",
    ),
    cfg.StrOpt("username", help="User name on the Redfish service."),
    cfg.StrOpt(
        "password",
        secret=True,
        help="Password on the Redfish service. Also given to Ironic in each "
        "composed node's driver_info; never logged.",
    ),
    cfg.StrOpt(
        "verify_ca",
        default="True",
        help="Either a boolean ('True', 'False') telling whether to verify "
        "the service's TLS certificate, or a path to a CA bundle to verify "
        "it with. Used by the engine and given to Ironic.",
    ),
    cfg.StrOpt(
        "auth_type",
        default="basic",
        choices=[
            ("basic", "HTTP Basic authentication on every request."),
            ("session", "A Redfish session (X-Auth-Token)."),
            ("auto", "A session when the service offers one, else Basic."),
        ],
        help="How the engine and Ironic authenticate to the service.",
    ),
    cfg.StrOpt(
        "composition_form",
        default="auto",
        choices=[
            (
                "auto",
                "Constrained when the Systems collection advertises it, else specific.",
            ),
            (
                "specific",
                "The engine picks free resource blocks that fit, all within "
                "one resource zone, and names them.",
            ),
            (
                "constrained",
                "The service picks the blocks from @Redfish.RequestedCount "
                "constraints.",
            ),
        ],
        help="How a composed system is asked for.",
    ),
    cfg.BoolOpt(
        "use_compose_action",
        default=True,
        help="Where the service offers CompositionService.Compose "
        "(CompositionService v1.2), reserve the blocks with PreviewReserve "
        "and then Apply the reservation, so that nothing is ever partly "
        "composed. When off, or not offered, a system is POSTed to the "
        "Systems collection.",
    ),
    cfg.FloatOpt(
        "request_timeout",
        default=60.0,
        min=1.0,
        help="Seconds to wait for the service to answer one request.",
    ),
    cfg.FloatOpt(
        "task_timeout",
        default=600.0,
        min=1.0,
        help="Seconds a compose or decompose answered with 202 and a task "
        "monitor may run before the engine gives up on it (the outcome of "
        "a compose is then unknown: the system is looked for by name).",
    ),
    cfg.FloatOpt(
        "task_poll_interval",
        default=2.0,
        min=0.01,
        help="Seconds between two reads of a task monitor when the service "
        "gives no Retry-After.",
    ),
    cfg.IntOpt(
        "max_concurrent_composes",
        min=0,
        help="How many composes may be sent to this service at once, by "
        "every engine together (0: no bound). Unset: 1 when the specific "
        "form is used (the engine picks free blocks, and two composes at "
        "once would pick the same ones), no bound for the constrained form "
        "(the service picks).",
    ),
    cfg.StrOpt(
        "zone",
        help="A resource zone Id: compose only from blocks of this zone. "
        "Empty: any zone (every block of one system still shares a zone).",
    ),
    cfg.StrOpt(
        "resource_class",
        help="Ironic resource class of the nodes composed through this "
        "service. Empty: [valence] resource_class.",
    ),
    cfg.StrOpt(
        "deploy_interface",
        help="Ironic deploy interface of the nodes composed through this "
        "service. Empty: [valence] deploy_interface.",
    ),
    cfg.StrOpt(
        "boot_interface",
        help="Ironic boot interface of the nodes composed through this "
        "service. Empty: [valence] boot_interface.",
    ),
]


def service_group(name: str) -> str:
    return SERVICE_GROUP_PREFIX + name


def register_service(conf: cfg.ConfigOpts, name: str) -> cfg.OptGroup:
    """The group of service ``name``, registered if it was not yet."""
    if not re.match(NAME_PATTERN, name):
        raise cfg.ConfigFileValueError(
            f"[redfish_composition] enabled_services: {name!r} is not a valid "
            "service name (lower-case letters, digits and underscores, at "
            "most 32)"
        )
    group = cfg.OptGroup(
        service_group(name),
        title=f"Redfish composition service {name}",
        help=f"The Redfish composition service '{name}'.",
    )
    conf.register_group(group)
    conf.register_opts(service_opts, group=group)
    return conf[group.name]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)
    # The default service's group is always known (and in the sample).
    register_service(conf, "default")


def list_opts() -> list[cfg.Opt]:
    return opts


def list_service_opts() -> list[cfg.Opt]:
    return service_opts
