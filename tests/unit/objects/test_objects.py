import datetime

from oslo_versionedobjects import exception as ovo_exc
from oslo_versionedobjects import fixture as ovo_fixture

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence import objects
from mogan_valence.objects import base
from mogan_valence.objects import flavor as flavor_obj
from mogan_valence.objects import instance as instance_obj
from mogan_valence.objects import instance_fault as fault_obj
from tests import base as test_base

objects.register_all()

# A change to an object's fields or remotable methods changes its hash: bump
# VERSION, record why in the comment above it, add obj_make_compatible for
# the older version, then update the hash here.
EXPECTED_HASHES = {
    "ComposedNodePayload": "1.0-a20747e14f03050d3147daaec1acc562",
    "FaultPayload": "1.0-b698a69121fa7ce4eb60a1866e5f8b6b",
    "Flavor": "1.1-40d2bf7986d87e0a23b69a127c58cbc5",
    "GrantedHardwarePayload": "1.0-ebb0a4158e9abcac0537461544311ae9",
    "Instance": "1.2-25034b7926e788592b47ed8bfbfc420b",
    "InstanceFault": "1.0-6b5b01b2cc7b6b547837acb168ec6eb9",
    "Quota": "1.0-112031418ad8b665ff3e03725f337632",
    "ServerActionPayload": "1.0-769ebdc62ef661c4a7f0b0373ca41223",
}


class TestObjectVersions(test_base.TestCase):
    def test_versions_match_fingerprints(self):
        checker = ovo_fixture.ObjectVersionChecker(
            base.MoganObjectRegistry.obj_classes()
        )
        expected, actual = checker.test_hashes(EXPECTED_HASHES)
        self.assertEqual(
            expected,
            actual,
            "Object fields changed: bump VERSION and update EXPECTED_HASHES",
        )

    def test_fingerprint_catches_an_unversioned_field_change(self):
        # The guard above is only worth something if a field change without a
        # version bump really changes the fingerprint.
        from oslo_versionedobjects import fields as ovo_fields

        @base.MoganObjectRegistry.register_if(False)
        class Instance(instance_obj.Instance):
            fields = dict(instance_obj.Instance.fields, sneaky=ovo_fields.StringField())

        checker = ovo_fixture.ObjectVersionChecker({"Instance": [Instance]})
        expected, actual = checker.test_hashes(
            {"Instance": EXPECTED_HASHES["Instance"]}
        )
        self.assertNotEqual(expected, actual)


def _instance(**kw):
    values = {
        "uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
        "name": "web-1",
        "status": states.BUILDING,
        "flavor_uuid": "0d9c8b7a-6f5e-4d3c-8b2a-1a0f9e8d7c6b",
        "composed": True,
        "extra": {"a": 1},
    }
    values.update(kw)
    return instance_obj.Instance(**values)


class TestInstanceCompat(test_base.TestCase):
    def test_backport_to_1_0_drops_composed(self):
        primitive = _instance().obj_to_primitive(target_version="1.0")
        self.assertEqual("1.0", primitive["mogan_object.version"])
        self.assertNotIn("composed", primitive["mogan_object.data"])
        self.assertEqual("web-1", primitive["mogan_object.data"]["name"])

    def test_1_1_keeps_composed(self):
        primitive = _instance().obj_to_primitive(target_version="1.1")
        self.assertEqual("1.1", primitive["mogan_object.version"])
        self.assertIs(True, primitive["mogan_object.data"]["composed"])

    def test_backport_to_1_1_drops_what_the_quota_counts(self):
        instance = _instance(composed_cores=16, composed_ram_mib=1024)
        primitive = instance.obj_to_primitive(target_version="1.1")
        self.assertNotIn("composed_cores", primitive["mogan_object.data"])
        self.assertNotIn("composed_ram_mib", primitive["mogan_object.data"])
        current = instance.obj_to_primitive()
        self.assertEqual("1.2", current["mogan_object.version"])
        self.assertEqual(16, current["mogan_object.data"]["composed_cores"])

    def test_1_0_consumer_reads_it_as_not_composed(self):
        primitive = _instance().obj_to_primitive(target_version="1.0")
        old = instance_obj.Instance.obj_from_primitive(primitive)
        self.assertFalse(old.obj_attr_is_set("composed"))
        self.assertFalse(old.is_composed)

    def test_flavor_backport_to_1_0_drops_composition(self):
        flavor = flavor_obj.Flavor(
            uuid="0d9c8b7a-6f5e-4d3c-8b2a-1a0f9e8d7c6b",
            name="c16",
            composition={"cpu_cores": 16},
        )
        primitive = flavor.obj_to_primitive(target_version="1.0")
        self.assertNotIn("composition", primitive["mogan_object.data"])
        self.assertIn("composition", flavor.obj_to_primitive()["mogan_object.data"])

    def test_unknown_version_is_refused(self):
        self.assertRaises(
            ovo_exc.InvalidTargetVersion,
            _instance().obj_to_primitive,
            target_version="2.0",
        )

    def test_composition_must_be_a_json_object(self):
        flavor = flavor_obj.Flavor()
        self.assertRaises(ValueError, setattr, flavor, "composition", ["cpu"])
        self.assertRaises(
            ValueError, setattr, flavor, "composition", {"when": datetime.date.today()}
        )


