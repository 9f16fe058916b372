"""The redfish backend's own logic: compositions, the composer registry,
Retry-After, and the choice of blocks (the service's answers stubbed at the
edge: the composer's reads). The HTTP side runs against the composition
simulator in tests/unit/valence/test_redfish_composer.py and the functional
tests."""

import email.utils

from oslo_config import cfg

from mogan_valence.conf import redfish_composition as rf_conf
from mogan_valence.valence import composer as composer_mod
from mogan_valence.valence import composition
from mogan_valence.valence import exceptions
from mogan_valence.valence import redfish
from tests import base

CONF = base.CONF
GIB = 1024**3


class TestComposition(base.TestCase):
    def test_redfish_keys(self):
        comp = {"backend": "redfish", "cpu_cores": 4, "ram_mib": 8192, "disk_gb": 10}
        self.assertEqual(comp, composition.validate(comp))
        self.assertEqual("redfish", composition.backend_of(comp))

    def test_default_backend(self):
        self.assertEqual("valence", composition.backend_of({"cpu_cores": 1}))
        self.assertEqual("redfish", composition.backend_of({"cpu_cores": 1}, "redfish"))

    def test_valence_keys_refused_for_redfish(self):
        for key, value in (
            ("podm_id", "13627827-fbb1-5d25-8dd2-480308d3db0c"),
            ("pci_devices", ["NIC"]),
        ):
            err = self.assertRaises(
                exceptions.InvalidComposition,
                composition.validate,
                {"backend": "redfish", "cpu_cores": 1, key: value},
            )
            self.assertIn(f"'{key}' is a Valence key", str(err))
        # ... and by the default backend too.
        self.assertRaises(
            exceptions.InvalidComposition,
            composition.validate,
            {"cpu_cores": 1, "pci_devices": ["NIC"]},
            "redfish",
        )

    def test_bad_backend_and_service(self):
        err = self.assertRaises(
            exceptions.InvalidComposition,
            composition.validate,
            {"backend": "rsd", "cpu_cores": 1},
        )
        self.assertIn("backend", str(err))
        err = self.assertRaises(
            exceptions.InvalidComposition,
            composition.validate,
            {"backend": "redfish", "service": "No Such!", "cpu_cores": 1},
        )
        self.assertIn("service", str(err))
        err = self.assertRaises(
            exceptions.InvalidComposition,
            composition.validate,
            {"service": "rack1", "cpu_cores": 1},
        )
        self.assertIn('"backend": "redfish"', str(err))

    def test_backend_alone_names_no_resources(self):
        err = self.assertRaises(
            exceptions.InvalidComposition,
            composition.validate,
            {"backend": "redfish"},
        )
        self.assertIn("names no resources", str(err))


class TestComposers(base.TestCase):
    def test_valence_by_default(self):
        composers = composer_mod.Composers(CONF, valence_client=object())
        self.assertIs(composers.valence, composers.for_composition({"cpu_cores": 1}))
        self.assertIs(composers.valence, composers.for_ref(None))

    def test_service_not_enabled(self):
        composers = composer_mod.Composers(CONF, valence_client=object())
        err = self.assertRaises(
            composer_mod.UnknownComposer,
            composers.for_composition,
            {"backend": "redfish", "service": "rack9", "cpu_cores": 1},
        )
        self.assertIn(
            "'rack9' is not in [redfish_composition] enabled_services", str(err)
        )

    def test_service_without_address(self):
        composers = composer_mod.Composers(CONF, valence_client=object())
        err = self.assertRaises(
            composer_mod.UnknownComposer,
            composers.for_composition,
            {"backend": "redfish", "cpu_cores": 1},
        )
        self.assertIn("[redfish_composition_default] address is not set", str(err))

    def test_address_with_credentials_refused(self):
        self.conf.config(
            address="http://u:p@127.0.0.1:1",
            username="u",
            password="p",
            group="redfish_composition_default",
        )
        composers = composer_mod.Composers(CONF, valence_client=object())
        err = self.assertRaises(composer_mod.UnknownComposer, composers.redfish)
        self.assertIn("must not carry credentials", str(err))
        self.assertNotIn(":p@", str(err))

    def test_basic_auth_needs_credentials(self):
        self.conf.config(
            address="http://127.0.0.1:1", group="redfish_composition_default"
        )
        composers = composer_mod.Composers(CONF, valence_client=object())
        err = self.assertRaises(composer_mod.UnknownComposer, composers.redfish)
        self.assertIn("username and password are needed", str(err))

    def test_one_composer_per_service(self):
        self.conf.config(
            enabled_services=["default", "rack2"], group="redfish_composition"
        )
        rf_conf.register_service(CONF, "rack2")
        for group, port in (("default", 1), ("rack2", 2)):
            self.conf.config(
                address=f"http://127.0.0.1:{port}",
                username="u",
                password="p",
                group=f"redfish_composition_{group}",
            )
        composers = composer_mod.Composers(CONF, valence_client=object())
        default = composers.for_composition({"backend": "redfish", "cpu_cores": 1})
        rack2 = composers.for_ref({"backend": "redfish", "service": "rack2"})
        self.assertEqual(("default", "rack2"), (default.service, rack2.service))
        self.assertIs(default, composers.redfish())
        self.assertEqual([composers.valence, default, rack2], composers.all())

    def test_bad_service_name(self):
        err = self.assertRaises(
            cfg.ConfigFileValueError, rf_conf.register_service, CONF, "Bad Name"
        )
        self.assertIn("not a valid service name", str(err))


