"""Walk the alembic history on SQLite, PostgreSQL and MariaDB.

Each revision has a ``_pre_upgrade_<rev>`` that writes rows in the shape the
database has before it, and a ``_check_<rev>`` that proves those rows survive
the upgrade. PostgreSQL and MariaDB come from OS_TEST_DBAPI_ADMIN_CONNECTION
(``tools/with_services.py`` starts both); without them those classes skip
with oslo.db's reason, unless MOGAN_VALENCE_REQUIRE_SERVICES=1 makes that a
failure (as in CI).
"""

import datetime

from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
from oslo_db.sqlalchemy import test_migrations
from oslo_serialization import jsonutils
from oslo_db import exception as db_exc
import sqlalchemy as sa
import testtools

from mogan_valence.db import migration
from mogan_valence.db import models
from tests import base

INITIAL = "e2a228eee18a"
COMPOSED = "d190f5c3764e"
TASKFLOW = "5c1b7a3e9d20"
FLAVOR_ACCESS = "7f3a9c2b1d44"
QUOTAS = "3b8e5d2a6c71"
TASKFLOW_TABLES = {"logbooks", "flowdetails", "atomdetails"}

INSTANCE_UUID = "8f7b2c1e-4c5d-4b8a-9a7e-1f2e3d4c5b6a"
FLAVOR_UUID = "0d9c8b7a-6f5e-4d3c-8b2a-1a0f9e8d7c6b"


class MigrationWalkMixin(test_fixtures.OpportunisticDBTestMixin):
    SKIP_ON_UNAVAILABLE_DB = not base.REQUIRE_SERVICES

    def setUp(self):
        super().setUp()
        self.engine = enginefacade.writer.get_engine()

    def _table(self, name: str) -> sa.Table:
        return sa.Table(name, sa.MetaData(), autoload_with=self.engine)

    def _columns(self, table: str) -> set[str]:
        return {c["name"] for c in sa.inspect(self.engine).get_columns(table)}

    def test_history_is_linear_and_ends_at_head(self):
        revisions = migration.revisions()
        self.assertEqual(
            [INITIAL, COMPOSED, TASKFLOW, FLAVOR_ACCESS, QUOTAS], revisions
        )
        self.assertEqual(revisions[-1], migration.head())

    def test_walk_versions(self):
        self.assertIsNone(migration.version(engine=self.engine))
        for revision in migration.revisions():
            pre = getattr(self, f"_pre_upgrade_{revision}", None)
            data = pre() if pre else None
            migration.upgrade(revision, engine=self.engine)
            self.assertEqual(revision, migration.version(engine=self.engine))
            check = getattr(self, f"_check_{revision}")
            check(data)
        # Upgrading a database already at head changes nothing.
        migration.upgrade("head", engine=self.engine)
        self.assertEqual(migration.head(), migration.version(engine=self.engine))

    # -- e2a228eee18a: the initial Mogan shape ----------------------------

    def _check_e2a228eee18a(self, data):
        self.assertEqual(
            {"instances", "instance_faults", "flavors", "alembic_version"},
            set(sa.inspect(self.engine).get_table_names()),
        )
        self.assertFalse(
            TASKFLOW_TABLES & set(sa.inspect(self.engine).get_table_names())
        )
        self.assertNotIn("composed", self._columns("instances"))
        self.assertNotIn("composition", self._columns("flavors"))

    # -- d190f5c3764e: composed and composition ---------------------------

    def _pre_upgrade_d190f5c3764e(self):
        now = datetime.datetime(2026, 1, 2, 3, 4, 5)
        flavors = self._table("flavors")
        instances = self._table("instances")
        faults = self._table("instance_faults")
        with self.engine.begin() as conn:
            conn.execute(
                flavors.insert().values(
                    uuid=FLAVOR_UUID,
                    name="bm.small",
                    resources=jsonutils.dumps({"CUSTOM_BAREMETAL": 1}),
                    resource_traits=jsonutils.dumps({}),
                    is_public=True,
                    disabled=False,
                    created_at=now,
                )
            )
            conn.execute(
                instances.insert().values(
                    uuid=INSTANCE_UUID,
                    name="old-server",
                    status="active",
                    flavor_uuid=FLAVOR_UUID,
                    node_uuid="5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
                    extra=jsonutils.dumps({"k": "v"}),
                    launched_at=now,
                    created_at=now,
                )
            )
            conn.execute(
                faults.insert().values(
                    instance_uuid=INSTANCE_UUID,
                    code=500,
                    message="old fault",
                    created_at=now,
                )
            )
        return now

    def _check_d190f5c3764e(self, created_at):
        self.assertIn("composed", self._columns("instances"))
        self.assertIn("composition", self._columns("flavors"))
        with self.engine.connect() as conn:
            instance = conn.execute(
                sa.select(self._table("instances")).where(
                    sa.column("uuid") == INSTANCE_UUID
                )
            ).one()
            flavor = conn.execute(
                sa.select(self._table("flavors")).where(
                    sa.column("uuid") == FLAVOR_UUID
                )
            ).one()
            fault_count = conn.execute(
                sa.select(sa.func.count()).select_from(self._table("instance_faults"))
            ).scalar()
        # Rows written before the upgrade survive it unchanged ...
        self.assertEqual("old-server", instance.name)
        self.assertEqual("active", instance.status)
        self.assertEqual(created_at, instance.created_at)
        self.assertEqual({"k": "v"}, jsonutils.loads(instance.extra))
        self.assertEqual({"CUSTOM_BAREMETAL": 1}, jsonutils.loads(flavor.resources))
        self.assertEqual(1, fault_count)
        # ... and read back as "not composed" / "no composition".
        self.assertIsNone(instance.composed)
        self.assertIsNone(flavor.composition)
        # The new columns accept values.
        with self.engine.begin() as conn:
            conn.execute(
                self._table("instances")
                .update()
                .where(sa.column("uuid") == INSTANCE_UUID)
                .values(composed=True)
            )
        with self.engine.connect() as conn:
            self.assertTrue(
                conn.execute(
                    sa.select(sa.column("composed"))
                    .select_from(self._table("instances"))
                    .where(sa.column("uuid") == INSTANCE_UUID)
                ).scalar()
            )

    # -- 5c1b7a3e9d20: taskflow persistence ----------------------------------

    def _check_5c1b7a3e9d20(self, data):
        self.assertLessEqual(
            TASKFLOW_TABLES, set(sa.inspect(self.engine).get_table_names())
        )
        # taskflow itself finds everything it needs, and can write a flow.
        from taskflow.persistence import models as tf_models
        from taskflow.persistence.backends import impl_sqlalchemy

        backend = impl_sqlalchemy.SQLAlchemyBackend({}, engine=self.engine)
        conn = backend.get_connection()
        conn.validate()
        book = tf_models.LogBook("check")
        book.add(
            tf_models.FlowDetail("flow", uuid="f1b2c3d4-0000-4000-8000-00000000000f")
        )
        conn.save_logbook(book)
        self.assertEqual(["flow"], [fd.name for fd in conn.get_logbook(book.uuid)])
        # Rows written before the upgrade are still there.
        with self.engine.connect() as conn:
            self.assertEqual(
                1,
                conn.execute(
                    sa.select(sa.func.count()).select_from(self._table("instances"))
                ).scalar(),
            )

    # -- 7f3a9c2b1d44: flavor access lists ------------------------------------

    def _check_7f3a9c2b1d44(self, data):
        projects = self._table("flavor_projects")
        with self.engine.begin() as conn:
            conn.execute(
                projects.insert().values(flavor_uuid=FLAVOR_UUID, project_id="p-1")
            )
        # One row per flavor and project.
        self.assertRaises(
            (sa.exc.IntegrityError, db_exc.DBDuplicateEntry),
            self._insert_access,
            projects,
            "p-1",
        )
        # The flavor written before every upgrade keeps its access row.
        with self.engine.connect() as conn:
            self.assertEqual(
                ["p-1"],
                list(
                    conn.execute(
                        sa.select(projects.c.project_id).where(
                            projects.c.flavor_uuid == FLAVOR_UUID
                        )
                    ).scalars()
                ),
            )

    def _insert_access(self, projects, project_id):
        with self.engine.begin() as conn:
            conn.execute(
                projects.insert().values(flavor_uuid=FLAVOR_UUID, project_id=project_id)
            )

    # -- 3b8e5d2a6c71: project quotas -----------------------------------------

    def _check_3b8e5d2a6c71(self, data):
        quotas = self._table("project_quotas")
        with self.engine.begin() as conn:
            conn.execute(quotas.insert().values(project_id="p-1", servers=3))
        # One row per project: it is what concurrent creates lock.
        self.assertRaises(
            (sa.exc.IntegrityError, db_exc.DBDuplicateEntry),
            self._insert_quota,
            quotas,
            "p-1",
        )
        # The instance written before every upgrade counts no composed
        # hardware.
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(self._table("instances")).where(
                    sa.column("uuid") == INSTANCE_UUID
                )
            ).one()
        self.assertIsNone(row.composed_cores)
        self.assertIsNone(row.composed_ram_mib)
        self.assertIsNone(row.composed_disk_gb)

    def _insert_quota(self, quotas, project_id):
        with self.engine.begin() as conn:
            conn.execute(quotas.insert().values(project_id=project_id))


