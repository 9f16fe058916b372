"""Configuration options, one module per group.

Importing this package registers every group on the global ``CONF``; nothing
here reads a value, so importing never depends on a parsed configuration.
"""

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

CONF = cfg.CONF

default.register_opts(CONF)
api.register_opts(CONF)
coordination.register_opts(CONF)
database.register_opts(CONF)
engine.register_opts(CONF)
ironic.register_opts(CONF)
notifications.register_opts(CONF)
quota.register_opts(CONF)
redfish_composition.register_opts(CONF)
valence.register_opts(CONF)
