import os

from oslo_config import cfg

from mogan_valence.tempest_plugin import config
from mogan_valence.tempest_plugin import plugin
from tests import base


class TestPlugin(base.TestCase):
    def test_plugin_points_at_the_scenarios_and_registers_its_group(self):
        p = plugin.MoganValenceTempestPlugin()
        test_dir, top = p.load_tests()
        self.assertTrue(
            os.path.isfile(os.path.join(test_dir, "scenario", "test_instances.py"))
        )
        self.assertTrue(os.path.isdir(os.path.join(top, "mogan_valence")))
        conf = cfg.ConfigOpts()
        p.register_opts(conf)
        conf([], default_config_files=[])
        self.assertEqual(900, conf.mogan_valence.build_timeout)
        self.assertEqual([("mogan_valence", config.opts)], p.get_opt_lists())
        transport = [o for o in config.opts if o.name == "transport_url"][0]
        self.assertTrue(transport.secret)
