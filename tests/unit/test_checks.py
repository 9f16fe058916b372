"""tools/checks.py: each check finds what it is for, and nothing else."""

import importlib.util
import pathlib
import textwrap

from tests import base

ROOT = pathlib.Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location("checks", ROOT / "tools" / "checks.py")
checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checks)


def run(**files: str) -> list[str]:
    """The findings over the given modules, as 'module:line: CODE'."""
    sources = [
        checks.Source(f"{name}.py", textwrap.dedent(text))
        for name, text in files.items()
    ]
    return [f"{f.path}:{f.line}: {f.code}" for f in checks.check_sources(sources)]


TASK_HEADER = """\
import logging

from taskflow import task

LOG = logging.getLogger(__name__)
"""


class TestRevertSignature(base.TestCase):
    def test_revert_without_kwargs_is_found(self):
        found = run(
            tasks=TASK_HEADER
            + '''
class ComposeTask(task.Task):
    """Reversion strategy: release."""

    def revert(self, result, instance_uuid):
        pass
'''
        )
        self.assertEqual(["tasks.py:10: MV001"], found)

    def test_revert_with_kwargs_passes(self):
        found = run(
            tasks=TASK_HEADER
            + '''
class ComposeTask(task.Task):
    """Reversion strategy: release."""

    def revert(self, result, *args, **kwargs):
        pass
'''
        )
        self.assertEqual([], found)

    def test_subclass_in_another_module_is_an_atom_too(self):
        found = run(
            base_tasks=TASK_HEADER
            + """
class _Base(task.Task):
    def execute(self):
        pass
""",
            derived='''
from base_tasks import _Base


class Mark(_Base):
    """Reversion strategy: none."""

    def revert(self, result):
        pass
''',
        )
        self.assertEqual(["derived.py:8: MV001"], found)

    def test_retry_and_imported_class_names_count(self):
        found = run(
            retries="""
from taskflow.retry import Retry


class Again(Retry):
    def revert(self, history):
        pass
"""
        )
        self.assertEqual(["retries.py:5: MV002", "retries.py:6: MV001"], found)

    def test_a_class_that_is_no_atom_is_left_alone(self):
        found = run(
            other="""
class Thing:
    def revert(self, result):
        pass
"""
        )
        self.assertEqual([], found)


class TestReversionStrategy(base.TestCase):
    def test_missing_strategy_is_found_but_helpers_are_exempt(self):
        found = run(
            tasks=TASK_HEADER
            + '''
class _Helper(task.Task):
    """No strategy: abstract."""


class Deploy(task.Task):
    """Deploys."""
'''
        )
        self.assertEqual(["tasks.py:11: MV002"], found)


class TestLogging(base.TestCase):
    def test_preformatted_messages_are_found(self):
        found = run(
            mod="""
            import logging

            LOG = logging.getLogger(__name__)


            def f(uuid, logger):
                LOG.info(f"Composed {uuid}")
                LOG.warning("Composed %s" % uuid)
                LOG.error("Composed {}".format(uuid))
                LOG.debug("Composed " + uuid)
                LOG.log(logging.INFO, f"Composed {uuid}")
                logger.exception(f"Composed {uuid}")
            """
        )
        self.assertEqual(
            [
                "mod.py:8: MV010",
                "mod.py:9: MV010",
                "mod.py:10: MV010",
                "mod.py:11: MV010",
                "mod.py:12: MV010",
                "mod.py:13: MV010",
            ],
            found,
        )

    def test_lazy_arguments_and_other_calls_pass(self):
        found = run(
            mod="""
            import logging

            LOG = logging.getLogger(__name__)


            def f(uuid, parser):
                LOG.info("Composed %s", uuid)
                LOG.info(f"no placeholder")
                LOG.exception("Failed")
                message = f"{uuid}"
                parser.error(f"bad {uuid}")
                return message
            """
        )
        self.assertEqual([], found)

    def test_logger_from_elsewhere_is_found(self):
        found = run(
            a="""
            from oslo_log import log

            LOG = log.getLogger(__name__)
            """,
            b="""
            import logging

            LOG = logging.getLogger("mogan")
            """,
        )
        self.assertEqual(["a.py:4: MV011", "b.py:4: MV011"], found)

    def test_a_finding_can_be_silenced_on_its_line(self):
        found = run(
            mod="""
            import logging

            LOG = logging.getLogger(__name__)
            LOG.info("x" + "y")  # mv-checks: MV010  (a constant)
            LOG.info("x" + "y")  # mv-checks: MV001
            """
        )
        self.assertEqual(["mod.py:6: MV010"], found)


class TestTree(base.TestCase):
    def test_the_project_passes(self):
        files = checks.python_files(
            [ROOT / p for p in checks.DEFAULT_PATHS if (ROOT / p).exists()]
        )
        sources = [checks.Source(str(p), p.read_text()) for p in files]
        self.assertEqual([], [str(f) for f in checks.check_sources(sources)])

    def test_main_reports_and_fails(self):
        bad = pathlib.Path(self.tmp_dir) / "bad.py"
        bad.write_text('import logging\nLOG = logging.getLogger("x")\n')
        self.assertEqual(1, checks.main([str(bad)]))
        good = pathlib.Path(self.tmp_dir) / "good.py"
        good.write_text("import logging\nLOG = logging.getLogger(__name__)\n")
        self.assertEqual(0, checks.main([str(good)]))
