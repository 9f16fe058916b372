"""Entry point ``tempest.test_plugins``: mogan_valence_tests."""

import os

from oslo_config import cfg

from mogan_valence.tempest_plugin import config

service_option = cfg.BoolOpt(
    "mogan_valence",
    default=True,
    help="Whether mogan-valence (the baremetal_compute service) is deployed.",
)


class MoganValenceTempestPlugin:
    """Tempest finds the scenarios and the [mogan_valence] options here."""

    def load_tests(self):
        base = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        test_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests")
        return test_dir, os.path.dirname(base)

    def register_opts(self, conf):
        config.register_opts(conf)
        conf.register_opt(service_option, group="service_available")

    def get_opt_lists(self):
        return [
            (config.GROUP.name, config.opts),
            ("service_available", [service_option]),
        ]
