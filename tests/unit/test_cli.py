from mogan_valence.cli import shell
from tests import base


class TestParseComposition(base.TestCase):
    def test_json(self):
        self.assertEqual(
            {"cpu_cores": 4, "pci_devices": ["NIC"]},
            shell.parse_composition(['{"cpu_cores": 4, "pci_devices": ["NIC"]}']),
        )

    def test_pairs_with_typed_values(self):
        self.assertEqual(
            {
                "cpu_cores": 16,
                "ram_mib": 65536,
                "disk_type": "SSD",
                "pci_devices": ["NIC"],
                "cpu_model": "Xeon",
            },
            shell.parse_composition(
                [
                    "cpu_cores=16",
                    "ram_mib=65536",
                    "disk_type=SSD",
                    'pci_devices=["NIC"]',
                    "cpu_model=Xeon",
                ]
            ),
        )

    def test_bad_input_is_named(self):
        err = self.assertRaises(shell.CommandError, shell.parse_composition, ["{nope"])
        self.assertIn("not valid JSON", str(err))
        err = self.assertRaises(shell.CommandError, shell.parse_composition, ["cores"])
        self.assertIn("KEY=VALUE", str(err))
        self.assertIsNone(shell.parse_composition([]))

    def test_parser_requires_flavor_and_image(self):
        parser = shell.build_parser()
        self.assertRaises(SystemExit, parser.parse_args, ["server", "create", "x"])
        args = parser.parse_args(
            ["server", "create", "x", "--flavor", "f", "--image", "i", "--wait"]
        )
        self.assertTrue(args.wait)
