"""The [valence] group: the Valence API and how composed nodes are enrolled."""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = cfg.OptGroup(
    "valence",
    title="Valence options",
    help="Where Valence is, how to talk to it, and how the nodes it composes "
    "are enrolled into Ironic. Valence itself has no authentication; the "
    "Keystone options below are for deployments that front it with Keystone.",
)

BACKENDS = ("valence", "redfish")

opts = [
    cfg.StrOpt(
        "backend",
        default="valence",
        choices=[
            ("valence", "Compose through the Valence API ([valence] url)."),
            (
                "redfish",
                "Compose through a DMTF Redfish CompositionService "
                "([redfish_composition]).",
            ),
        ],
        help="The composition backend of composed flavors whose composition "
        'names none (a composition chooses its own with "backend").',
    ),
    cfg.URIOpt(
        "url",
        default="http://127.0.0.1:8181",
        schemes=["http", "https"],
        help="Base URL of the Valence API (without the /v1 suffix).",
    ),
    cfg.FloatOpt(
        "connect_timeout",
        default=10.0,
        min=0.1,
        help="Seconds to wait for a TCP connection to Valence.",
    ),
    cfg.FloatOpt(
        "read_timeout",
        default=120.0,
        min=0.1,
        help="Seconds to wait for Valence to answer a request. Composing "
        "talks to the pod manager synchronously, so keep this generous.",
    ),
    cfg.IntOpt(
        "retries",
        default=3,
        min=0,
        help="How many times a safe request (GET, DELETE) is retried after a "
        "connection error or HTTP 503. A compose is never retried blindly: "
        "when its outcome is unknown the node is looked up by name.",
    ),
    cfg.FloatOpt(
        "retry_interval",
        default=1.0,
        min=0.0,
        help="Seconds before the first retry; each further retry waits twice as long.",
    ),
    cfg.StrOpt(
        "podm_id",
        help="UUID of the Valence pod manager to compose from, unless a "
        "flavor's composition names one. Required for composed flavors "
        "that do not name a pod manager.",
    ),
    cfg.StrOpt(
        "resource_class",
        default="baremetal-composed",
        help="Ironic resource class given to composed nodes. Keep it distinct "
        "from the classes of pre-set nodes so that regular scheduling never "
        "lands on a node composed for someone else.",
    ),
    cfg.IntOpt(
        "reconcile_interval",
        default=600,
        min=0,
        help="Seconds between two runs of the reconciler, which releases "
        "Valence nodes and removes Ironic nodes composed for instances that no "
        "longer need them (gone, deleted, or in ERROR). 0 disables it; "
        "'mogan-valence reconcile' runs it by hand.",
    ),
    cfg.IntOpt(
        "reconcile_grace_period",
        default=3600,
        min=0,
        help="Seconds a node must have existed before the reconciler may "
        "remove it. Keep it longer than the longest create, so that the "
        "reconciler never races a flow that is still working.",
    ),
    cfg.FloatOpt(
        "compose_lookup_window",
        default=10.0,
        min=0.0,
        help="Seconds to keep looking for a composed node by its name after a "
        "compose got no answer (timeout, connection lost). Valence may commit "
        "the node a moment after a first look finds nothing; looking again "
        "with back-off for this long lets the engine adopt (or release) it "
        "instead of leaving it composed. Longer windows make a failed create "
        "slower to end in ERROR; 0 looks once. A node that appears even later "
        "is released by the reconciler, which keeps looking for it.",
    ),
    cfg.StrOpt(
        "deployment_id",
        help="Identifies this deployment in the ownership marker of everything "
        "it enrolls (the Ironic node's extra['mogan_valence']['deployment']), "
        "so that two deployments sharing one Valence or one Ironic never reap "
        "each other's nodes. When unset, it is derived from [database] "
        "connection (without its password), which is stable as long as the "
        "database URL is. Set it explicitly before changing the database URL "
        "or when several engines of one deployment use different URLs for the "
        "same database; changing it later makes the reconciler leave the "
        "nodes enrolled under the old value alone.",
    ),
    cfg.BoolOpt(
        "compose_on_no_valid_node",
        default=False,
        help="When a flavor has both resources and a composition and "
        "scheduling finds no existing node on its last attempt, compose a "
        "node instead of failing with 'no valid node'.",
    ),
    cfg.StrOpt(
        "node_inventory",
        help="Path of a JSON or YAML file listing the hosts of ExpEther pod "
        "managers that are not in Ironic yet: a list of entries, each naming "
        "one host by 'mac' (its EESV's MAC), 'eesv' (the EESV id) or "
        "'host_serial_number', with the Ironic 'driver' and 'driver_info' to "
        "enroll it with (BMC credentials: keep the file readable by the "
        "engine only; they are never logged). Read again when it changes. A "
        "host found in Ironic by a port with the EESV's MAC is adopted "
        "instead, and stays enrolled after its instance.",
    ),
    cfg.IntOpt(
        "max_concurrent_composes",
        min=0,
        help="How many composes this engine sends at once to one pod manager "
        "(0: no limit). Unset: 1 for a pod manager whose driver is "
        "'expether', whose compose is not atomic (concurrent composes are "
        "given the same server), and no limit for the others.",
    ),
    cfg.StrOpt(
        "enroll_driver",
        default="redfish",
        choices=[
            (
                "redfish",
                "Manage the composed system through the pod "
                "manager's Redfish service (production).",
            ),
            (
                "fake-hardware",
                "Ironic's fake hardware type: no BMC is contacted (tests and demos).",
            ),
        ],
        help="Ironic hardware type for enrolled composed nodes.",
    ),
    cfg.StrOpt(
        "redfish_address",
        help="Redfish service (pod manager) URL put into each enrolled node's "
        "driver_info as redfish_address. Required with the redfish driver.",
    ),
    cfg.StrOpt(
        "redfish_username",
        help="User name for the Redfish service of composed nodes.",
    ),
    cfg.StrOpt(
        "redfish_password",
        secret=True,
        help="Password for the Redfish service of composed nodes. Stored in "
        "Ironic's driver_info; never logged.",
    ),
    cfg.StrOpt(
        "redfish_verify_ca",
        default="True",
        help="Either a boolean ('True', 'False') telling Ironic whether to "
        "verify the Redfish service's TLS certificate, or a path to a CA "
        "bundle to verify it with.",
    ),
    cfg.StrOpt(
        "redfish_auth_type",
        default="basic",
        choices=["basic", "session", "auto"],
        help="Redfish authentication Ironic uses for composed nodes.",
    ),
    cfg.StrOpt(
        "deploy_interface",
        default="ramdisk",
        help="Ironic deploy interface for enrolled composed nodes.",
    ),
    cfg.StrOpt(
        "boot_interface",
        default="redfish-virtual-media",
        help="Ironic boot interface for enrolled composed nodes with the "
        "redfish driver.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)
    ks_loading.register_session_conf_options(conf, GROUP.name)
    ks_loading.register_auth_conf_options(conf, GROUP.name)


def list_opts() -> list[cfg.Opt]:
    return (
        opts
        + ks_loading.get_session_conf_options()
        + ks_loading.get_auth_common_conf_options()
        + ks_loading.get_auth_plugin_conf_options("password")
    )
