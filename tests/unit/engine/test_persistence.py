"""The flow store's saves write what taskflow's own SQL connection writes."""

import threading

import sqlalchemy as sa
from taskflow import engines as tf_engines
from taskflow import exceptions as tf_exc
from taskflow import storage as tf_storage
from taskflow import task as tf_task
from taskflow.patterns import linear_flow
from taskflow.persistence import models as tf_models
from taskflow.persistence.backends import impl_sqlalchemy

from mogan_valence.engine import persistence
from tests import base


class Produce(tf_task.Task):
    """Returns a result, with progress on the way.

    Reversion strategy: returns a revert result.
    """

    default_provides = "made"

    def execute(self, given):
        self.update_progress(0.5)
        return {"made": given, "list": [1, 2]}

    def revert(self, **kwargs):
        return "reverted"


class Fail(tf_task.Task):
    """Raises.

    Reversion strategy: nothing to undo.
    """

    def execute(self, made):
        raise ValueError(f"cannot use {made['made']}")

    def revert(self, **kwargs):
        pass


class Look(tf_task.Task):
    """Reads its own saved row while it runs.

    Reversion strategy: nothing to undo (it changes nothing).
    """

    def __init__(self, store, seen):
        super().__init__("look")
        self.store, self.seen = store, seen

    def execute(self):
        for book in stock(self.store).get_logbooks():
            for atom in next(iter(book)):
                if atom.name == "look":
                    self.seen.append((book.uuid, atom.state, atom.meta.get("progress")))


INJECTOR = tf_storage.Storage.injector_name


def stock(store: persistence.FlowStore):
    """taskflow's own connection on the same database."""
    return impl_sqlalchemy.Connection(store.backend, threading.Lock())


def atoms(book) -> dict[str, dict]:
    """Each atom's saved fields but its uuid, by name."""
    flow_detail = next(iter(book))
    found = {}
    for atom in flow_detail:
        values = atom.to_dict()
        values.pop("uuid")
        if values.get("failure"):
            # Tracebacks differ between two runs of the same flow.
            values["failure"].pop("traceback_str", None)
        found[atom.name] = values
    return found


