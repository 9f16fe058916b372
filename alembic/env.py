"""Alembic environment for mogan-valence.

Runs on the engine handed over by ``mogan_valence.db.migration`` (oslo.db's
engine for the configured [database] connection). SQLite cannot ALTER most
things, so every revision runs in batch mode there.
"""

from alembic import context

from mogan_valence.db import models

target_metadata = models.Base.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine")
    if engine is None:
        raise RuntimeError(
            "mogan-valence migrations run through mogan-valence-dbsync, "
            "which hands alembic its database engine; the alembic command "
            "line is not supported."
        )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations_online()
