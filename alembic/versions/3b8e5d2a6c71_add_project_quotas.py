"""Add project quotas: per-project limits and what each instance counts.

``project_quotas`` holds the limits an admin set for a project (NULL: the
``[quota]`` default). ``instances`` gains what a composed instance asked to
compose (cores, RAM, disk), which the quota counts. Existing instances get
NULL: they count as servers, and as no composed hardware.

Revision ID: 3b8e5d2a6c71
Revises: 7f3a9c2b1d44
Create Date: 2026-12-07 06:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = "3b8e5d2a6c71"
down_revision = "7f3a9c2b1d44"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_quotas",
        sa.Column("created_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=True),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("servers", sa.Integer, nullable=True),
        sa.Column("cores", sa.Integer, nullable=True),
        sa.Column("ram_mib", sa.Integer, nullable=True),
        sa.Column("disk_gb", sa.Integer, nullable=True),
        sa.UniqueConstraint("project_id", name="uniq_project_quotas0project_id"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("composed_cores", sa.Integer, nullable=True))
        batch.add_column(sa.Column("composed_ram_mib", sa.Integer, nullable=True))
        batch.add_column(sa.Column("composed_disk_gb", sa.Integer, nullable=True))
