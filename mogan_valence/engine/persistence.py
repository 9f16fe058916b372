"""Durable flows: taskflow's SQL persistence in the engine's own database.

Each create or delete runs as a flow saved in a logbook of its own, named
after the engine host, the operation and the instance. The logbook is saved
*before* the instance is created (or moved to DELETING), so that every
BUILDING or DELETING instance has a saved flow of the host that owns it.
Progress is saved after every step; when the flow ends, its logbook is
destroyed together with its flow and atom details. A logbook still there
when the engine starts is work that host was doing when it died: the engine
resumes it, before it takes any request.
"""

import dataclasses
import logging
import threading

import sqlalchemy as sa

from oslo_utils import uuidutils
from taskflow.engines.action_engine import engine as tf_engine
from taskflow import exceptions as tf_exc
from taskflow.persistence import models as tf_models
from taskflow.persistence.backends import impl_sqlalchemy
from taskflow import states as tf_states
from taskflow import storage as tf_storage
from taskflow.utils import misc as tf_misc

from mogan_valence.common import exception
from mogan_valence.db import api as db_api

LOG = logging.getLogger(__name__)

CREATE = "create"
DELETE = "delete"
POWER = "power"
# The logbooks of jobs on a jobboard belong to no engine host.
JOBBOARD_OWNER = "*jobboard*"


class PersistenceError(exception.MoganValenceException):
    msg_fmt = "Flow persistence is not usable: %(reason)s"


@dataclasses.dataclass
class SavedFlow:
    book: tf_models.LogBook
    flow_detail: tf_models.FlowDetail

    @property
    def kind(self) -> str:
        return self.flow_detail.meta["kind"]

    @property
    def instance_uuid(self) -> str:
        return self.flow_detail.meta["instance_uuid"]

    @property
    def meta(self) -> dict:
        return self.flow_detail.meta


class _Connection(impl_sqlalchemy.Connection):
    """taskflow's SQL connection, saving a flow's progress in one statement.

    NOTE: taskflow's own saves read the row back, merge it with what is
    saved and write every column (an atom save: a SELECT, an UPDATE built
    anew each time); a flow save does that for every atom of the flow as
    well, though storage saves each atom whenever it changes: 41% of the
    CPU of the flows of a composed instance. Here:

    - an atom save is one UPDATE, compiled once. A merge copies every
      field of the saved detail onto the row's, so what is written is the
      same;
    - a flow save updates the flow's row and inserts the atoms the row does
      not have yet, all in one statement (taskflow's storage adds atoms to
      a flow only that way); the others were saved when they changed.

    A flow is saved by one engine at a time (its host, or the holder of
    its job's claim), which is what makes the read-merge-write unneeded.
    """

    # Written by a save: every field of a detail's to_dict() but its uuid
    # and name, which never change.
    _FIXED = ("uuid", "name")

    def __init__(self, backend, upgrade_lock):
        super().__init__(backend, upgrade_lock)
        atoms, flows = self._tables.atomdetails, self._tables.flowdetails
        # Without values(), the SET clause is the parameters given.
        self._update_atom = atoms.update().where(
            atoms.c.uuid == sa.bindparam("where_uuid")
        )
        self._update_flow = flows.update().where(
            flows.c.uuid == sa.bindparam("where_uuid")
        )
        self._atom_uuids = sa.select(atoms.c.uuid).where(
            atoms.c.parent_uuid == sa.bindparam("parent_uuid")
        )
        self._insert_atoms = atoms.insert()

    def _values(self, detail) -> dict:
        values = detail.to_dict()
        for key in self._FIXED:
            values.pop(key)
        values["where_uuid"] = detail.uuid
        return values

    def _update(self, kind: str, detail, statement, then=None):
        """Write ``detail`` with ``statement``, then ``then(conn)`` in the
        same transaction; the detail, or NotFound if it has no row."""
        try:
            with self._engine.begin() as conn:
                updated = conn.execute(statement, self._values(detail)).rowcount
                if updated and then is not None:
                    then(conn)
        except sa.exc.SQLAlchemyError:
            tf_exc.raise_with_cause(
                tf_exc.StorageFailure,
                f"Failed updating {kind} details with uuid '{detail.uuid}'",
            )
        if not updated:
            raise tf_exc.NotFound(f"No {kind} details found with uuid '{detail.uuid}'")
        return detail

    def update_atom_details(self, atom_detail):
        return self._update("atom", atom_detail, self._update_atom)

    def update_flow_details(self, flow_detail):
        def add_new_atoms(conn):
            saved = set(
                conn.execute(
                    self._atom_uuids, {"parent_uuid": flow_detail.uuid}
                ).scalars()
            )
            # One INSERT for all of them, as taskflow writes each.
            rows = [
                {
                    **atom_detail.to_dict(),
                    "parent_uuid": flow_detail.uuid,
                    "atom_type": tf_models.atom_detail_type(atom_detail),
                }
                for atom_detail in flow_detail
                if atom_detail.uuid not in saved
            ]
            if rows:
                conn.execute(self._insert_atoms, rows)

        return self._update("flow", flow_detail, self._update_flow, add_new_atoms)


class _Backend(impl_sqlalchemy.SQLAlchemyBackend):
    """taskflow's SQL backend, handing out one connection.

    NOTE: taskflow's storage asks for a connection on every save, and each
    new Connection builds a fresh MetaData with all of taskflow's Table
    objects. With a hundred flows in flight that churn was most of the
    engine's CPU time and memory (about 3 MiB per flow). A Connection keeps
    no state besides those tables and its close() does nothing, so one
    shared connection serves every thread.
    """

    def __init__(self, conf, engine=None):
        super().__init__(conf, engine=engine)
        self._shared = None
        self._shared_lock = threading.Lock()

    def get_connection(self):
        with self._shared_lock:
            if self._shared is None:
                self._shared = _Connection(self, upgrade_lock=self._upgrade_lock)
                self._shared.validate(max_retries=self._max_retries)
            return self._shared


class _Storage(tf_storage.Storage):
    """taskflow's storage of a running flow, saving a task once: when it
    ends.

    NOTE: taskflow saves a task four times: RUNNING as it starts, its
    progress (0.0) right after, its result (SUCCESS or FAILURE) as it ends,
    and its progress (1.0) right after. Here:

    - progress is kept in the atom's metadata in memory, set before the
      state it goes with is saved. A task that reports progress on the way
      (``update_progress``; none of ours does) has it saved with its next
      state;
    - RUNNING is kept in memory: the row keeps the state the task had
      before it started (PENDING, or what a retry reset it to) until the
      task ends. A resumed flow runs a task left RUNNING again, and a
      PENDING one whose predecessors all ended: in a flow run one task at
      a time (the engine's), the same task, the one that was interrupted.
      Retries and reverts (REVERTING) are saved as they start, as taskflow
      saves them: a resumed flow reverts again what was being reverted.

    What is saved when each task ends is what taskflow saves then.
    """

    _STARTS = (tf_states.RUNNING, tf_states.REVERTING)
    _ENDS = (tf_states.SUCCESS, tf_states.REVERTED)

    def _keep_progress(self, atom_name, progress, details=None, state=None) -> bool:
        """Set a task's progress (and ``state``) in memory only; False when
        the atom is no task (nothing is set)."""
        with self.lock.write_lock():
            atom, _ = self._atomdetail_by_name(atom_name)
            if not isinstance(atom, tf_models.TaskDetail):
                return False
            meta = dict(atom.meta)
            meta[tf_storage.META_PROGRESS] = progress
            if details is not None:
                meta[tf_storage.META_PROGRESS_DETAILS] = (
                    {"at_progress": progress, "details": details} if details else None
                )
            atom.meta = meta
            if state is not None:
                atom.state = state
            return True

    def set_task_progress(self, task_name, progress, details=None):
        self._keep_progress(task_name, progress, details)

    def set_atom_state(self, atom_name, state):
        if state == tf_states.RUNNING:
            # A task's RUNNING is saved with its end (see above).
            if self._keep_progress(atom_name, 0.0, state=state):
                return
        elif state in self._STARTS:
            self._keep_progress(atom_name, 0.0)
        super().set_atom_state(atom_name, state)

    def save(self, atom_name, result, state=tf_states.SUCCESS):
        if state in self._ENDS:
            self._keep_progress(atom_name, 1.0)
        super().save(atom_name, result, state)


class _Engine(tf_engine.SerialActionEngine):
    """taskflow's serial engine, with ``_Storage``."""

    @tf_misc.cachedproperty
    def storage(self):
        def scope_fetcher(atom_name):
            # As taskflow's: scopes are known once the flow is compiled.
            if self._compiled:
                return self._runtime.fetch_scopes_for(atom_name)
            return None

        return _Storage(
            self._flow_detail, backend=self._backend, scope_fetcher=scope_fetcher
        )


def load_engine(flow, saved: SavedFlow, backend):
    """A taskflow engine running ``flow`` from its saved state, given the
    flow's arguments: the store its metadata keeps.

    NOTE: taskflow saves injected arguments as an atom of their own (a flow
    save, then an atom save), though ``FlowStore.new`` saved them in the
    flow's metadata already: they are injected from there, in memory, each
    time the flow is loaded. A flow saved by an earlier release has that
    atom, and keeps using it.
    """
    engine = _Engine(flow, saved.flow_detail, backend, {})
    store = saved.meta.get("store")
    injected = any(
        atom.name == tf_storage.Storage.injector_name for atom in saved.flow_detail
    )
    if store and not injected:
        engine.storage.inject(store, transient=True)
    return engine


