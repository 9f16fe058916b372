"""RedfishComposer over HTTP against the composition simulator (in process,
with in-memory BMCs): both composition forms, both answer modes, the
Compose action and its reservations, task monitors, and faults."""

from mogan_valence.simulator.composition import server as sim_server
from mogan_valence.valence import redfish
from tests import base

CONF = base.CONF

COMPOSITION = {"backend": "redfish", "cpu_cores": 20, "ram_mib": 70000, "disk_gb": 100}


class ComposerTestCase(base.TestCase):
    mode = "sync"
    forms = ("specific", "constrained")
    compose_action = True
    composition_form = "auto"
    use_compose_action = True

    def setUp(self):
        super().setUp()
        self.sim = sim_server.CompositionSimulator(
            sim_server.Options(
                mode=self.mode,
                forms=self.forms,
                compose_action=self.compose_action,
                task_seconds=0.2,
                emulator=False,
                compute_blocks=2,
                zones=1,
            )
        )
        self.sim.start()
        self.addCleanup(self.sim.stop)
        group = "redfish_composition_default"
        self.conf.config(
            address=self.sim.url,
            username=self.sim.username,
            password=self.sim.password,
            composition_form=self.composition_form,
            use_compose_action=self.use_compose_action,
            task_poll_interval=0.05,
            task_timeout=5,
            group=group,
        )
        self.conf.config(compose_lookup_window=0.5, group="valence")
        self.composer = redfish.RedfishComposer("default", CONF[group], CONF)

    def systems(self) -> list[dict]:
        return [s for s in self.sim.state()["systems"] if s["visible"]]

    def busy_blocks(self) -> list[str]:
        return [
            b["id"]
            for b in self.sim.state()["blocks"]
            if b["state"] != "Unused" or b["reserved"]
        ]


class LifeCycle:
    """Run for each form, answer mode and way of composing (subclasses)."""

    def test_compose_find_release(self):
        node = self.composer.compose("mogan-a", COMPOSITION, description="for a")
        self.assertEqual("mogan-a", node["name"])
        self.assertEqual(
            [node["uuid"]], [s["uuid"] for s in self.composer.list_nodes()]
        )
        self.assertEqual(
            [node["uuid"]],
            [n["uuid"] for n in self.composer.find_nodes_by_name("mogan-a")],
        )
        self.assertEqual([], self.composer.find_nodes_by_name("mogan-b"))
        # What Ironic gets: the totals asked for, or more.
        props, macs = self.composer.hardware(self.composer.get_node(node["uuid"]))
        self.assertGreaterEqual(props["cpus"], 20)
        self.assertGreaterEqual(props["memory_mb"], 70000)
        self.assertGreaterEqual(props["local_gb"], 100)
        self.assertTrue(macs)
        self.assertTrue(self.busy_blocks())

        self.assertTrue(self.composer.release_node(node["uuid"]))
        self.assertEqual([], self.systems())
        self.assertEqual([], self.busy_blocks())
        # Released twice: already gone.
        self.assertFalse(self.composer.release_node(node["uuid"]))
        self.assertRaises(redfish.RedfishNotFound, self.composer.get_node, node["uuid"])

    def test_no_capacity_names_the_need(self):
        first = self.composer.compose("mogan-a", COMPOSITION)
        second = self.composer.compose("mogan-b", COMPOSITION)
        err = self.assertRaises(
            redfish.RedfishCompositionError,
            self.composer.compose,
            "mogan-c",
            COMPOSITION,
        )
        self.assertIsInstance(err, (redfish.RedfishConflict, redfish.RedfishBadRequest))
        self.assertEqual(2, len(self.systems()))
        for node in (first, second):
            self.composer.release_node(node["uuid"])
        self.assertEqual([], self.busy_blocks())


class TestSpecificSyncPost(LifeCycle, ComposerTestCase):
    composition_form = "specific"
    use_compose_action = False


class TestConstrainedAsyncPost(LifeCycle, ComposerTestCase):
    mode = "async"
    composition_form = "constrained"
    use_compose_action = False


class TestSpecificSyncComposeAction(LifeCycle, ComposerTestCase):
    composition_form = "specific"


class TestConstrainedAsyncComposeAction(LifeCycle, ComposerTestCase):
    mode = "async"


class TestFaults(ComposerTestCase):
    def test_compose_committed_then_500_is_adopted(self):
        self.sim.inject("compose", status=500, after_commit=True)
        node = self.composer.compose("mogan-a", COMPOSITION)
        self.assertEqual(1, len(self.systems()))
        self.assertEqual("mogan-a", node["name"])

    def test_compose_dropped_after_commit_is_adopted(self):
        self.sim.inject("compose", status=0, drop=True, after_commit=True)
        node = self.composer.compose("mogan-a", COMPOSITION)
        self.assertEqual(
            [node["uuid"]], [n["uuid"] for n in self.composer.list_nodes()]
        )

    def test_compose_refused_is_an_unknown_outcome_with_nothing_left(self):
        self.sim.inject("compose", status=503)
        err = self.assertRaises(
            redfish.RedfishComposeOutcomeUnknown,
            self.composer.compose,
            "mogan-a",
            COMPOSITION,
        )
        self.assertIn("no system of that name exists yet", str(err))
        self.assertEqual([], self.systems())
        self.assertEqual([], self.busy_blocks())

    def test_delete_failure_is_raised_and_a_retry_releases(self):
        node = self.composer.compose("mogan-a", COMPOSITION)
        self.sim.inject("delete", status=500)
        self.assertRaises(
            redfish.RedfishServerError, self.composer.release_node, node["uuid"]
        )
        self.assertEqual(1, len(self.systems()))
        self.assertTrue(self.composer.release_node(node["uuid"]))
        self.assertEqual([], self.systems())