class TestFlowStoreSaves(base.DbTestCase):
    def setUp(self):
        super().setUp()
        self.store = persistence.FlowStore("host-a")

    def taskflows_engine(self, flow, saved, store):
        """taskflow's own serial engine and SQL backend on the store's
        database; it saves ``store`` as taskflow's injector atom."""
        return tf_engines.load(
            flow,
            flow_detail=saved.flow_detail,
            book=saved.book,
            backend=impl_sqlalchemy.SQLAlchemyBackend(
                {}, engine=self.store.backend.engine
            ),
            store=store,
            engine="serial",
        )

    def run_flow(self, ours: bool, *tasks):
        """Run tasks in a flow of the store's, through the store's engine
        and connection, or through taskflow's own."""
        saved = self.store.new(persistence.CREATE, "inst-1", store={"given": "x"})
        flow = linear_flow.Flow("f").add(*tasks)
        if ours:
            engine = persistence.load_engine(flow, saved, self.store.backend)
        else:
            engine = self.taskflows_engine(flow, saved, {"given": "x"})
        try:
            engine.run()
        except ValueError:
            pass
        return saved

    def test_a_run_reads_back_as_taskflows_own_saves_write_it(self):
        for tasks in ((Produce("produce"),), (Produce("produce"), Fail("fail"))):
            ours = self.run_flow(True, *tasks)
            theirs = self.run_flow(False, *tasks)
            got = atoms(stock(self.store).get_logbook(ours.book.uuid))
            want = atoms(stock(self.store).get_logbook(theirs.book.uuid))
            # taskflow saves the injected store as an atom; ours is kept in
            # the flow's metadata only.
            self.assertEqual({"given": "x"}, want.pop(INJECTOR)["results"])
            self.assertEqual(want, got)
            flow_states = {
                stock(self.store).get_flow_details(saved.flow_detail.uuid).state
                for saved in (ours, theirs)
            }
            self.assertEqual(1, len(flow_states))
        # The failed run's atoms: the failure and the revert saved, the
        # progress with them.
        self.assertEqual("REVERTED", got["produce"]["state"])
        self.assertEqual(1.0, got["produce"]["meta"]["progress"])
        self.assertEqual("reverted", got["produce"]["revert_results"])
        self.assertEqual("cannot use x", got["fail"]["failure"]["exception_str"])

    def test_a_flow_saved_with_its_injected_atom_keeps_using_it(self):
        # As an earlier release saved it: taskflow's own inject.
        saved = self.store.new(persistence.CREATE, "inst-1", store={"given": "meta"})
        self.taskflows_engine(
            linear_flow.Flow("f").add(Produce("produce")), saved, {"given": "atom"}
        )
        book = stock(self.store).get_logbook(saved.book.uuid)
        resumed = persistence.SavedFlow(book, next(iter(book)))
        engine = persistence.load_engine(
            linear_flow.Flow("f").add(Produce("produce")), resumed, self.store.backend
        )
        engine.run()
        self.assertEqual("atom", engine.storage.get("produce")["made"])

    def test_a_flow_save_adds_new_atoms_once_and_leaves_saved_ones(self):
        saved = self.store.new(persistence.CREATE, "inst-1")
        connection = self.store.backend.get_connection()
        atom = tf_models.TaskDetail("t", uuid="00000000-0000-4000-8000-000000000001")
        saved.flow_detail.add(atom)
        saved.flow_detail.state = "RUNNING"
        connection.update_flow_details(saved.flow_detail)
        connection.update_flow_details(saved.flow_detail)
        atom.state = "SUCCESS"
        atom.results = {"a": 1}
        self.assertIs(atom, connection.update_atom_details(atom))
        # A flow save leaves the saved atoms as their own saves left them.
        atom.state = "FAILURE"
        saved.flow_detail.state = "RUNNING"
        connection.update_flow_details(saved.flow_detail)
        atom.state = "SUCCESS"
        book = stock(self.store).get_logbook(saved.book.uuid)
        flow_detail = next(iter(book))
        self.assertEqual("RUNNING", flow_detail.state)
        self.assertEqual(
            [("t", "SUCCESS", {"a": 1})],
            [(a.name, a.state, a.results) for a in flow_detail],
        )

    def test_saving_what_is_not_saved_is_not_found(self):
        connection = self.store.backend.get_connection()
        self.assertRaises(
            tf_exc.NotFound,
            connection.update_atom_details,
            tf_models.TaskDetail("t", uuid="00000000-0000-4000-8000-000000000002"),
        )
        self.assertRaises(
            tf_exc.NotFound,
            connection.update_flow_details,
            tf_models.FlowDetail("f", uuid="00000000-0000-4000-8000-000000000003"),
        )

    def test_a_running_task_is_saved_when_it_ends(self):
        states = {}
        for ours in (True, False):
            seen = []
            saved = self.run_flow(ours, Look(self.store, seen))
            states[ours] = [
                (state, progress)
                for book, state, progress in seen
                if book == saved.book.uuid
            ]
        # taskflow saves RUNNING as the task starts; ours keeps the row as
        # it was until the task ends.
        self.assertEqual([("RUNNING", 0.0)], states[False])
        self.assertEqual([("PENDING", None)], states[True])

    def test_a_resumed_flow_runs_the_interrupted_task_and_what_follows(self):
        ran = []
        snapshot = []

        class Step(tf_task.Task):
            """Records that it ran; the second one copies the saved flow
            as an engine killed while it runs would leave it.

            Reversion strategy: nothing to undo.
            """

            def execute(self):
                ran.append(self.name)
                if self.name == "two" and not snapshot:
                    snapshot.append(
                        stock(store).get_flow_details(saved.flow_detail.uuid)
                    )

        def flow():
            return linear_flow.Flow("f").add(Step("one"), Step("two"), Step("three"))

        store = self.store
        saved = store.new(persistence.CREATE, "inst-1")
        persistence.load_engine(flow(), saved, store.backend).run()
        self.assertEqual(["one", "two", "three"], ran)
        del ran[:]
        self.assertEqual(
            {"one": "SUCCESS", "two": "PENDING", "three": "PENDING"},
            {atom.name: atom.state for atom in snapshot[0]},
        )
        killed = persistence.SavedFlow(saved.book, snapshot[0])
        persistence.load_engine(flow(), killed, store.backend).run()
        self.assertEqual(["two", "three"], ran)

    def test_a_task_costs_one_atom_save(self):
        updates = []

        def count(conn, cursor, statement, *args):
            if statement.startswith("UPDATE atomdetails"):
                updates.append(statement)

        engine = self.store.backend.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        self.addCleanup(sa.event.remove, engine, "before_cursor_execute", count)
        self.run_flow(False, Produce("produce"))
        theirs = len(updates)
        del updates[:]
        self.run_flow(True, Produce("produce"))
        # SUCCESS; taskflow's own saves write the injected store, RUNNING
        # and the progress apart, and rewrite every atom with the flow's
        # state.
        self.assertEqual(1, len(updates))
        self.assertGreater(theirs, len(updates))