class TestMigrationsWalkSQLite(MigrationWalkMixin, testtools.TestCase):
    pass


class TestMigrationsWalkPostgreSQL(MigrationWalkMixin, testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture


class TestMigrationsWalkMariaDB(MigrationWalkMixin, testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture


class ModelsMigrationsSyncMixin(
    test_fixtures.OpportunisticDBTestMixin, test_migrations.ModelsMigrationsSync
):
    """The models and the migrations describe the same schema."""

    SKIP_ON_UNAVAILABLE_DB = not base.REQUIRE_SERVICES

    def setUp(self):
        super().setUp()
        self.engine = enginefacade.writer.get_engine()

    def db_sync(self, engine):
        migration.upgrade("head", engine=engine)

    def get_engine(self):
        return self.engine

    def get_metadata(self):
        return models.Base.metadata

    def include_object(self, object_, name, type_, reflected, compare_to):
        # taskflow owns its tables (checked in _check_5c1b7a3e9d20).
        ignored = {"alembic_version"} | TASKFLOW_TABLES
        if type_ == "table":
            return name not in ignored
        table = getattr(object_, "table", None)
        return table is None or table.name not in ignored


class TestModelsSyncSQLite(ModelsMigrationsSyncMixin, testtools.TestCase):
    pass


class TestModelsSyncPostgreSQL(ModelsMigrationsSyncMixin, testtools.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture


class TestModelsSyncMariaDB(ModelsMigrationsSyncMixin, testtools.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture
