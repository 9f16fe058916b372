"""Add instances.composed and flavors.composition.

Both columns are nullable and get NULL on existing rows: an instance with
``composed`` NULL is not composed, and a flavor with ``composition`` NULL has
none (it schedules onto existing nodes).

Revision ID: d190f5c3764e
Revises: e2a228eee18a
Create Date: 2026-11-25 17:41:00
"""

from alembic import op
from oslo_db.sqlalchemy import types as db_types
import sqlalchemy as sa

revision = "d190f5c3764e"
down_revision = "e2a228eee18a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("composed", sa.Boolean, nullable=True))
    with op.batch_alter_table("flavors") as batch:
        batch.add_column(
            sa.Column("composition", db_types.JsonEncodedDict, nullable=True)
        )