class TestInstancePersistence(test_base.DbTestCase):
    def test_create_get_save(self):
        inst = _instance(composed=None)
        inst.create(self.context)
        self.assertIsNotNone(inst.id)
        self.assertIsNotNone(inst.created_at)
        got = instance_obj.Instance.get(self.context, inst.uuid)
        self.assertEqual("web-1", got.name)
        self.assertEqual({"a": 1}, got.extra)
        self.assertIsNone(got.composed)
        self.assertFalse(got.is_composed)

        got.composed = True
        got.node_uuid = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
        got.save()
        again = instance_obj.Instance.get(self.context, inst.uuid)
        self.assertTrue(again.is_composed)
        self.assertEqual(got.node_uuid, again.node_uuid)
        self.assertIsNotNone(again.updated_at)

    def test_refresh_sees_other_writers(self):
        inst = _instance()
        inst.create(self.context)
        other = instance_obj.Instance.get(self.context, inst.uuid)
        other.status = states.ERROR
        other.save()
        inst.refresh()
        self.assertEqual(states.ERROR, inst.status)
        self.assertEqual(set(), inst.obj_what_changed())

    def test_get_unknown_names_it(self):
        err = self.assertRaises(
            exception.InstanceNotFound,
            instance_obj.Instance.get,
            self.context,
            "9c8ee1f6-3a65-4c87-a8b0-1d2d3f8c0b8e",
        )
        self.assertIn("9c8ee1f6-3a65-4c87-a8b0-1d2d3f8c0b8e", str(err))

    def test_list_filters(self):
        _instance(uuid="11111111-1111-4111-8111-111111111111", composed=True).create()
        _instance(uuid="22222222-2222-4222-8222-222222222222", composed=None).create()
        _instance(
            uuid="33333333-3333-4333-8333-333333333333",
            composed=False,
            status=states.DELETED,
        ).create()
        listed = instance_obj.Instance.list(self.context)
        self.assertEqual(2, len(listed))
        composed = instance_obj.Instance.list(self.context, composed=True)
        self.assertEqual(
            ["11111111-1111-4111-8111-111111111111"], [i.uuid for i in composed]
        )
        plain = instance_obj.Instance.list(
            self.context, composed=False, include_deleted=True
        )
        self.assertEqual(
            {
                "22222222-2222-4222-8222-222222222222",
                "33333333-3333-4333-8333-333333333333",
            },
            {i.uuid for i in plain},
        )

    def test_duplicate_uuid_is_a_conflict(self):
        _instance().create()
        self.assertRaises(exception.Conflict, _instance().create)

    def test_faults_newest_first(self):
        inst = _instance()
        inst.create()
        fault_obj.InstanceFault(
            instance_uuid=inst.uuid, code=500, message="first"
        ).create()
        fault_obj.InstanceFault(
            instance_uuid=inst.uuid, code=409, message="x" * 400, detail="long"
        ).create()
        latest = fault_obj.InstanceFault.get_latest_for_instances(
            self.context, [inst.uuid, "44444444-4444-4444-8444-444444444444"]
        )
        self.assertEqual([inst.uuid], list(latest))
        self.assertEqual(409, latest[inst.uuid].code)
        self.assertEqual(255, len(latest[inst.uuid].message))
        self.assertTrue(latest[inst.uuid].message.endswith("..."))


class TestFlavorPersistence(test_base.DbTestCase):
    def test_create_get_by_uuid_and_name(self):
        flavor = flavor_obj.Flavor(
            name="c16",
            resources={"CUSTOM_COMPOSED": 1},
            composition={"cpu_cores": 16, "ram_mib": 65536, "pci_devices": ["NIC"]},
        )
        flavor.create(self.context)
        self.assertTrue(flavor.is_public)
        self.assertFalse(flavor.disabled)
        by_uuid = flavor_obj.Flavor.get(self.context, flavor.uuid)
        by_name = flavor_obj.Flavor.get(self.context, "c16")
        self.assertEqual(by_uuid.uuid, by_name.uuid)
        self.assertEqual(
            {"cpu_cores": 16, "ram_mib": 65536, "pci_devices": ["NIC"]},
            by_name.composition,
        )
        self.assertTrue(by_name.is_composed)

    def test_preset_flavor_is_not_composed(self):
        flavor = flavor_obj.Flavor(name="bm", resources={"CUSTOM_BM": 1})
        flavor.create()
        self.assertFalse(flavor_obj.Flavor.get(self.context, "bm").is_composed)

    def test_duplicate_name_is_refused_naming_it(self):
        flavor_obj.Flavor(name="bm").create()
        err = self.assertRaises(
            exception.DuplicateName, flavor_obj.Flavor(name="bm").create
        )
        self.assertIn("bm", str(err))

    def test_update_and_destroy(self):
        flavor = flavor_obj.Flavor(name="bm")
        flavor.create()
        flavor.disabled = True
        flavor.save()
        self.assertTrue(flavor_obj.Flavor.get(self.context, "bm").disabled)
        flavor.destroy()
        self.assertRaises(
            exception.FlavorNotFound, flavor_obj.Flavor.get, self.context, "bm"
        )
        self.assertRaises(exception.FlavorNotFound, flavor.destroy)

    def test_list_sorted_by_name(self):
        for name in ("b", "a", "c"):
            flavor_obj.Flavor(name=name).create()
        self.assertEqual(
            ["a", "b", "c"], [f.name for f in flavor_obj.Flavor.list(self.context)]
        )
