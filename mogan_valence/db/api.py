"""Database access functions.

Every function opens its own transaction, through oslo.db's enginefacade but
for the engine's most frequent reads (``_read_one``), and returns model rows
detached from the session, or plain rows; callers (the object layer) copy
them into versioned objects. Nothing above ``objects/`` calls this module.
"""

import contextlib
from typing import Any

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from mogan_valence.common import exception
from mogan_valence.common import states
from mogan_valence.db import models

# SQLite is the embedded default, and many flows write at once: without this
# two deferred transactions that both read then write deadlock, and SQLite
# answers "database is locked" at once instead of waiting.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Idle SQLite connections kept open for reuse; more may be open at once (they
# are closed when returned beyond this many).
SQLITE_POOL_SIZE = 8
# Execution option of a read-only transaction (see ``_reading``).
_READ_ONLY = "mogan_valence_read_only"


def _tune_sqlite(engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, record):
        dbapi_conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            # Readers do not wait for the writer.
            dbapi_conn.execute("PRAGMA journal_mode = WAL")

    # NOTE: oslo.db emits a plain (deferred) BEGIN in a "begin" listener of
    # its own. Ours replaces it: a transaction that may write takes the write
    # lock up front, so that it never has to upgrade from reading to writing,
    # and writers queue (busy_timeout) instead of deadlocking. A read-only
    # one (``_reading``) begins deferred: in WAL mode it reads a snapshot
    # and neither waits for nor blocks the writer. It keeps oslo.db's
    # "in_transaction" marker, which oslo.db clears on commit and rollback.
    for listener in list(engine.dispatch.begin):
        if getattr(listener, "__name__", "") == "_sqlite_emit_begin":
            sa.event.remove(engine, "begin", listener)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        if "in_transaction" not in conn.info:
            if conn.get_execution_options().get(_READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            conn.info["in_transaction"] = True

    old_pool = engine.pool
    if isinstance(old_pool, sa.pool.NullPool):
        # NOTE: oslo.db gives a SQLite file NullPool: every transaction
        # opened a new connection, which ran the PRAGMAs above and read the
        # schema again (most of the cost of a short transaction, and the
        # engine runs several per step: its own and taskflow's saves). A
        # file database is shared safely by pooled connections, one thread
        # at a time each (SQLAlchemy opens them with check_same_thread
        # off); nothing ever waits for one (no overflow limit), and none
        # needs a ping (no server to lose it).
        engine.pool = sa.pool.QueuePool(
            old_pool._creator,
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=-1,
            recycle=old_pool._recycle,
            echo=old_pool.echo,
            logging_name=old_pool._orig_logging_name,
            reset_on_return=old_pool._reset_on_return,
            pre_ping=False,
            _dispatch=old_pool.dispatch,
            dialect=old_pool._dialect,
        )
    # oslo.db connected once to test the engine, before these listeners
    # existed: drop that connection so that every connection is tuned.
    old_pool.dispose()
    engine.pool.dispose()


def _new_context_manager():
    manager = enginefacade.transaction_context()
    manager.append_on_engine_create(_tune_sqlite)
    return manager


_context_manager = _new_context_manager()


def get_engine():
    return _context_manager.writer.get_engine()


def configure(connection: str | None = None) -> None:
    """Point the facade at a database before first use (tests, demo)."""
    if connection is not None:
        _context_manager.configure(connection=connection)


def dispose() -> None:
    """Close the engine's connections and forget it.

    The next use starts a new engine from [database] (or ``configure``).
    """
    global _context_manager
    _context_manager.dispose_pool()
    _context_manager = _new_context_manager()


def _reader():
    return _context_manager.reader


@contextlib.contextmanager
def _reading(context):
    """A read-only session (on SQLite, a deferred transaction)."""
    with _reader().using(_ctx(context)) as session:
        session.connection(execution_options={_READ_ONLY: True})
        yield session


def _writer():
    return _context_manager.writer


# NOTE: enginefacade needs *some* context object to hang the session on; the
# engine's RequestContext works, and so does a bare object for callers that
# have none (dbsync, periodic tasks).
class _AdminContext:
    pass


def _ctx(context):
    return context if context is not None else _AdminContext()


# -- instances ---------------------------------------------------------------

_INSTANCE_FIELDS = frozenset(c.name for c in models.Instance.__table__.columns) - {
    "id",
    "created_at",
    "updated_at",
}


def instance_create(
    context, values: dict[str, Any], quota_defaults: dict[str, int] | None = None
) -> models.Instance:
    """Write a new instance.

    :param quota_defaults: when given, and the instance has a project, the
        instance is written only if it fits in the project's quota (limits
        of ``project_quotas``, else these defaults): the check and the
        insert are one transaction holding the project's quota row, so
        concurrent creates never overshoot.
    :raises QuotaExceeded: naming the resource, its limit and its usage.
    """
    unknown = set(values) - _INSTANCE_FIELDS
    if unknown:
        raise exception.InvalidInput(
            reason=f"unknown instance field(s): {', '.join(sorted(unknown))}"
        )
    values = dict(values)
    values.setdefault("uuid", uuidutils.generate_uuid())
    values.setdefault("status", states.BUILDING)
    row = models.Instance()
    row.update(values)
    project_id = values.get("project_id")
    counted = quota_defaults is not None and project_id is not None
    if counted:
        _quota_row_exists(context, project_id)
    with _writer().using(_ctx(context)) as session:
        if counted:
            _check_quota(session, project_id, _requested(values), quota_defaults)
        session.add(row)
        try:
            session.flush()
        except db_exc.DBDuplicateEntry as e:
            raise exception.Conflict(
                f"An instance with uuid {values['uuid']} already exists."
            ) from e
    return row


_INSTANCES = models.Instance.__table__
_INSTANCE_BY_UUID = sa.select(_INSTANCES).where(
    _INSTANCES.c.uuid == sa.bindparam("uuid")
)


def _read_one(statement, **params) -> sa.Row | None:
    """The one row (or None) a statement reads, in a read-only transaction
    (see ``_reading``) on a connection of its own.

    NOTE: the engine reads and writes its instance a dozen times per
    composed create and delete. Without an ORM session (its unit of work,
    identity map and row loading) a read of one instance costs less than
    half as much CPU. The rows are plain: attributes named after the
    columns, nothing to lazy-load.
    """
    with get_engine().connect() as conn:
        conn.execution_options(**{_READ_ONLY: True})
        return conn.execute(statement, params).one_or_none()


def instance_get(context, uuid: str) -> sa.Row:
    row = _read_one(_INSTANCE_BY_UUID, uuid=uuid)
    if row is None:
        raise exception.InstanceNotFound(instance=uuid)
    return row


def instance_get_all(
    context,
    *,
    status: str | None = None,
    include_deleted: bool = False,
    composed: bool | None = None,
    limit: int | None = None,
    project_id: str | None = None,
    marker: str | None = None,
) -> list[models.Instance]:
    """Instances in creation order.

    :param project_id: only this project's (the API passes the caller's
        project unless an admin asks for all projects).
    :param marker: the uuid of the last instance of the previous page.
    :raises InstanceNotFound: the marker is no instance of this query.
    """
    query = sa.select(models.Instance).order_by(models.Instance.id)
    if project_id is not None:
        query = query.where(models.Instance.project_id == project_id)
    if marker is not None:
        with _reading(context) as session:
            marker_id = session.execute(
                sa.select(models.Instance.id).where(
                    models.Instance.uuid == marker,
                    *(
                        [models.Instance.project_id == project_id]
                        if project_id is not None
                        else []
                    ),
                )
            ).scalar_one_or_none()
        if marker_id is None:
            raise exception.InstanceNotFound(instance=marker)
        query = query.where(models.Instance.id > marker_id)
    if status is not None:
        query = query.where(models.Instance.status == status)
    elif not include_deleted:
        query = query.where(models.Instance.status != states.DELETED)
    if composed is True:
        query = query.where(models.Instance.composed.is_(True))
    elif composed is False:
        # NULL (rows from before the column existed) means not composed.
        query = query.where(
            sa.or_(
                models.Instance.composed.is_(None),
                models.Instance.composed.is_(False),
            )
        )
    if limit is not None:
        query = query.limit(limit)
    with _reading(context) as session:
        return list(session.execute(query).scalars())


def instance_count_by_status(context) -> dict[str, int]:
    """How many instances are in each status (DELETED rows included): one
    GROUP BY over the status column, cheap enough for every metrics scrape."""
    with _reading(context) as session:
        rows = session.execute(
            sa.select(
                models.Instance.status, sa.func.count(models.Instance.id)
            ).group_by(models.Instance.status)
        ).all()
    return {status: int(count) for status, count in rows if status is not None}


def instance_update(
    context,
    uuid: str,
    values: dict[str, Any],
    expected_status: str | tuple[str, ...] | None = None,
) -> sa.Row:
    """Update an instance; with ``expected_status``, compare and swap.

    The UPDATE only matches a row whose status is (one of) the expected
    one(s), so two workers (or engines) can never both move an instance from
    the same state: the loser gets ``InvalidStateTransition`` naming the
    status it found.
    """
    unknown = set(values) - (_INSTANCE_FIELDS - {"uuid"})
    if unknown:
        raise exception.InvalidInput(
            reason=f"cannot update instance field(s): {', '.join(sorted(unknown))}"
        )
    values = dict(values, updated_at=timeutils.utcnow())
    where = [_INSTANCES.c.uuid == uuid]
    if expected_status is not None:
        if isinstance(expected_status, str):
            expected_status = (expected_status,)
        where.append(_INSTANCES.c.status.in_(expected_status))
    # A connection, not an ORM session: see _read_one.
    with _writer().connection.using(_ctx(context)) as conn:
        count = conn.execute(
            sa.update(_INSTANCES).where(*where).values(**values)
        ).rowcount
        row = conn.execute(_INSTANCE_BY_UUID, {"uuid": uuid}).one_or_none()
        if row is None:
            raise exception.InstanceNotFound(instance=uuid)
        if not count:
            raise exception.InvalidStateTransition(
                instance=uuid,
                current=row.status,
                target=values.get("status", "an update"),
            )
    return row


# -- quotas --------------------------------------------------------------------

QUOTA_RESOURCES = ("servers", "cores", "ram_mib", "disk_gb")
# What each instance counts towards a resource other than "servers".
_COUNTED_COLUMNS = {
    "cores": "composed_cores",
    "ram_mib": "composed_ram_mib",
    "disk_gb": "composed_disk_gb",
}


def _requested(values: dict[str, Any]) -> dict[str, int]:
    requested = {"servers": 1}
    for resource, column in _COUNTED_COLUMNS.items():
        requested[resource] = values.get(column) or 0
    return requested


def _usage(session, project_id: str) -> dict[str, int]:
    columns = [sa.func.count(models.Instance.id)] + [
        sa.func.coalesce(sa.func.sum(getattr(models.Instance, column)), 0)
        for column in _COUNTED_COLUMNS.values()
    ]
    row = session.execute(
        sa.select(*columns).where(
            models.Instance.project_id == project_id,
            models.Instance.status != states.DELETED,
        )
    ).one()
    return dict(zip(QUOTA_RESOURCES, (int(v) for v in row), strict=True))


def _quota_row_exists(context, project_id: str) -> None:
    """Make the project's quota row (the one creates lock), if missing.

    In a transaction of its own: a concurrent create that made it first
    only costs a duplicate-key error here.
    """
    try:
        with _writer().using(_ctx(context)) as session:
            found = session.execute(
                sa.select(models.ProjectQuota.id).where(
                    models.ProjectQuota.project_id == project_id
                )
            ).first()
            if found is None:
                session.add(models.ProjectQuota(project_id=project_id))
    except db_exc.DBDuplicateEntry:
        pass


def _check_quota(
    session, project_id: str, requested: dict[str, int], defaults: dict[str, int]
) -> None:
    # NOTE: the row lock serialises the creates of one project on
    # PostgreSQL and MySQL (SQLite's writers already queue: BEGIN
    # IMMEDIATE); the usage is read after it is held.
    limits = session.execute(
        sa.select(models.ProjectQuota)
        .where(models.ProjectQuota.project_id == project_id)
        .with_for_update()
    ).scalar_one()
    usage = _usage(session, project_id)
    for resource in QUOTA_RESOURCES:
        wanted = requested.get(resource, 0)
        limit = getattr(limits, resource)
        if limit is None:
            limit = defaults[resource]
        if wanted and limit >= 0 and usage[resource] + wanted > limit:
            raise exception.QuotaExceeded(
                resource=resource,
                project=project_id,
                requested=wanted,
                in_use=usage[resource],
                limit=limit,
            )


def quota_get(context, project_id: str) -> tuple[dict[str, int | None], dict]:
    """(limits set for the project, None where the default applies; usage)."""
    with _reading(context) as session:
        row = session.execute(
            sa.select(models.ProjectQuota).where(
                models.ProjectQuota.project_id == project_id
            )
        ).scalar_one_or_none()
        usage = _usage(session, project_id)
    limits = {
        r: (getattr(row, r) if row is not None else None) for r in QUOTA_RESOURCES
    }
    return limits, usage


def quota_update(context, project_id: str, values: dict[str, int | None]) -> None:
    """Set (or, with None, reset to the default) some of a project's limits."""
    unknown = set(values) - set(QUOTA_RESOURCES)
    if unknown:
        raise exception.InvalidInput(
            reason=f"unknown quota resource(s): {', '.join(sorted(unknown))}"
        )
    _quota_row_exists(context, project_id)
    with _writer().using(_ctx(context)) as session:
        session.execute(
            sa.update(models.ProjectQuota)
            .where(models.ProjectQuota.project_id == project_id)
            .values(**values, updated_at=timeutils.utcnow())
            .execution_options(synchronize_session=False)
        )


# -- instance faults -----------------------------------------------------------


def instance_fault_create(context, values: dict[str, Any]) -> models.InstanceFault:
    row = models.InstanceFault()
    row.update(values)
    with _writer().using(_ctx(context)) as session:
        session.add(row)
        session.flush()
    return row


def instance_fault_get_by_instance_uuids(
    context, instance_uuids: list[str]
) -> dict[str, list[models.InstanceFault]]:
    """Faults of each instance, newest first."""
    result: dict[str, list[models.InstanceFault]] = {u: [] for u in instance_uuids}
    if not instance_uuids:
        return result
    query = (
        sa.select(models.InstanceFault)
        .where(models.InstanceFault.instance_uuid.in_(instance_uuids))
        .order_by(models.InstanceFault.id.desc())
    )
    with _reading(context) as session:
        for row in session.execute(query).scalars():
            result[row.instance_uuid].append(row)
    return result


# -- flavors -----------------------------------------------------------------

_FLAVOR_FIELDS = frozenset(c.name for c in models.Flavor.__table__.columns) - {
    "id",
    "created_at",
    "updated_at",
}


def flavor_create(context, values: dict[str, Any]) -> models.Flavor:
    unknown = set(values) - _FLAVOR_FIELDS
    if unknown:
        raise exception.InvalidInput(
            reason=f"unknown flavor field(s): {', '.join(sorted(unknown))}"
        )
    values = dict(values)
    values.setdefault("uuid", uuidutils.generate_uuid())
    row = models.Flavor()
    row.update(values)
    with _writer().using(_ctx(context)) as session:
        session.add(row)
        try:
            session.flush()
        except db_exc.DBDuplicateEntry as e:
            if "name" in (e.columns or []):
                raise exception.DuplicateName(
                    resource="flavor", name=values.get("name")
                ) from e
            raise exception.Conflict(
                f"A flavor with uuid {values['uuid']} already exists."
            ) from e
    return row


_FLAVORS = models.Flavor.__table__
# Uuids are unique, and so are names; a uuid match comes first.
_FLAVOR_BY_UUID_OR_NAME = (
    sa.select(_FLAVORS)
    .where(
        sa.or_(
            _FLAVORS.c.uuid == sa.bindparam("ident"),
            _FLAVORS.c.name == sa.bindparam("ident"),
        )
    )
    .order_by((_FLAVORS.c.uuid == sa.bindparam("ident")).desc())
    .limit(1)
)


def flavor_get(context, ident: str) -> sa.Row:
    """A flavor by uuid, or by name when no uuid matches."""
    row = _read_one(_FLAVOR_BY_UUID_OR_NAME, ident=ident)
    if row is None:
        raise exception.FlavorNotFound(flavor=ident)
    return row


def flavor_get_all(
    context, *, visible_to: str | None = None, include_disabled: bool = True
) -> list[models.Flavor]:
    """Flavors by name.

    :param visible_to: a project: only public flavors and the private ones
        whose access list names it.
    """
    query = sa.select(models.Flavor).order_by(models.Flavor.name)
    if visible_to is not None:
        allowed = sa.select(models.FlavorProject.flavor_uuid).where(
            models.FlavorProject.project_id == visible_to
        )
        query = query.where(
            sa.or_(models.Flavor.is_public.is_(True), models.Flavor.uuid.in_(allowed))
        )
    if not include_disabled:
        query = query.where(models.Flavor.disabled.is_(False))
    with _reading(context) as session:
        return list(session.execute(query).scalars())


def flavor_access_get(context, flavor_uuid: str) -> list[str]:
    """The projects on a flavor's access list."""
    with _reading(context) as session:
        return list(
            session.execute(
                sa.select(models.FlavorProject.project_id)
                .where(models.FlavorProject.flavor_uuid == flavor_uuid)
                .order_by(models.FlavorProject.project_id)
            ).scalars()
        )


def flavor_access_add(context, flavor_uuid: str, project_id: str) -> None:
    row = models.FlavorProject(flavor_uuid=flavor_uuid, project_id=project_id)
    with _writer().using(_ctx(context)) as session:
        session.add(row)
        try:
            session.flush()
        except db_exc.DBDuplicateEntry as e:
            raise exception.Conflict(
                f"Project {project_id} already has access to flavor {flavor_uuid}."
            ) from e
        except db_exc.DBReferenceError as e:
            raise exception.FlavorNotFound(flavor=flavor_uuid) from e


def flavor_access_remove(context, flavor_uuid: str, project_id: str) -> None:
    with _writer().using(_ctx(context)) as session:
        count = session.execute(
            sa.delete(models.FlavorProject).where(
                models.FlavorProject.flavor_uuid == flavor_uuid,
                models.FlavorProject.project_id == project_id,
            )
        ).rowcount
    if not count:
        raise exception.NotFound(
            f"Project {project_id} has no access to flavor {flavor_uuid}."
        )


def flavor_update(context, uuid: str, values: dict[str, Any]) -> models.Flavor:
    unknown = set(values) - (_FLAVOR_FIELDS - {"uuid"})
    if unknown:
        raise exception.InvalidInput(
            reason=f"cannot update flavor field(s): {', '.join(sorted(unknown))}"
        )
    with _writer().using(_ctx(context)) as session:
        row = session.execute(
            sa.select(models.Flavor).where(models.Flavor.uuid == uuid)
        ).scalar_one_or_none()
        if row is None:
            raise exception.FlavorNotFound(flavor=uuid)
        row.update(values)
        row.updated_at = timeutils.utcnow()
        session.flush()
    return row


def flavor_destroy(context, uuid: str) -> None:
    with _writer().using(_ctx(context)) as session:
        session.execute(
            sa.delete(models.FlavorProject).where(
                models.FlavorProject.flavor_uuid == uuid
            )
        )
        count = session.execute(
            sa.delete(models.Flavor).where(models.Flavor.uuid == uuid)
        ).rowcount
    if not count:
        raise exception.FlavorNotFound(flavor=uuid)
