import difflib
import pathlib
import subprocess
import sys

from mogan_valence.api import policy
from tests import base

ROOT = pathlib.Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "etc" / "mogan-valence" / "policy.yaml.sample"
GENERATOR_CONF = ROOT / "etc" / "mogan-valence" / "policy-generator.conf"


class TestPolicySample(base.TestCase):
    def test_sample_is_current(self):
        fresh = pathlib.Path(self.tmp_dir) / "policy.yaml"
        generator = pathlib.Path(sys.executable).parent / "oslopolicy-sample-generator"
        subprocess.run(
            [
                str(generator),
                "--config-file",
                str(GENERATOR_CONF),
                "--output-file",
                str(fresh),
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        diff = list(
            difflib.unified_diff(
                SAMPLE.read_text().splitlines(),
                fresh.read_text().splitlines(),
                lineterm="",
            )
        )
        self.assertEqual(
            [], diff[:40], "policy.yaml.sample is stale; run 'make genpolicy'"
        )

    def test_every_rule_is_described_and_project_scoped(self):
        for rule in policy.list_rules():
            self.assertTrue(rule.description, rule.name)
            if rule.name.startswith("mogan:"):
                self.assertEqual(["project"], rule.scope_types, rule.name)
                self.assertTrue(rule.operations, rule.name)
