"""The [ironic] group: how to reach the Bare Metal service."""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = cfg.OptGroup(
    "ironic",
    title="Ironic options",
    help="Keystone authentication and endpoint of the Bare Metal service. "
    "For a deployment without Keystone set auth_type = none and "
    "endpoint_override to the Ironic API URL.",
)

opts = [
    cfg.StrOpt(
        "api_version",
        default="1.81",
        help="Bare Metal API microversion every request is pinned to. The "
        "engine needs at least 1.61 (allocations, retired nodes).",
    ),
]

DEFAULT_SERVICE_TYPE = "baremetal"


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)
    ks_loading.register_session_conf_options(conf, GROUP.name)
    ks_loading.register_auth_conf_options(conf, GROUP.name)
    ks_loading.register_adapter_conf_options(conf, GROUP.name)
    conf.set_default("service_type", DEFAULT_SERVICE_TYPE, group=GROUP.name)
    conf.set_default("timeout", 60, group=GROUP.name)


def list_opts() -> list[cfg.Opt]:
    return (
        opts
        + ks_loading.get_session_conf_options()
        + ks_loading.get_auth_common_conf_options()
        + ks_loading.get_auth_plugin_conf_options("password")
        + ks_loading.get_adapter_conf_options(include_deprecated=False)
    )