class FlowStore:
    """The saved flows of one engine host, or (``JOBBOARD_OWNER``) those
    posted on the jobboard, which any engine may run."""

    def __init__(self, host: str):
        self.prefix = f"mogan-valence:{host}:"
        self.backend = _Backend({}, engine=db_api.get_engine())
        try:
            self.backend.get_connection().validate()
        except Exception as e:  # noqa: BLE001  (any reason is fatal at start)
            raise PersistenceError(
                reason=f"{e}; run 'mogan-valence-dbsync upgrade' first"
            ) from e

    def new(self, kind: str, instance_uuid: str, **meta) -> SavedFlow:
        book = tf_models.LogBook(f"{self.prefix}{kind}:{instance_uuid}")
        flow_detail = tf_models.FlowDetail(
            f"{kind}-{instance_uuid}", uuid=uuidutils.generate_uuid()
        )
        flow_detail.meta = {"kind": kind, "instance_uuid": instance_uuid, **meta}
        book.add(flow_detail)
        self.backend.get_connection().save_logbook(book)
        return SavedFlow(book, flow_detail)

    def done(self, saved: SavedFlow) -> None:
        """Forget a flow: its logbook, flow details and atom details.

        NOTE: taskflow's destroy_logbook deletes only the logbook row and
        leaves the details to ON DELETE CASCADE, which SQLite does not do
        unless foreign keys are switched on: they were orphaned by the
        thousand. One transaction removes all three; idempotent.
        """
        tables = self.backend.get_connection()._tables
        with self.backend.engine.begin() as conn:
            flows = sa.select(tables.flowdetails.c.uuid).where(
                tables.flowdetails.c.parent_uuid == saved.book.uuid
            )
            conn.execute(
                tables.atomdetails.delete().where(
                    tables.atomdetails.c.parent_uuid.in_(flows)
                )
            )
            conn.execute(
                tables.flowdetails.delete().where(
                    tables.flowdetails.c.parent_uuid == saved.book.uuid
                )
            )
            conn.execute(
                tables.logbooks.delete().where(
                    tables.logbooks.c.uuid == saved.book.uuid
                )
            )

    def sweep_orphans(self) -> int:
        """Remove flow and atom details whose logbook is gone (left by
        earlier versions); returns how many rows went."""
        tables = self.backend.get_connection()._tables
        books = sa.select(tables.logbooks.c.uuid)
        with self.backend.engine.begin() as conn:
            count = conn.execute(
                tables.flowdetails.delete().where(
                    tables.flowdetails.c.parent_uuid.not_in(books)
                )
            ).rowcount
            flows = sa.select(tables.flowdetails.c.uuid)
            count += conn.execute(
                tables.atomdetails.delete().where(
                    tables.atomdetails.c.parent_uuid.not_in(flows)
                )
            ).rowcount
        if count:
            LOG.info("Removed %d orphaned flow/atom detail row(s)", count)
        return count

    def restart(self, saved: SavedFlow) -> SavedFlow:
        """The same flow, as it was before its first atom.

        NOTE: taskflow saves the injector atom of a new flow before the
        values it injects; a flow killed in between cannot be loaded again
        ('NoneType' object has no attribute 'keys'). Flows of an earlier
        release have that atom (``load_engine`` no longer saves one).
        Nothing of the flow ran: its atom details go (one statement, so a
        kill leaves it either way) and it starts over from the store its
        metadata keeps.
        """
        tables = self.backend.get_connection()._tables
        with self.backend.engine.begin() as conn:
            conn.execute(
                tables.atomdetails.delete().where(
                    tables.atomdetails.c.parent_uuid == saved.flow_detail.uuid
                )
            )
        book = self.backend.get_connection().get_logbook(saved.book.uuid)
        return SavedFlow(book, next(iter(book)))

    def load(self, book_uuid: str) -> SavedFlow | None:
        """The saved flow of a logbook; None once it has ended (forgotten)."""
        try:
            book = self.backend.get_connection().get_logbook(book_uuid)
        except tf_exc.NotFound:
            return None
        details = list(book)
        if len(details) != 1:
            return None
        return SavedFlow(book, details[0])

    def has_flow(self, instance_uuid: str) -> bool:
        """Whether a flow of this store is saved for the instance."""
        tables = self.backend.get_connection()._tables
        names = [
            f"{self.prefix}{kind}:{instance_uuid}" for kind in (CREATE, DELETE, POWER)
        ]
        with self.backend.engine.connect() as conn:
            found = conn.execute(
                sa.select(tables.logbooks.c.uuid)
                .where(tables.logbooks.c.name.in_(names))
                .limit(1)
            ).first()
        return found is not None

    def unfinished(self) -> list[SavedFlow]:
        """The flows this engine host left behind, oldest first."""
        conn = self.backend.get_connection()
        found = []
        for book in conn.get_logbooks():
            if not (book.name or "").startswith(self.prefix):
                continue
            details = list(book)
            meta = details[0].meta if len(details) == 1 else None
            if not meta or not {"kind", "instance_uuid", "store"} <= set(meta):
                LOG.warning("Ignoring logbook %s: not one of ours", book.name)
                continue
            found.append(SavedFlow(book, details[0]))
        return sorted(found, key=lambda s: s.book.created_at or 0)
