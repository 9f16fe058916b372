from oslo_utils import versionutils

from mogan_valence.db import api as db_api
from mogan_valence.objects import base
from mogan_valence.objects import fields


# Instance fields the quota counts, by quota resource.
COUNTED_FIELDS = {
    "composed_cores": "cores",
    "composed_ram_mib": "ram_mib",
    "composed_disk_gb": "disk_gb",
}


@base.MoganObjectRegistry.register
class Instance(base.MoganObject):
    # Version 1.0: Initial version (the Mogan shape)
    # Version 1.1: Added composed
    # Version 1.2: Added composed_cores, composed_ram_mib, composed_disk_gb
    VERSION = "1.2"

    fields = {
        "id": fields.IntegerField(),
        "uuid": fields.UUIDField(),
        "name": fields.StringField(nullable=True),
        "description": fields.StringField(nullable=True),
        "project_id": fields.StringField(nullable=True),
        "user_id": fields.StringField(nullable=True),
        "status": fields.InstanceStatusField(nullable=True),
        "power_state": fields.StringField(nullable=True),
        "flavor_uuid": fields.UUIDField(nullable=True),
        "image_source": fields.StringField(nullable=True),
        "node_uuid": fields.UUIDField(nullable=True),
        "node": fields.StringField(nullable=True),
        "launched_at": fields.DateTimeField(nullable=True),
        "extra": fields.FlexibleDictField(nullable=True),
        "created_at": fields.DateTimeField(nullable=True),
        "updated_at": fields.DateTimeField(nullable=True),
        # None on instances created before composition existed: not composed.
        "composed": fields.BooleanField(nullable=True),
        # What the flavor's composition asks for, as the quota counts it.
        "composed_cores": fields.IntegerField(nullable=True),
        "composed_ram_mib": fields.IntegerField(nullable=True),
        "composed_disk_gb": fields.IntegerField(nullable=True),
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        target = versionutils.convert_version_to_tuple(target_version)
        if target < (1, 2):
            for name in COUNTED_FIELDS:
                primitive.pop(name, None)
        if target < (1, 1):
            primitive.pop("composed", None)

    @property
    def is_composed(self) -> bool:
        return bool(self.obj_attr_is_set("composed") and self.composed)

    @classmethod
    def get(cls, context, uuid: str) -> "Instance":
        return cls._from_db_object(context, cls(), db_api.instance_get(context, uuid))

    @classmethod
    def list(cls, context, **filters) -> list["Instance"]:
        return [
            cls._from_db_object(context, cls(), row)
            for row in db_api.instance_get_all(context, **filters)
        ]

    @staticmethod
    def count_by_status(context=None) -> dict[str, int]:
        """``{status: number of instances}`` (metrics read it at scrape time)."""
        return db_api.instance_count_by_status(context)

    def create(self, context=None, quota_defaults: dict | None = None) -> None:
        """Write the instance.

        :param quota_defaults: check the project's quota (these are the
            limits of projects without their own) in the same transaction.
        :raises QuotaExceeded: the instance does not fit.
        """
        context = context or self._context
        values = self.obj_get_changes()
        values.pop("id", None)
        row = db_api.instance_create(context, values, quota_defaults=quota_defaults)
        self._from_db_object(context, self, row)

    def save(self, context=None, expected_status=None) -> None:
        """Write the changed fields.

        :param expected_status: a status (or tuple of them) the row must
            still have; the update is then a compare-and-swap and raises
            ``InvalidStateTransition`` when another writer moved it first.
        """
        context = context or self._context
        updates = self.obj_get_changes()
        for name in ("id", "uuid", "created_at", "updated_at"):
            updates.pop(name, None)
        if not updates:
            return
        row = db_api.instance_update(
            context, self.uuid, updates, expected_status=expected_status
        )
        self._from_db_object(context, self, row)

    def refresh(self, context=None) -> None:
        context = context or self._context
        current = self.get(context, self.uuid)
        for name in self.fields:
            if current.obj_attr_is_set(name):
                setattr(self, name, getattr(current, name))
        self.obj_reset_changes()
