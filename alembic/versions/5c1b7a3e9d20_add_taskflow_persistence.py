"""Add taskflow's persistence tables (logbooks, flowdetails, atomdetails).

The engine persists its create and delete flows in its own database so that
a restarted engine resumes what it left unfinished. The tables are taskflow's
own (``taskflow.persistence.backends.sqlalchemy.tables``) in their current
shape; taskflow's separate alembic history is not used, since it would share
our ``alembic_version`` table.

Revision ID: 5c1b7a3e9d20
Revises: d190f5c3764e
Create Date: 2026-11-25 18:40:00
"""

from alembic import op
import sqlalchemy as sa
from taskflow.persistence.backends.sqlalchemy import tables as tf_tables

revision = "5c1b7a3e9d20"
down_revision = "d190f5c3764e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata = sa.MetaData()
    tf_tables.fetch(metadata)
    metadata.create_all(bind=op.get_bind())