class TestRetryAfter(base.TestCase):
    def test_seconds(self):
        self.assertEqual(3.0, redfish.retry_after("3", 1.0))
        self.assertEqual(1.0, redfish.retry_after(None, 1.0))
        self.assertEqual(1.0, redfish.retry_after("soon", 1.0))

    def test_http_date(self):
        when = email.utils.formatdate(1000.0 + 5, usegmt=True)
        self.assertAlmostEqual(5.0, redfish.retry_after(when, 1.0, now=lambda: 1000.0))
        # A date in the past: at once.
        self.assertEqual(0.0, redfish.retry_after(when, 1.0, now=lambda: 2000.0))


def _block(path, kinds, state="Unused", reserved=False, **links):
    return {
        "@odata.id": path,
        "ResourceBlockType": kinds,
        "CompositionStatus": {"CompositionState": state, "Reserved": reserved},
        **links,
    }


class StubbedComposer(redfish.RedfishComposer):
    """The service's answers from a dict of path -> JSON."""

    def __init__(self, answers, **options):
        self.flags_ = options
        CONF.set_override(
            "address", "http://127.0.0.1:9", "redfish_composition_default"
        )
        for key, value in options.items():
            CONF.set_override(key, value, "redfish_composition_default")
        super().__init__("default", CONF.redfish_composition_default, CONF)
        self.answers = answers

    def _get(self, path):
        if path == redfish.ROOT:
            return {"UUID": "8f0c1a0e-5b2e-4c55-9d1e-3f5c8a9b7d61"}
        return dict(self.answers[path])


def _pod():
    """Two zones: z1 holds a 8-core compute block, a 16-core processor
    block, a memory block and a 100 GiB storage block; z2 a lone compute
    block."""
    rb = "/redfish/v1/CompositionService/ResourceBlocks"
    answers = {
        "/cpu/8": {"TotalCores": 8},
        "/cpu/16": {"TotalCores": 16},
        "/mem/16g": {"CapacityMiB": 16384},
        "/mem/64g": {"CapacityMiB": 65536},
        "/drive/100": {"CapacityBytes": 100 * GIB},
        "/zones": {"Members": [{"@odata.id": "/z1"}, {"@odata.id": "/z2"}]},
        "/z1": {
            "Id": "1",
            "Links": {
                "ResourceBlocks": [
                    {"@odata.id": f"{rb}/{n}"} for n in ("C1", "P1", "M1", "S1")
                ]
            },
        },
        "/z2": {"Id": "2", "Links": {"ResourceBlocks": [{"@odata.id": f"{rb}/C2"}]}},
        rb: {
            "Members": [
                {"@odata.id": f"{rb}/{n}"} for n in ("C2", "C1", "P1", "M1", "S1")
            ]
        },
        f"{rb}/C1": _block(
            f"{rb}/C1",
            ["Compute"],
            Processors=[{"@odata.id": "/cpu/8"}],
            Memory=[{"@odata.id": "/mem/16g"}],
        ),
        f"{rb}/C2": _block(
            f"{rb}/C2",
            ["Compute"],
            Processors=[{"@odata.id": "/cpu/8"}],
            Memory=[{"@odata.id": "/mem/16g"}],
        ),
        f"{rb}/P1": _block(
            f"{rb}/P1", ["Processor"], Processors=[{"@odata.id": "/cpu/16"}]
        ),
        f"{rb}/M1": _block(f"{rb}/M1", ["Memory"], Memory=[{"@odata.id": "/mem/64g"}]),
        f"{rb}/S1": _block(f"{rb}/S1", "Storage", Drives=[{"@odata.id": "/drive/100"}]),
    }
    cs = {"ResourceBlocks": {"@odata.id": rb}, "ResourceZones": {"@odata.id": "/zones"}}
    return answers, cs, rb


