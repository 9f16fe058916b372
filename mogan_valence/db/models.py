"""SQLAlchemy models: the current shape of the schema.

The alembic history (top-level ``alembic/``) must produce exactly this shape;
``tests/unit/db/test_migrations.py`` compares the two on every backend.
"""

from oslo_db.sqlalchemy import models
from oslo_db.sqlalchemy import types as db_types
import sqlalchemy as sa
from sqlalchemy import orm


class Base(models.TimestampMixin, models.ModelBase, orm.DeclarativeBase):
    """Declarative base with created_at/updated_at and dict-like access."""

    __table_args__ = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        sa.UniqueConstraint("uuid", name="uniq_instances0uuid"),
        sa.Index("instances_node_uuid_idx", "node_uuid"),
        sa.Index("instances_status_idx", "status"),
        Base.__table_args__,
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    name = sa.Column(sa.String(255), nullable=True)
    description = sa.Column(sa.Text, nullable=True)
    project_id = sa.Column(sa.String(36), nullable=True)
    user_id = sa.Column(sa.String(36), nullable=True)
    status = sa.Column(sa.String(255), nullable=True)
    power_state = sa.Column(sa.String(15), nullable=True)
    flavor_uuid = sa.Column(sa.String(36), nullable=True)
    image_source = sa.Column(sa.String(255), nullable=True)
    node_uuid = sa.Column(sa.String(36), nullable=True)
    node = sa.Column(sa.String(255), nullable=True)
    launched_at = sa.Column(sa.DateTime, nullable=True)
    extra = sa.Column(db_types.JsonEncodedDict, nullable=True)
    # NULL means "not composed": rows written before this column existed.
    composed = sa.Column(sa.Boolean, nullable=True)
    # What the flavor's composition asks for, as the project's quota counts
    # it from the create on (NULL: nothing composed is counted).
    composed_cores = sa.Column(sa.Integer, nullable=True)
    composed_ram_mib = sa.Column(sa.Integer, nullable=True)
    composed_disk_gb = sa.Column(sa.Integer, nullable=True)


class InstanceFault(Base):
    __tablename__ = "instance_faults"
    __table_args__ = (
        sa.Index("instance_faults_instance_uuid_idx", "instance_uuid"),
        Base.__table_args__,
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    instance_uuid = sa.Column(
        sa.String(36), sa.ForeignKey("instances.uuid"), nullable=False
    )
    code = sa.Column(sa.Integer, nullable=False)
    message = sa.Column(sa.String(255), nullable=True)
    detail = sa.Column(sa.Text, nullable=True)


class Flavor(Base):
    __tablename__ = "flavors"
    __table_args__ = (
        sa.UniqueConstraint("uuid", name="uniq_flavors0uuid"),
        sa.UniqueConstraint("name", name="uniq_flavors0name"),
        Base.__table_args__,
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.Text, nullable=True)
    resources = sa.Column(db_types.JsonEncodedDict, nullable=True)
    resource_traits = sa.Column(db_types.JsonEncodedDict, nullable=True)
    is_public = sa.Column(sa.Boolean, nullable=False, default=True)
    disabled = sa.Column(sa.Boolean, nullable=False, default=False)
    composition = sa.Column(db_types.JsonEncodedDict, nullable=True)


class FlavorProject(Base):
    """A project on a private flavor's access list."""

    __tablename__ = "flavor_projects"
    __table_args__ = (
        sa.UniqueConstraint(
            "flavor_uuid", "project_id", name="uniq_flavor_projects0flavor0project"
        ),
        Base.__table_args__,
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    flavor_uuid = sa.Column(
        sa.String(36), sa.ForeignKey("flavors.uuid"), nullable=False
    )
    project_id = sa.Column(sa.String(255), nullable=False)


class ProjectQuota(Base):
    """A project's quota limits; NULL takes the ``[quota]`` default.

    The row is also what concurrent creates of one project lock (SELECT ...
    FOR UPDATE) while they count the project's usage, so that they never
    overshoot together.
    """

    __tablename__ = "project_quotas"
    __table_args__ = (
        sa.UniqueConstraint("project_id", name="uniq_project_quotas0project_id"),
        Base.__table_args__,
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    project_id = sa.Column(sa.String(255), nullable=False)
    servers = sa.Column(sa.Integer, nullable=True)
    cores = sa.Column(sa.Integer, nullable=True)
    ram_mib = sa.Column(sa.Integer, nullable=True)
    disk_gb = sa.Column(sa.Integer, nullable=True)
