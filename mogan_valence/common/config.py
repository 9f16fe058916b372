"""Parse the command line and configuration files for a service or tool."""

import logging

from oslo_config import cfg
from oslo_log import log

from mogan_valence import conf as _conf  # noqa: F401  (registers the options)
from mogan_valence import version

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

# Libraries that log every request at INFO; an operator wants our lines.
_QUIET_LOGGERS = [
    "alembic.runtime.migration=WARN",
    "keystoneauth=WARN",
    "oslo_messaging=WARN",
    "stevedore=WARN",
    "urllib3=WARN",
]


def setup_logging(conf: cfg.ConfigOpts = CONF) -> None:
    log.set_defaults(default_log_levels=log.get_default_log_levels() + _QUIET_LOGGERS)
    log.setup(conf, "mogan-valence")


def parse_args(
    argv: list[str], conf: cfg.ConfigOpts = CONF, *, log_to_stderr: bool = False
) -> None:
    """Parse ``argv`` and the config files it names.

    :param log_to_stderr: default for [DEFAULT] use_stderr; command-line tools
        log to stderr so that their stdout carries only their answer.
    """
    log.register_options(conf)
    if log_to_stderr:
        conf.set_default("use_stderr", True)
    conf(argv, project="mogan-valence", version=version.version_string())
