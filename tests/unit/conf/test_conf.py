import difflib
import pathlib

from oslo_config import cfg
from oslo_config import generator

from mogan_valence.conf import engine as engine_conf
from mogan_valence.conf import opts
from tests import base

ROOT = pathlib.Path(__file__).resolve().parents[3]
GENERATOR_CONF = ROOT / "etc" / "mogan-valence" / "config-generator.conf"
SAMPLE = ROOT / "etc" / "mogan-valence" / "mogan-valence.conf.sample"


class TestSampleConfig(base.TestCase):
    def test_sample_is_current(self):
        fresh = pathlib.Path(self.tmp_dir) / "sample.conf"
        generator.main(
            ["--config-file", str(GENERATOR_CONF), "--output-file", str(fresh)]
        )
        diff = list(
            difflib.unified_diff(
                SAMPLE.read_text().splitlines(),
                fresh.read_text().splitlines(),
                "committed",
                "generated",
                lineterm="",
            )
        )
        self.assertEqual(
            [],
            diff[:40],
            "etc/mogan-valence/mogan-valence.conf.sample is stale; "
            "regenerate it with 'make genconfig' (or 'tox -e genconfig')",
        )


class TestOptions(base.TestCase):
    def test_every_option_has_help(self):
        missing = [
            f"[{group}] {opt.dest}"
            for group, group_opts in opts.list_opts()
            for opt in group_opts
            if not (opt.help or "").strip()
        ]
        self.assertEqual([], missing)

    def test_passwords_are_secret(self):
        for group, group_opts in opts.list_opts():
            for opt in group_opts:
                if "password" in opt.dest:
                    self.assertTrue(opt.secret, f"[{group}] {opt.dest} is not secret")

    def test_defaults_make_a_working_embedded_setup(self):
        conf = cfg.CONF
        self.assertEqual(
            f"sqlite:///{self.tmp_dir}/mogan-valence.sqlite",
            conf.database.connection,
        )
        self.assertEqual("redfish", conf.valence.enroll_driver)
        self.assertLessEqual(
            conf.engine.poll_interval_min, conf.engine.poll_interval_max
        )

    def test_bad_values_are_refused_naming_the_option(self):
        self.assertRaises(
            ValueError, self.config, group="valence", enroll_driver="ipmi"
        )
        self.assertRaises(ValueError, self.config, group="engine", workers_pool_size=0)

    def test_a_config_file_with_the_old_enroll_timeout_still_works(self):
        path = pathlib.Path(self.tmp_dir) / "old.conf"
        path.write_text("[engine]\nenroll_timeout = 42\n")
        conf = cfg.ConfigOpts()
        engine_conf.register_opts(conf)
        conf([], default_config_files=[str(path)])
        self.assertEqual(42, conf.engine.node_action_timeout)
