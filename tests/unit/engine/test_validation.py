import jsonschema

from mogan_valence.common import exception
from mogan_valence.engine import validation
from tests import base

IMAGE = "5f0a7c6e-3b1d-4e2f-9a8b-7c6d5e4f3a2b"
FLAVOR = {"name": "bm", "resources": {"baremetal": 1}}
INSTANCE = {"name": "web-1", "flavor": "bm", "image_source": IMAGE}


class RefusalMixin:
    def assertRefused(self, check, values, *words):
        err = self.assertRaises(exception.InvalidInput, check, values)
        for word in words:
            self.assertIn(word, str(err))
        return err


class TestSchemas(base.TestCase):
    def test_schemas_are_valid_draft_2020_12(self):
        for schema in (
            validation.CREATE_FLAVOR_SCHEMA,
            validation.CREATE_INSTANCE_SCHEMA,
        ):
            jsonschema.Draft202012Validator.check_schema(schema)

    def test_lengths_are_the_database_columns(self):
        self.assertEqual(255, validation.FLAVOR_NAME_MAX)
        self.assertEqual(255, validation.INSTANCE_NAME_MAX)
        self.assertEqual(255, validation.IMAGE_SOURCE_MAX)
        self.assertEqual(255, validation.NODE_NAME_MAX)
        self.assertEqual(65535, validation.DESCRIPTION_MAX)

    def test_the_error_class_and_root_are_the_callers(self):
        class Refused(exception.InvalidInput):
            msg_fmt = "Refused: %(reason)s"

        checker = validation.SchemaValidator(
            {"type": "object", "properties": {"n": {"type": "integer"}}},
            root="thing",
            error=Refused,
        )
        checker.validate({"n": 1})
        err = self.assertRaises(Refused, checker.validate, {"n": 1.5})
        self.assertEqual("Refused: 'thing.n': must be an integer, not 1.5", str(err))

    def test_an_invalid_schema_is_refused_at_once(self):
        self.assertRaises(
            jsonschema.SchemaError,
            validation.SchemaValidator,
            {"type": "text"},
        )


class TestFlavorRequest(RefusalMixin, base.TestCase):
    def refused(self, *words, **changes):
        return self.assertRefused(
            validation.validate_flavor_request, dict(FLAVOR, **changes), *words
        )

    def test_valid_request_is_normalised(self):
        self.assertEqual(
            {
                "name": "bm",
                "description": None,
                "resources": {"baremetal": 1},
                "resource_traits": {},
                "composition": None,
                "is_public": True,
            },
            validation.validate_flavor_request(
                {
                    "name": "  bm ",
                    "resources": {"baremetal": 1},
                    "resource_traits": None,
                    "composition": {},
                }
            ),
        )

    def test_every_field_kept(self):
        values = {
            "name": "gold",
            "description": "x" * validation.DESCRIPTION_MAX,
            "resources": {"baremetal": 1},
            "resource_traits": {
                "CUSTOM_RAID5": "required",
                "HW_CPU_X86_AVX2": "required",
            },
            "composition": {"cpu_cores": 4},
            "is_public": False,
        }
        self.assertEqual(values, validation.validate_flavor_request(dict(values)))

    def test_composition_alone_is_enough(self):
        got = validation.validate_flavor_request(
            {"name": "c", "resources": None, "composition": {"cpu_cores": 4}}
        )
        self.assertEqual({}, got["resources"])
        self.assertEqual({"cpu_cores": 4}, got["composition"])

    def test_the_caller_values_are_not_changed(self):
        values = dict(FLAVOR, name=" bm ")
        validation.validate_flavor_request(values)
        self.assertEqual(" bm ", values["name"])

    def test_name(self):
        self.refused("'flavor.name'", "string", name=5)
        self.refused("'flavor.name'", "empty or blank", name="")
        self.refused("'flavor.name'", "empty or blank", name=" \t ")
        self.refused("'flavor.name'", "at most 255", name="x" * 256)
        validation.validate_flavor_request(dict(FLAVOR, name="x" * 255))
        self.assertRefused(
            validation.validate_flavor_request,
            {"resources": {"baremetal": 1}},
            "'flavor.name': is required",
        )

    def test_description(self):
        self.refused("'flavor.description'", "string or null", description=["x"])
        self.refused("'flavor.description'", "at most 65535", description="x" * 65536)

    def test_resources(self):
        self.refused("'flavor.resources'", "JSON object", resources=["baremetal"])
        self.refused("'flavor.resources'", "JSON object", resources="baremetal")
        self.refused(
            "'flavor.resources'", "one resource class", resources={"a": 1, "b": 1}
        )
        self.refused("'flavor.resources.a'", "must be 1", resources={"a": 2})
        self.refused("'flavor.resources.a'", "must be 1", resources={"a": "1"})
        self.refused("'flavor.resources.a'", "must be 1", resources={"a": True})
        self.refused("'flavor.resources.a'", "must be 1", resources={"a": 1.0})
        self.refused("'flavor.resources'", "resource class", resources={"": 1})
        self.refused("'flavor.resources'", "1 to 255", resources={"x" * 256: 1})

    def test_a_flavor_needs_resources_or_a_composition(self):
        for resources, composition in ((None, None), ({}, None), ({}, {})):
            self.refused(
                "a flavor needs a resource class (resources) to schedule on, "
                "or a composition",
                resources=resources,
                composition=composition,
            )

    def test_traits_must_be_required(self):
        err = self.refused(
            resource_traits={"CUSTOM_X": "maybe"},
        )
        self.assertEqual(
            "Invalid input: 'flavor.resource_traits.CUSTOM_X': must be "
            "'required', not 'maybe'",
            str(err),
        )
        self.refused(
            "'flavor.resource_traits.CUSTOM_X'",
            "not 1",
            resource_traits={"CUSTOM_X": 1},
        )

    def test_forbidden_traits_are_refused_with_the_reason(self):
        err = self.refused(resource_traits={"CUSTOM_GPU": "forbidden"})
        self.assertEqual(
            "Invalid input: 'flavor.resource_traits.CUSTOM_GPU': "
            + validation.FORBIDDEN_TRAITS,
            str(err),
        )
        self.assertIn("allocation API can only require traits", str(err))

    def test_trait_names(self):
        for name in ("custom_x", "1X", "CUSTOM-X", "", "CUSTOM_X\n", "X" * 256):
            self.refused(
                "'flavor.resource_traits'",
                "trait name",
                repr(name)[:20],
                resource_traits={name: "required"},
            )
        self.refused(
            "'flavor.resource_traits'", "JSON object", resource_traits=["CUSTOM_X"]
        )
        got = validation.validate_flavor_request(
            dict(FLAVOR, resource_traits={"X" * 255: "required"})
        )
        self.assertEqual({"X" * 255: "required"}, got["resource_traits"])

    def test_composition_must_be_an_object(self):
        self.refused("'flavor.composition'", "JSON object", composition=["cpu"])
        self.refused("'flavor.composition'", "JSON object", composition="small")

    def test_is_public(self):
        self.refused("'flavor.is_public'", "boolean", is_public="yes")
        self.refused("'flavor.is_public'", "boolean", is_public=None)
        self.refused("'flavor.is_public'", "boolean", is_public=1)

    def test_unknown_keys_are_named(self):
        self.refused("'flavor.colour'", "unknown key", colour="red")
        self.refused(
            "'flavor.extra', 'flavor.uuid'", "unknown keys", uuid="u", extra={}
        )

    def test_not_an_object(self):
        self.assertRefused(
            validation.validate_flavor_request, None, "'flavor'", "JSON object"
        )


