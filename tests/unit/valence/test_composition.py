import jsonschema

from mogan_valence.valence import composition
from mogan_valence.valence import exceptions
from tests import base

PODM = "13627827-fbb1-5d25-8dd2-480308d3db0c"
FLAVOR = "0d9c8b7a-6f5e-4d3c-8b2a-1a0f9e8d7c6b"


class TestValidate(base.TestCase):
    def assertRefused(self, value, *words):
        err = self.assertRaises(
            exceptions.InvalidComposition, composition.validate, value
        )
        for word in words:
            self.assertIn(word, str(err))
        return err

    def test_inline_is_normalised(self):
        self.assertEqual(
            {
                "cpu_cores": 16,
                "cpu_model": "Xeon",
                "ram_mib": 65536,
                "ram_type": "DDR4",
                "disk_gb": 500,
                "disk_type": "SSD",
                "pci_devices": ["NIC"],
            },
            composition.validate(
                {
                    "cpu_cores": 16,
                    "cpu_model": " Xeon ",
                    "ram_mib": 65536,
                    "ram_type": "DDR4",
                    "disk_gb": 500,
                    "disk_type": "ssd",
                    "pci_devices": ["NIC"],
                }
            ),
        )

    def test_valence_flavor_form(self):
        self.assertEqual(
            {"valence_flavor": FLAVOR, "podm_id": PODM},
            composition.validate({"valence_flavor": FLAVOR, "podm_id": PODM}),
        )

    def test_bad_inputs_name_the_key(self):
        self.assertRefused({"cpu_cores": 4, "gpu": 1}, "'gpu'")
        self.assertRefused({"cpu_cores": -1}, "'cpu_cores'", "between")
        self.assertRefused({"cpu_cores": 0}, "'cpu_cores'")
        self.assertRefused({"ram_mib": 10**12}, "'ram_mib'")
        self.assertRefused({"cpu_cores": "16"}, "'cpu_cores'", "integer")
        self.assertRefused({"cpu_cores": True}, "'cpu_cores'")
        self.assertRefused({"disk_gb": 10, "disk_type": "tape"}, "'disk_type'")
        self.assertRefused({"disk_type": "SSD"}, "'disk_type': needs 'disk_gb'")
        self.assertRefused({"pci_devices": "NIC"}, "'pci_devices'")
        self.assertRefused({"pci_devices": [""]}, "'pci_devices'")
        self.assertRefused({"cpu_model": ""}, "'cpu_model'")
        self.assertRefused({"valence_flavor": "small"}, "'valence_flavor'", "UUID")
        self.assertRefused(
            {"valence_flavor": FLAVOR, "cpu_cores": 2}, "cannot be combined"
        )
        self.assertRefused({"podm_id": "pod-1", "cpu_cores": 2}, "'podm_id'")
        self.assertRefused({"podm_id": PODM}, "names no resources")
        self.assertRefused({}, "empty")
        self.assertRefused(["cpu_cores"], "JSON object")
        self.assertRefused(None, "JSON object")

    def test_messages_read_field_then_problem(self):
        for value, message in (
            ({"cpu_cores": -1}, "'cpu_cores': must be between 1 and 4096, not -1"),
            ({"cpu_cores": "16"}, "'cpu_cores': must be an integer, not '16'"),
            ({"cpu_cores": 4, "gpu": 1}, "'gpu': unknown key; known keys are "),
            ({"pci_devices": ["NIC", " "]}, "'pci_devices'[1]: must be a device"),
            (
                {"valence_flavor": FLAVOR, "ram_mib": 1024},
                "'ram_mib': cannot be combined with 'valence_flavor'",
            ),
            ({"podm_id": "pod-1", "cpu_cores": 2}, "'podm_id': must be a pod manager"),
        ):
            err = self.assertRefused(value)
            self.assertIn(f"Invalid composition: {message}", str(err))

    def test_more_refusals(self):
        self.assertRefused({"cpu_cores": 16.0}, "'cpu_cores'", "integer")
        self.assertRefused({"disk_gb": 1.5}, "'disk_gb'", "integer")
        self.assertRefused({"disk_gb": 10, "disk_type": "SSD\n"}, "'disk_type'")
        self.assertRefused({"disk_gb": 10, "disk_type": 5}, "'disk_type'")
        self.assertRefused({"pci_devices": ["NIC"] * 17}, "'pci_devices'", "16")
        self.assertRefused({"pci_devices": [1]}, "'pci_devices'[0]")
        self.assertRefused({"cpu_model": "x" * 256}, "'cpu_model'", "255")
        self.assertRefused({"ram_type": 4}, "'ram_type'", "string")
        self.assertRefused({"valence_flavor": 7}, "'valence_flavor'", "UUID")
        self.assertRefused({"cpu_cores": 4, "gpu": 1, "fpga": 1}, "'fpga', 'gpu'")
        self.assertRefused({"podm_id": "pod-1"}, "names no resources")

    def test_uuids_in_any_form_oslo_accepts(self):
        bare = FLAVOR.replace("-", "")
        self.assertEqual(
            {"valence_flavor": bare}, composition.validate({"valence_flavor": bare})
        )

    def test_schema_is_valid_draft_2020_12(self):
        jsonschema.Draft202012Validator.check_schema(composition.SCHEMA)


