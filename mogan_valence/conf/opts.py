"""Option listing for oslo-config-generator and its defaults hook."""

from oslo_config import cfg

from mogan_valence.conf import api
from mogan_valence.conf import coordination
from mogan_valence.conf import database
from mogan_valence.conf import default
from mogan_valence.conf import engine
from mogan_valence.conf import ironic
from mogan_valence.conf import notifications
from mogan_valence.conf import quota
from mogan_valence.conf import redfish_composition
from mogan_valence.conf import valence


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Every option this service owns, grouped (entry point oslo.config.opts)."""
    return [
        ("DEFAULT", default.list_opts()),
        (api.GROUP, api.list_opts()),
        (coordination.GROUP, coordination.list_opts()),
        (engine.GROUP, engine.list_opts()),
        (ironic.GROUP, ironic.list_opts()),
        (notifications.GROUP, notifications.list_opts()),
        (quota.GROUP, quota.list_opts()),
        (redfish_composition.GROUP, redfish_composition.list_opts()),
        (
            redfish_composition.service_group("default"),
            redfish_composition.list_service_opts(),
        ),
        (valence.GROUP, valence.list_opts()),
    ]


def update_opt_defaults() -> None:
    """Defaults this service sets on library options (oslo.config.opts.defaults)."""
    database.set_sample_defaults()
