"""mogan-valence-dbsync as an operator runs it: a real process, a real file."""

import os
import pathlib
import sqlite3
import subprocess
import sys

from mogan_valence.db import migration
from tests import base

ROOT = pathlib.Path(__file__).resolve().parents[3]


def dbsync(conf_file, *args, env=None, python=sys.executable):
    return subprocess.run(
        [
            python,
            "-m",
            "mogan_valence.cmd.dbsync",
            "--config-file",
            str(conf_file),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


class TestDbsync(base.TestCase):
    def setUp(self):
        super().setUp()
        self.db = pathlib.Path(self.tmp_dir) / "engine.sqlite"
        self.conf_file = pathlib.Path(self.tmp_dir) / "mogan-valence.conf"
        self.conf_file.write_text(f"[database]\nconnection = sqlite:///{self.db}\n")

    def _columns(self, table):
        with sqlite3.connect(self.db) as conn:
            return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}

    def test_upgrade_creates_composed_and_composition(self):
        result = dbsync(self.conf_file, "upgrade")
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn("composed", self._columns("instances"))
        self.assertIn("composition", self._columns("flavors"))
        self.assertIn(migration.head(), result.stdout)

        result = dbsync(self.conf_file, "version")
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(migration.head(), result.stdout.strip())

        # A second upgrade is a no-op and says so.
        result = dbsync(self.conf_file, "upgrade")
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn("already at", result.stdout)

    def test_upgrade_to_a_revision_then_head(self):
        first = migration.revisions()[0]
        self.assertEqual(0, dbsync(self.conf_file, "upgrade", first).returncode)
        self.assertNotIn("composed", self._columns("instances"))
        self.assertEqual(first, dbsync(self.conf_file, "version").stdout.strip())
        self.assertEqual(0, dbsync(self.conf_file, "upgrade").returncode)
        self.assertIn("composed", self._columns("instances"))

    def test_version_of_an_empty_database(self):
        result = dbsync(self.conf_file, "version")
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn("not under version control", result.stdout)

    def test_stamp(self):
        result = dbsync(self.conf_file, "stamp", "head")
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(
            migration.head(), dbsync(self.conf_file, "version").stdout.strip()
        )

    def test_unknown_revision_is_a_clear_error(self):
        result = dbsync(self.conf_file, "upgrade", "deadbeef0000")
        self.assertEqual(1, result.returncode)
        self.assertIn("deadbeef0000", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_unreachable_database_does_not_leak_the_password(self):
        self.conf_file.write_text(
            "[database]\n"
            "connection = postgresql+psycopg2://admin:s3cr3t-pw@127.0.0.1:1/nodb\n"
            "max_retries = 0\n"
        )
        result = dbsync(self.conf_file, "version")
        self.assertNotEqual(0, result.returncode)
        self.assertNotIn("s3cr3t-pw", result.stderr + result.stdout)
        self.assertIn("database error", result.stderr)

    def test_missing_command_is_a_usage_error(self):
        result = dbsync(self.conf_file)
        self.assertEqual(2, result.returncode)


class TestDbsyncInstalled(base.TestCase):
    """The wheel, installed away from the checkout, finds its migrations."""

    def test_installed_package_upgrades(self):
        tmp = pathlib.Path(self.tmp_dir)
        build = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "--quiet",
                "-w",
                str(tmp / "dist"),
                str(ROOT),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.assertEqual(0, build.returncode, build.stderr)
        wheel = next((tmp / "dist").glob("mogan_valence-*.whl"))
        prefix = tmp / "prefix"
        install = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--quiet",
                "--no-warn-script-location",
                # Never uninstall the copy this test suite runs from.
                "--ignore-installed",
                "--prefix",
                str(prefix),
                str(wheel),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.assertEqual(0, install.returncode, install.stderr)
        site = next(prefix.glob("lib/python3*/site-packages"))
        self.assertTrue((prefix / "share/mogan-valence/alembic/env.py").is_file())

        db = tmp / "installed.sqlite"
        conf_file = tmp / "installed.conf"
        conf_file.write_text(f"[database]\nconnection = sqlite:///{db}\n")
        # Run from elsewhere with the installed copy first on the path, so the
        # checkout's alembic/ cannot be what is found.
        env = dict(os.environ, PYTHONPATH=str(site))
        env.pop("MOGAN_VALENCE_ALEMBIC_DIR", None)
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import mogan_valence, sys; print(mogan_valence.__file__)",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
        )
        self.assertTrue(probe.stdout.startswith(str(site)), probe.stdout + probe.stderr)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mogan_valence.cmd.dbsync",
                "--config-file",
                str(conf_file),
                "upgrade",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
            timeout=120,
        )
        self.assertEqual(0, result.returncode, result.stderr)
        with sqlite3.connect(db) as conn:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(instances)")}
        self.assertIn("composed", columns)