class TestInstanceRequest(RefusalMixin, base.TestCase):
    def refused(self, *words, **changes):
        return self.assertRefused(
            validation.validate_instance_request, dict(INSTANCE, **changes), *words
        )

    def test_valid_request_is_normalised(self):
        self.assertEqual(
            {
                "name": "web-1",
                "flavor": "bm",
                "image_source": "http://images/x.qcow2",
                "description": " as given ",
            },
            validation.validate_instance_request(
                {
                    "name": " web-1 ",
                    "flavor": " bm\n",
                    "image_source": " http://images/x.qcow2 ",
                    "description": " as given ",
                }
            ),
        )

    def test_image_sources_ironic_deploys_from(self):
        for source in (
            IMAGE,
            IMAGE.replace("-", ""),
            "http://i/x.qcow2",
            "https://i/x.qcow2",
            "file:///var/x.qcow2",
            "oci://quay.io/x:1",
        ):
            got = validation.validate_instance_request(
                dict(INSTANCE, image_source=source)
            )
            self.assertEqual(source, got["image_source"])

    def test_name(self):
        self.refused("'instance.name'", "string", name=None)
        self.refused("'instance.name'", "empty or blank", name="  ")
        self.refused("'instance.name'", "at most 255", name="x" * 256)

    def test_flavor(self):
        self.refused("'instance.flavor'", "string", flavor={"name": "bm"})
        self.refused("'instance.flavor'", "empty or blank", flavor="")
        self.refused("'instance.flavor'", "at most 255", flavor="x" * 256)

    def test_description(self):
        self.refused("'instance.description'", "string or null", description=5)
        self.refused("'instance.description'", "at most 65535", description="x" * 65536)

    def test_image_source(self):
        self.refused("'instance.image_source'", "string", image_source=None)
        self.refused("'instance.image_source'", "empty or blank", image_source=" ")
        # Stored as is by SQLite, a database error on PostgreSQL and MySQL.
        self.refused(
            "'instance.image_source'",
            "at most 255 characters long, not 400",
            image_source="http://i/" + "x" * 391,
        )
        for source in ("ubuntu", "ftp://a/b", "glance://x", IMAGE[:-1]):
            err = self.refused(image_source=source)
            self.assertEqual(
                f"Invalid input: 'instance.image_source': {source!r} is neither "
                "an image UUID nor a http/https/file/oci URL",
                str(err),
            )

    def test_required_and_unknown_keys(self):
        for key in ("name", "flavor", "image_source"):
            values = dict(INSTANCE)
            del values[key]
            self.assertRefused(
                validation.validate_instance_request,
                values,
                f"'instance.{key}': is required",
            )
        self.refused("'instance.project_id'", "unknown key", project_id="p")