class TestToRequest(base.TestCase):
    def test_inline_becomes_string_valued_properties(self):
        body = composition.to_request(
            {
                "cpu_cores": 16,
                "cpu_model": "Xeon",
                "ram_mib": 65536,
                "ram_type": "DDR4",
                "disk_gb": 500,
                "disk_type": "SSD",
                "pci_devices": ["NIC"],
            },
            name="mogan-x",
            default_podm_id=PODM,
            description="for x",
        )
        self.assertEqual(
            {
                "name": "mogan-x",
                "podm_id": PODM,
                "description": "for x",
                "properties": {
                    "processor": {"total_cores": "16", "model": "Xeon"},
                    "memory": {"capacity_mib": "65536", "type": "DDR4"},
                    "pci_device": {"type": ["NIC"]},
                    "local_drives": [{"capacity_gib": "500", "type": "SSD"}],
                },
            },
            body,
        )

    def test_flavor_form_and_podm_precedence(self):
        other = "7b1f3c2a-0000-4000-8000-000000000001"
        body = composition.to_request(
            {"valence_flavor": FLAVOR, "podm_id": other}, name="n", default_podm_id=PODM
        )
        self.assertEqual({"name": "n", "podm_id": other, "flavor_id": FLAVOR}, body)

    def test_no_pod_manager_anywhere(self):
        err = self.assertRaises(
            exceptions.InvalidComposition,
            composition.to_request,
            {"cpu_cores": 2},
            name="n",
            default_podm_id=None,
        )
        self.assertIn("[valence] podm_id", str(err))


class TestRequestedHardware(base.TestCase):
    def test_inline(self):
        self.assertEqual(
            {"cores": 16, "ram_mib": 65536, "disk_gb": 0},
            composition.requested_hardware({"cpu_cores": 16, "ram_mib": 65536}),
        )

    def test_a_valence_flavor_counts_its_properties(self):
        valence_flavor = {
            "properties": {
                "processor": {"total_cores": "8", "model": "Xeon"},
                "memory": {"capacity_mib": "16384"},
                "local_drives": [{"capacity_gib": "100"}, {"capacity_gib": "20"}],
            }
        }
        self.assertEqual(
            {"cores": 8, "ram_mib": 16384, "disk_gb": 120},
            composition.requested_hardware(
                {"valence_flavor": "0d9c8b7a-6f5e-4d3c-8b2a-1a0f9e8d7c6b"},
                valence_flavor,
            ),
        )

    def test_what_is_not_a_number_counts_nothing(self):
        self.assertEqual(
            {"cores": 0, "ram_mib": 0, "disk_gb": 0},
            composition.requested_hardware(
                {"valence_flavor": "0d9c8b7a-6f5e-4d3c-8b2a-1a0f9e8d7c6b"},
                {"properties": {"processor": {"total_cores": "many"}, "memory": [1]}},
            ),
        )

    def test_huge_counts_are_bounded(self):
        got = composition.requested_hardware(
            {"valence_flavor": "0d9c8b7a-6f5e-4d3c-8b2a-1a0f9e8d7c6b"},
            {
                "properties": {
                    "processor": {"total_cores": "1e999"},
                    "memory": {"capacity_mib": "1e12"},
                }
            },
        )
        self.assertEqual({"cores": 0, "ram_mib": 2**31 - 1, "disk_gb": 0}, got)