class TestAsyncFaults(ComposerTestCase):
    mode = "async"
    use_compose_action = False

    def test_task_that_fails(self):
        self.sim.inject("task", status=500, outcome="fail")
        self.assertRaises(
            redfish.RedfishCompositionError,
            self.composer.compose,
            "mogan-a",
            COMPOSITION,
        )
        self.assertEqual([], self.systems())
        self.assertEqual([], self.busy_blocks())

    def test_task_that_sticks_times_out(self):
        self.conf.config(task_timeout=1, group="redfish_composition_default")
        self.sim.inject("task", outcome="stick")
        err = self.assertRaises(
            redfish.RedfishComposeOutcomeUnknown,
            self.composer.compose,
            "mogan-a",
            COMPOSITION,
        )
        self.assertIn("did not end within", str(err))

    def test_delete_through_a_task(self):
        node = self.composer.compose("mogan-a", COMPOSITION)
        self.assertTrue(self.composer.release_node(node["uuid"]))
        self.assertEqual([], self.systems())


class TestReservations(ComposerTestCase):
    def test_reservation_expired_before_apply_is_asked_again(self):
        calls = []
        real = self.composer._call

        def call(method, path, body=None):
            if body and body.get("RequestType") == "Apply" and not calls:
                calls.append(body["ReservationId"])
                # The reservation runs out between PreviewReserve and Apply.
                self.sim.expire_reservations(body["ReservationId"])
            return real(method, path, body)

        self.composer._call = call
        node = self.composer.compose("mogan-a", COMPOSITION)
        self.assertEqual(1, len(calls))
        self.assertEqual(
            [node["uuid"]], [n["uuid"] for n in self.composer.list_nodes()]
        )
        reservations = self.sim.state()["reservations"]
        self.assertNotIn(calls[0], [r["id"] for r in reservations])

    def test_reservations_that_keep_expiring_fail_with_nothing_held(self):
        real = self.composer._call

        def call(method, path, body=None):
            if body and body.get("RequestType") == "Apply":
                self.sim.expire_reservations(body["ReservationId"])
            return real(method, path, body)

        self.composer._call = call
        self.assertRaises(
            redfish.RedfishCompositionError,
            self.composer.compose,
            "mogan-a",
            COMPOSITION,
        )
        self.assertEqual([], self.systems())
        self.assertEqual([], self.busy_blocks())


class TestCapacity(ComposerTestCase):
    def test_free_capacity_by_zone(self):
        before = self.composer.free_capacity()["zones"]
        self.assertEqual(["1"], list(before))
        node = self.composer.compose("mogan-a", COMPOSITION)
        after = self.composer.free_capacity()["zones"]["1"]
        self.assertLess(after["cores"], before["1"]["cores"])
        self.composer.release_node(node["uuid"])
        self.assertEqual(before, self.composer.free_capacity()["zones"])


class TestLeftovers(ComposerTestCase):
    def _reserve(self, name):
        """A PreviewReserve whose Apply never came (a killed engine)."""
        composer = self.composer
        cs = composer._service()
        target = cs["Actions"]["#CompositionService.Compose"]["target"]
        body = composer._request(cs, redfish.SPECIFIC, name, COMPOSITION, None)
        manifest = {
            "Stanzas": [
                {"StanzaType": "ComposeSystem", "StanzaId": name, "Request": body}
            ]
        }
        composer._call(
            "POST",
            target,
            {
                "RequestFormat": "Manifest",
                "RequestType": "PreviewReserve",
                "Manifest": manifest,
            },
        )
        self.assertEqual(1, len(self.sim.state()["reservations"]))

    def test_compose_drops_its_own_leftover_reservation(self):
        self._reserve("mogan-a")
        node = self.composer.compose("mogan-a", COMPOSITION)
        self.assertEqual([], self.sim.state()["reservations"])
        self.composer.release_node(node["uuid"])
        self.assertEqual([], self.busy_blocks())

    def test_forget_pending_leaves_others_reservations(self):
        self._reserve("mogan-b")
        self.assertEqual(0, self.composer.forget_pending("mogan-a"))
        self.assertEqual(1, len(self.sim.state()["reservations"]))
        self.assertEqual(1, self.composer.forget_pending("mogan-b"))
        self.assertEqual([], self.busy_blocks())


class TestConcurrentSpecific(ComposerTestCase):
    composition_form = "specific"
    use_compose_action = False

    def test_two_composes_at_once_get_their_own_blocks(self):
        import concurrent.futures

        small = {"backend": "redfish", "cpu_cores": 8}
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            got = list(
                pool.map(
                    lambda n: self.composer.compose(n, small), ["mogan-a", "mogan-b"]
                )
            )
        self.assertEqual(2, len({n["path"] for n in got}))
        self.assertEqual(2, len(self.systems()))

    def test_type_keys_need_the_constrained_form(self):
        err = self.assertRaises(
            redfish.RedfishBadRequest,
            self.composer.compose,
            "mogan-a",
            {"backend": "redfish", "disk_gb": 10, "disk_type": "SSD"},
        )
        self.assertIn("'disk_type' needs the constrained composition form", str(err))
        self.assertEqual([], self.systems())
