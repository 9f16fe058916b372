"""Base classes for mogan-valence versioned objects."""

from oslo_versionedobjects import base as ovo_base
import sqlalchemy as sa

from mogan_valence.db import models


class MoganObjectRegistry(ovo_base.VersionedObjectRegistry):
    pass


class MoganObject(ovo_base.VersionedObject):
    """Base of every object; the namespace matches Mogan's on the wire."""

    OBJ_SERIAL_NAMESPACE = "mogan_object"
    OBJ_PROJECT_NAMESPACE = "mogan"

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.fields if self.obj_attr_is_set(k)}

    @staticmethod
    def _from_db_object(
        context, obj: "MoganObject", row: models.Base | sa.Row
    ) -> "MoganObject":
        """Copy a row (a model's, or a plain one) into ``obj``: every
        DB-backed field, then reset changes."""
        columns = row._fields if isinstance(row, sa.Row) else row.__table__.columns
        for name in obj.fields:
            if name in obj.obj_extra_fields or name not in columns:
                continue
            setattr(obj, name, getattr(row, name))
        obj._context = context
        obj.obj_reset_changes()
        return obj


class MoganObjectSerializer(ovo_base.VersionedObjectSerializer):
    """Carries objects over RPC."""

    OBJ_BASE_CLASS = MoganObject
