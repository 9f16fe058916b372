"""Concurrent creates of one project never overshoot its quota, on SQLite,
PostgreSQL and MariaDB (the latter two from OS_TEST_DBAPI_ADMIN_CONNECTION,
as the migration tests)."""

import threading

from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
from oslo_utils import uuidutils
import testtools

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.db import api as db_api
from mogan_valence.db import migration
from tests import base

PROJECT = "f00dfeed0000400080000000000000aa"
DEFAULTS = {"servers": 5, "cores": -1, "ram_mib": -1, "disk_gb": -1}
THREADS = 12


class ConcurrentCreatesMixin:
    def _create(self, project=PROJECT, **values):
        db_api.instance_create(
            None,
            dict(values, uuid=uuidutils.generate_uuid(), project_id=project),
            quota_defaults=DEFAULTS,
        )

    def _race(self, **values) -> tuple[int, list]:
        """THREADS creates at once: (how many got in, unexpected errors)."""
        start = threading.Barrier(THREADS)
        created, refused, unexpected = [], [], []

        def one():
            start.wait()
            try:
                self._create(**values)
                created.append(1)
            except exception.QuotaExceeded:
                refused.append(1)
            except Exception as e:  # noqa: BLE001  (reported below)
                unexpected.append(e)

        threads = [threading.Thread(target=one) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(THREADS, len(created) + len(refused) + len(unexpected))
        return len(created), unexpected

    def test_concurrent_creates_never_overshoot(self):
        created, unexpected = self._race()
        self.assertEqual([], unexpected)
        self.assertEqual(DEFAULTS["servers"], created)
        _, usage = db_api.quota_get(None, PROJECT)
        self.assertEqual(DEFAULTS["servers"], usage["servers"])

    def test_composed_amounts_too(self):
        db_api.quota_update(None, PROJECT, {"servers": -1, "cores": 40})
        created, unexpected = self._race(composed_cores=16)
        self.assertEqual([], unexpected)
        self.assertEqual(2, created)
        self.assertEqual(32, db_api.quota_get(None, PROJECT)[1]["cores"])

    def test_deleted_instances_give_their_quota_back(self):
        db_api.quota_update(None, PROJECT, {"servers": 1})
        self._create()
        self.assertRaises(exception.QuotaExceeded, self._create)
        (row,) = db_api.instance_get_all(None, project_id=PROJECT)
        db_api.instance_update(None, row.uuid, {"status": states.DELETED})
        self._create()
        # Without a project (internal callers on the bus), nothing is counted.
        for _ in range(3):
            db_api.instance_create(
                None, {"uuid": uuidutils.generate_uuid()}, quota_defaults=DEFAULTS
            )


class TestSQLite(ConcurrentCreatesMixin, base.DbTestCase):
    pass


class OpportunisticMixin(test_fixtures.OpportunisticDBTestMixin):
    SKIP_ON_UNAVAILABLE_DB = not base.REQUIRE_SERVICES

    def setUp(self):
        super().setUp()
        engine = enginefacade.writer.get_engine()
        migration.upgrade("head", engine=engine)
        db_api.dispose()
        db_api.configure(connection=engine.url.render_as_string(hide_password=False))
        self.addCleanup(db_api.dispose)


class TestPostgreSQL(ConcurrentCreatesMixin, OpportunisticMixin, testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture


class TestMariaDB(ConcurrentCreatesMixin, OpportunisticMixin, testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture
