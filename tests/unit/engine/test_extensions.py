import os
import sys

import fixtures

from mogan_valence.engine import extensions
from mogan_valence.engine.flows import create_instance
from mogan_valence.engine.flows import instance_tasks
from tests import base
from tests.unit import fake_ironic

ENTRY_POINTS = """[mogan.engine.extensions]
test-recording = tests.unit.engine.sample_extensions:Recording
test-broken = tests.unit.engine.sample_extensions:Broken
test-not-an-extension = tests.unit.engine.sample_extensions:NotAnExtension
test-missing-module = tests.unit.engine.no_such_module:Nothing
"""


class TestLoad(base.TestCase):
    def setUp(self):
        super().setUp()
        dist = os.path.join(self.tmp_dir, "sample_ext-1.0.dist-info")
        os.makedirs(dist)
        with open(os.path.join(dist, "METADATA"), "w") as f:
            f.write("Metadata-Version: 2.1\nName: sample-ext\nVersion: 1.0\n")
        with open(os.path.join(dist, "entry_points.txt"), "w") as f:
            f.write(ENTRY_POINTS)
        self.useFixture(fixtures.MonkeyPatch("sys.path", [self.tmp_dir] + sys.path))
        self.host = extensions.ExtensionHost(conf=base.CONF, ironic=None)

    def load(self, *names):
        self.config(group="engine", enabled_extensions=list(names))
        return extensions.load(base.CONF, self.host)

    def test_none_enabled(self):
        self.assertEqual([], self.load())

    def test_loads_in_order_and_hands_over_the_host(self):
        loaded = self.load("test-recording")
        self.assertEqual(1, len(loaded))
        self.assertIs(self.host, loaded[0].host)

    def test_every_problem_is_named(self):
        err = self.assertRaises(
            extensions.ExtensionLoadError,
            self.load,
            "test-recording",
            "nope",
            "test-broken",
            "test-not-an-extension",
            "test-missing-module",
        )
        text = str(err)
        self.assertIn("'nope' is not installed", text)
        self.assertIn(
            "'test-broken' failed to load: RuntimeError: cannot reach its backend", text
        )
        self.assertIn("'test-not-an-extension' is not an EngineExtension", text)
        self.assertIn("'test-missing-module' failed to load", text)


class TestFlowShape(base.TestCase):
    def test_base_flow_retries_schedule_and_deploy(self):
        ironic = fake_ironic.FakeIronic()
        flow = create_instance.get_create_instance_flow(
            create_instance.base_tasks(ironic), max_attempts=3
        )
        names = [atom.name for atom, _ in flow.iter_nodes()]
        self.assertEqual(
            [
                "instance-to-error-on-revert",
                "schedule-and-deploy",
                "mark-instance-active",
            ],
            names,
        )
        sub = [a for a, _ in flow.iter_nodes()][1]
        self.assertIsInstance(sub.retry, instance_tasks.OnFailureRescheduleTask)
        self.assertEqual(3, sub.retry.max_attempts)
        self.assertEqual(
            ["schedule-create-instance", "create-instance"],
            [a.name for a, _ in sub.iter_nodes()],
        )

    def test_without_scheduling_tasks_nothing_is_rescheduled(self):
        ironic = fake_ironic.FakeIronic()
        tasks = [
            t
            for t in create_instance.base_tasks(ironic)
            if not getattr(t, "is_scheduling", False)
        ]
        flow = create_instance.get_create_instance_flow(tasks, max_attempts=3)
        self.assertEqual(
            ["instance-to-error-on-revert", "create-instance", "mark-instance-active"],
            [a.name for a, _ in flow.iter_nodes()],
        )
