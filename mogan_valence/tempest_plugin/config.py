"""The [mogan_valence] options describing the deployment under test.

The scenarios reach the deployment the way a tenant does: through the REST
API (service type ``baremetal_compute`` in the Keystone catalog, or
``endpoint``), never through the message bus.
"""

from oslo_config import cfg

GROUP = cfg.OptGroup("mogan_valence", title="mogan-valence deployment under test")

SERVICE_TYPE = "baremetal_compute"

auth_opts = [
    cfg.StrOpt(
        "auth_type",
        default="password",
        choices=[
            (
                "password",
                "Keystone: the scenarios get tokens for 'username' (and "
                "'alt_username') and find the API in the catalog.",
            ),
            (
                "none",
                "No authentication: for an API with [api] auth_strategy = "
                "noauth (the embedded stack); 'endpoint' is required.",
            ),
        ],
        help="How the scenarios authenticate to the API.",
    ),
    cfg.URIOpt(
        "endpoint",
        help="The API's URL, ending in /v1 (for example "
        "http://cloud.example.com/baremetal_compute/v1). Default: the "
        "'baremetal_compute' endpoint of the Keystone catalog.",
    ),
    cfg.StrOpt(
        "interface",
        default="public",
        help="Which catalog endpoint of the API to use (public, internal).",
    ),
    cfg.StrOpt("region_name", help="The region of the catalog endpoint."),
    cfg.URIOpt("auth_url", help="Keystone's URL (for example .../identity/v3)."),
    cfg.StrOpt(
        "user_domain_name",
        default="Default",
        help="The domain of 'username' and 'alt_username'.",
    ),
    cfg.StrOpt(
        "project_domain_name",
        default="Default",
        help="The domain of 'project_name' and 'alt_project_name'.",
    ),
    cfg.StrOpt(
        "username",
        help="A member of 'project_name': creates, powers and deletes servers.",
    ),
    cfg.StrOpt("password", secret=True, help="The password of 'username'."),
    cfg.StrOpt("project_name", help="The project the servers are created in."),
    cfg.StrOpt(
        "alt_username",
        help="A non-admin user of another project ('alt_project_name'); when "
        "set, the tenant-isolation scenario checks it cannot see or touch "
        "the servers of 'project_name'.",
    ),
    cfg.StrOpt("alt_password", secret=True, help="The password of 'alt_username'."),
    cfg.StrOpt("alt_project_name", help="The project of 'alt_username'."),
    cfg.StrOpt(
        "admin_username",
        help="An admin (of 'admin_project_name'), for the checks only admins "
        "can make (flavors); when unset they run as 'username' and skip if "
        "it may not.",
    ),
    cfg.StrOpt("admin_password", secret=True, help="The password of 'admin_username'."),
    cfg.StrOpt("admin_project_name", help="The project of 'admin_username'."),
]

opts = [
    *auth_opts,
    cfg.StrOpt(
        "ironic_endpoint",
        help="Ironic API URL (noauth), to check nodes; unset: not checked.",
    ),
    cfg.StrOpt(
        "valence_url",
        help="Valence API URL, to check composed nodes; unset: not checked.",
    ),
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
    cfg.StrOpt(
        "image_source",
        help="Image to deploy (a Glance image UUID or an http(s) URL).",
    ),
    cfg.IntOpt(
        "build_timeout",
        default=900,
        min=1,
        help="Seconds a create, a power action or a delete may take.",
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
