from mogan_valence.db import api as db_api
from mogan_valence.objects import base
from mogan_valence.objects import fields


@base.MoganObjectRegistry.register
class InstanceFault(base.MoganObject):
    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "id": fields.IntegerField(),
        "instance_uuid": fields.UUIDField(),
        "code": fields.IntegerField(),
        "message": fields.StringField(nullable=True),
        "detail": fields.StringField(nullable=True),
        "created_at": fields.DateTimeField(nullable=True),
        "updated_at": fields.DateTimeField(nullable=True),
    }

    # The message column is 255 characters; the whole text goes in detail.
    MESSAGE_MAX = 255

    def create(self, context=None) -> None:
        context = context or self._context
        values = self.obj_get_changes()
        values.pop("id", None)
        if values.get("message") and len(values["message"]) > self.MESSAGE_MAX:
            values["message"] = values["message"][: self.MESSAGE_MAX - 3] + "..."
        self._from_db_object(
            context, self, db_api.instance_fault_create(context, values)
        )

    @classmethod
    def get_latest_for_instances(
        cls, context, instance_uuids: list[str]
    ) -> dict[str, "InstanceFault"]:
        rows = db_api.instance_fault_get_by_instance_uuids(context, instance_uuids)
        return {
            uuid: cls._from_db_object(context, cls(), faults[0])
            for uuid, faults in rows.items()
            if faults
        }
