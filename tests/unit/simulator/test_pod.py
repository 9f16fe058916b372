import json

from mogan_valence.simulator import pod
from tests import base


class TestPod(base.TestCase):
    def test_uniform_pod_is_deterministic(self):
        a, b = pod.uniform(3), pod.uniform(3)
        self.assertEqual(a, b)
        self.assertEqual(3, len(a.systems))
        self.assertEqual(6, len(a.drives))
        macs = [nic.mac for s in a.systems for nic in s.nics]
        self.assertEqual(len(macs), len(set(macs)))
        self.assertTrue(a.systems[0].path.startswith("/redfish/v1/Systems/"))

    def test_pod_file(self):
        path = f"{self.tmp_dir}/pod.json"
        with open(path, "w") as f:
            json.dump(
                {
                    "systems": [
                        {
                            "id": "S1",
                            "cpu_cores": 8,
                            "ram_mib": 1024,
                            "nics": [{"mac": "AA:BB:CC:DD:EE:FF"}],
                        }
                    ],
                    "drives": [{"id": "D1", "capacity_gib": 10, "type": "HDD"}],
                },
                f,
            )
        loaded = pod.load(path)
        self.assertEqual("aa:bb:cc:dd:ee:ff", loaded.systems[0].nics[0].mac)
        self.assertEqual(10, loaded.drive("D1").capacity_gib)

    def test_bad_pod_files_say_what_is_wrong(self):
        cases = [
            ({"systems": []}, "at least one system"),
            ({"systems": [{"cpu_cores": 2}]}, "systems[0] needs an 'id'"),
            ({"systems": [{"id": "a"}, {"id": "a"}]}, "duplicate id"),
            ({"systems": [{"id": "a", "cpu_cores": -2}]}, "systems[0].cpu_cores"),
            (
                {"systems": [{"id": "a"}], "drives": [{"id": "d"}]},
                "drives[0].capacity_gib",
            ),
            ([], "'systems' list"),
        ]
        for data, words in cases:
            err = self.assertRaises(pod.PodFileError, pod.from_dict, data)
            self.assertIn(words, str(err))
        err = self.assertRaises(pod.PodFileError, pod.load, f"{self.tmp_dir}/missing")
        self.assertIn("missing", str(err))

    def test_matching(self):
        system = pod.uniform(1).systems[0]
        self.assertTrue(pod.system_fits(system, {}))
        self.assertTrue(pod.system_fits(system, {"processor": {"model": "xeon"}}))
        self.assertFalse(pod.system_fits(system, {"processor": {"model": "EPYC"}}))
        self.assertFalse(pod.system_fits(system, {"memory": {"type": "DDR5"}}))
        self.assertFalse(pod.system_fits(system, {"pci_device": {"type": ["GPU"]}}))
        self.assertFalse(
            pod.system_fits(
                system, {"memory": {"capacity_mib": str(system.ram_mib + 1)}}
            )
        )

    def test_pick_drives_smallest_first_without_reuse(self):
        p = pod.from_dict(
            {
                "systems": [{"id": "s"}],
                "drives": [
                    {"id": "big", "capacity_gib": 1000, "type": "SSD"},
                    {"id": "small", "capacity_gib": 100, "type": "SSD"},
                    {"id": "hdd", "capacity_gib": 500, "type": "HDD"},
                ],
            }
        )
        free = {"big", "small", "hdd"}
        self.assertEqual(
            ["small"], pod.pick_drives(p, free, [{"capacity_gib": "50", "type": "SSD"}])
        )
        self.assertEqual(
            ["small", "big"],
            pod.pick_drives(
                p,
                free,
                [
                    {"capacity_gib": "50", "type": "ssd"},
                    {"capacity_gib": "50", "type": "SSD"},
                ],
            ),
        )
        self.assertIsNone(
            pod.pick_drives(p, {"hdd"}, [{"capacity_gib": "50", "type": "SSD"}])
        )
