"""The reads and writes made without an ORM session (``_read_one``, the
instance update) on SQLite, PostgreSQL and MariaDB."""

import datetime

import testtools

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.db import api as db_api
from mogan_valence.objects import flavor as flavor_obj
from mogan_valence.objects import instance as instance_obj
from tests import base
from tests.unit.db import test_quota

UUID = "0b6c2a39-8f1e-4c1a-9d2e-7a0f1e2d3c4b"


class RowsMixin:
    def test_an_instance_reads_back_as_written(self):
        db_api.instance_create(
            None,
            {
                "uuid": UUID,
                "name": "web-1",
                "extra": {"composed": {"cores": 4}},
                "composed": True,
                "composed_cores": 4,
            },
        )
        row = db_api.instance_get(None, UUID)
        self.assertEqual(("web-1", states.BUILDING), (row.name, row.status))
        self.assertEqual({"composed": {"cores": 4}}, row.extra)
        self.assertIs(True, row.composed)
        self.assertIsInstance(row.created_at, datetime.datetime)
        obj = instance_obj.Instance.get(None, UUID)
        self.assertEqual((UUID, 4), (obj.uuid, obj.composed_cores))
        self.assertEqual({}, obj.obj_get_changes())
        self.assertRaises(
            exception.InstanceNotFound, db_api.instance_get, None, UUID[:-1] + "0"
        )

    def test_an_update_swaps_only_from_the_expected_status(self):
        db_api.instance_create(None, {"uuid": UUID})
        row = db_api.instance_update(
            None,
            UUID,
            {"status": states.ACTIVE, "extra": {"a": 1}},
            expected_status=states.BUILDING,
        )
        self.assertEqual((states.ACTIVE, {"a": 1}), (row.status, row.extra))
        self.assertIsNotNone(row.updated_at)
        e = self.assertRaises(
            exception.InvalidStateTransition,
            db_api.instance_update,
            None,
            UUID,
            {"status": states.DELETING},
            expected_status=(states.BUILDING, states.ERROR),
        )
        self.assertIn(states.ACTIVE, str(e))
        self.assertEqual(states.ACTIVE, db_api.instance_get(None, UUID).status)

    def test_a_flavor_is_found_by_uuid_before_name(self):
        first = db_api.flavor_create(None, {"name": "small", "composition": {"a": 1}})
        # A flavor named after the first one's uuid.
        db_api.flavor_create(None, {"name": first.uuid})
        self.assertEqual("small", db_api.flavor_get(None, first.uuid).name)
        self.assertEqual({"a": 1}, flavor_obj.Flavor.get(None, "small").composition)
        self.assertRaises(exception.FlavorNotFound, db_api.flavor_get, None, "big")


class TestSQLite(RowsMixin, base.DbTestCase):
    pass


class TestPostgreSQL(RowsMixin, test_quota.OpportunisticMixin, testtools.TestCase):
    FIXTURE = test_quota.test_fixtures.PostgresqlOpportunisticFixture


class TestMariaDB(RowsMixin, test_quota.OpportunisticMixin, testtools.TestCase):
    FIXTURE = test_quota.test_fixtures.MySQLOpportunisticFixture
