"""Initial schema: the Mogan shape of instances, faults and flavors.

Revision ID: e2a228eee18a
Revises:
Create Date: 2026-11-25 17:40:00
"""

from alembic import op
from oslo_db.sqlalchemy import types as db_types
import sqlalchemy as sa

revision = "e2a228eee18a"
down_revision = None
branch_labels = None
depends_on = None

_TABLE_KWARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("created_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=True),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("project_id", sa.String(36), nullable=True),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(255), nullable=True),
        sa.Column("power_state", sa.String(15), nullable=True),
        sa.Column("flavor_uuid", sa.String(36), nullable=True),
        sa.Column("image_source", sa.String(255), nullable=True),
        sa.Column("node_uuid", sa.String(36), nullable=True),
        sa.Column("node", sa.String(255), nullable=True),
        sa.Column("launched_at", sa.DateTime, nullable=True),
        sa.Column("extra", db_types.JsonEncodedDict, nullable=True),
        sa.UniqueConstraint("uuid", name="uniq_instances0uuid"),
        **_TABLE_KWARGS,
    )
    op.create_index("instances_node_uuid_idx", "instances", ["node_uuid"])
    op.create_index("instances_status_idx", "instances", ["status"])

    op.create_table(
        "instance_faults",
        sa.Column("created_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=True),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "instance_uuid",
            sa.String(36),
            sa.ForeignKey("instances.uuid"),
            nullable=False,
        ),
        sa.Column("code", sa.Integer, nullable=False),
        sa.Column("message", sa.String(255), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        **_TABLE_KWARGS,
    )
    op.create_index(
        "instance_faults_instance_uuid_idx", "instance_faults", ["instance_uuid"]
    )

    op.create_table(
        "flavors",
        sa.Column("created_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=True),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("resources", db_types.JsonEncodedDict, nullable=True),
        sa.Column("resource_traits", db_types.JsonEncodedDict, nullable=True),
        sa.Column("is_public", sa.Boolean, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.UniqueConstraint("uuid", name="uniq_flavors0uuid"),
        sa.UniqueConstraint("name", name="uniq_flavors0name"),
        **_TABLE_KWARGS,
    )
