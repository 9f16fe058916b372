"""Durable flows: taskflow's SQL persistence in the engine's own database.

Each create or delete runs as a flow saved in a logbook of its own, named
after the engine host, the operation and the instance. Progress is saved
after every step; when the flow ends, its logbook is destroyed. A logbook
still there when the engine starts is work the engine was doing when it
died: the engine resumes it.
"""

import dataclasses
import logging
import threading

from oslo_utils import uuidutils
from taskflow.persistence import models as tf_models
from taskflow.persistence.backends import impl_sqlalchemy

from mogan_valence.common import exception
from mogan_valence.db import api as db_api

LOG = logging.getLogger(__name__)

CREATE = "create"
DELETE = "delete"


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
                self._shared = super().get_connection()
            return self._shared


class FlowStore:
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
        self.backend.get_connection().destroy_logbook(saved.book.uuid)

    def unfinished(self) -> list[SavedFlow]:
        """The flows this engine host left behind, oldest first."""
        conn = self.backend.get_connection()
        found = []
        for book in conn.get_logbooks():
            if not (book.name or "").startswith(self.prefix):
                continue
            details = list(book)
            if len(details) != 1 or not details[0].meta:
                LOG.warning("Ignoring logbook %s: not one of ours", book.name)
                continue
            found.append(SavedFlow(book, details[0]))
        return sorted(found, key=lambda s: s.book.created_at or 0)
