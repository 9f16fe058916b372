"""Add flavor_projects: the access lists of private flavors.

A private flavor (is_public false) is visible and usable only by admins and
by the projects listed here. Existing private flavors start with an empty
list: admins only, as before.

Revision ID: 7f3a9c2b1d44
Revises: 5c1b7a3e9d20
Create Date: 2026-12-01 21:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = "7f3a9c2b1d44"
down_revision = "5c1b7a3e9d20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flavor_projects",
        sa.Column("created_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=True),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "flavor_uuid", sa.String(36), sa.ForeignKey("flavors.uuid"), nullable=False
        ),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.UniqueConstraint(
            "flavor_uuid", "project_id", name="uniq_flavor_projects0flavor0project"
        ),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