class TestSpecificComposition(base.TestCase):
    def test_compute_block_alone_when_it_fits(self):
        answers, cs, rb = _pod()
        picked = StubbedComposer(answers)._pick(cs, {"cpu_cores": 8, "ram_mib": 1024})
        # z1 first (zones in the service's order), its compute block alone.
        self.assertEqual([f"{rb}/C1"], picked)

    def test_blocks_added_within_one_zone(self):
        answers, cs, rb = _pod()
        picked = StubbedComposer(answers)._pick(
            cs, {"cpu_cores": 20, "ram_mib": 70000, "disk_gb": 50}
        )
        self.assertEqual([f"{rb}/C1", f"{rb}/P1", f"{rb}/M1", f"{rb}/S1"], picked)

    def test_busy_blocks_are_skipped(self):
        answers, cs, rb = _pod()
        answers[f"{rb}/C1"]["CompositionStatus"] = {"CompositionState": "Composed"}
        picked = StubbedComposer(answers)._pick(cs, {"cpu_cores": 8})
        self.assertEqual([f"{rb}/C2"], picked)
        answers[f"{rb}/C2"]["CompositionStatus"] = {
            "CompositionState": "Unused",
            "Reserved": True,
        }
        err = self.assertRaises(
            redfish.RedfishNoCapacity,
            StubbedComposer(answers)._pick,
            cs,
            {"cpu_cores": 8},
        )
        self.assertIn("zone 1: no free Compute block", str(err))
        self.assertIn("zone 2: no free Compute block", str(err))

    def test_no_zone_fits_names_what_is_short(self):
        answers, cs, _ = _pod()
        err = self.assertRaises(
            redfish.RedfishNoCapacity,
            StubbedComposer(answers)._pick,
            cs,
            {"cpu_cores": 64},
        )
        self.assertIn("cores 64 (free: 24)", str(err))
        self.assertIn("cores 64 (free: 8)", str(err))

    def test_configured_zone(self):
        answers, cs, rb = _pod()
        picked = StubbedComposer(answers, zone="2")._pick(cs, {"cpu_cores": 1})
        self.assertEqual([f"{rb}/C2"], picked)
        err = self.assertRaises(
            redfish.RedfishBadRequest,
            StubbedComposer(answers, zone="9")._pick,
            cs,
            {"cpu_cores": 1},
        )
        self.assertIn("no resource zone '9'", str(err))


class TestConstrained(base.TestCase):
    def test_constraints(self):
        answers, _, _ = _pod()
        body = StubbedComposer(answers, zone="1")._constraints(
            {}, {"cpu_cores": 4, "ram_mib": 8192, "disk_gb": 20, "disk_type": "SSD"}
        )
        self.assertEqual(
            {
                "Processors": {
                    "Members": [
                        {
                            "@Redfish.RequestedCount": 1,
                            "ProcessorType": "CPU",
                            "TotalCores": 4,
                        }
                    ]
                },
                "Memory": {
                    "Members": [
                        {
                            "@Redfish.RequestedCount": 1,
                            "CapacityMiB": 8192,
                            "MemoryType": "DRAM",
                        }
                    ]
                },
                "Storage": {
                    "Members": [
                        {
                            "@Redfish.RequestedCount": 1,
                            "Drives": [
                                {
                                    "@Redfish.RequestedCount": 1,
                                    "CapacityBytes": 20 * GIB,
                                    "MediaType": "SSD",
                                }
                            ],
                        }
                    ]
                },
                "@Redfish.ZoneAffinity": "1",
            },
            body,
        )

    def test_totals_become_parts_of_the_smallest_size(self):
        answers, cs, _ = _pod()
        body = StubbedComposer(answers)._constraints(
            cs, {"cpu_cores": 20, "ram_mib": 40000, "disk_gb": 150}
        )
        # 8-core CPUs, 16 GiB DIMMs and 100 GiB drives are the smallest.
        self.assertEqual(
            {"@Redfish.RequestedCount": 3, "ProcessorType": "CPU", "TotalCores": 8},
            body["Processors"]["Members"][0],
        )
        self.assertEqual(
            {"@Redfish.RequestedCount": 3, "CapacityMiB": 16384, "MemoryType": "DRAM"},
            body["Memory"]["Members"][0],
        )
        self.assertEqual(
            {"@Redfish.RequestedCount": 2, "CapacityBytes": 100 * GIB},
            body["Storage"]["Members"][0]["Drives"][0],
        )

    def test_form_not_offered(self):
        answers, _, _ = _pod()
        composer = StubbedComposer(answers, composition_form="constrained")
        err = self.assertRaises(
            redfish.RedfishBadRequest,
            composer._form,
            {redfish.SPECIFIC: "/redfish/v1/Systems"},
        )
        self.assertIn(
            "does not advertise ComputerSystemConstrainedComposition", str(err)
        )
        self.assertEqual(
            redfish.CONSTRAINED,
            StubbedComposer(answers)._form(
                {redfish.SPECIFIC: "/s", redfish.CONSTRAINED: "/s"}
            ),
        )


class TestNodeUuid(base.TestCase):
    def test_stable_and_per_name(self):
        answers, _, _ = _pod()
        composer = StubbedComposer(answers)
        one = composer.node_uuid("/redfish/v1/Systems/1", "mogan-a")
        self.assertEqual(one, composer.node_uuid("/redfish/v1/Systems/1", "mogan-a"))
        # A service that reuses a system id gives another instance's system
        # another node.
        self.assertNotEqual(one, composer.node_uuid("/redfish/v1/Systems/1", "mogan-b"))
        # However the path is written.
        self.assertEqual(one, composer.node_uuid("/redfish/v1/Systems/1/", "mogan-a"))

    def test_addresses_normalised(self):
        for given in ("HTTPS://Composer.Example:443/", "https://composer.example"):
            self.assertEqual(
                "https://composer.example", redfish.normalise_address(given)
            )
        self.assertEqual(
            "http://10.0.0.1:8000", redfish.normalise_address("http://10.0.0.1:8000/")
        )
