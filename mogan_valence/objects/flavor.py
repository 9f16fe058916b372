from oslo_utils import versionutils

from mogan_valence.db import api as db_api
from mogan_valence.objects import base
from mogan_valence.objects import fields


@base.MoganObjectRegistry.register
class Flavor(base.MoganObject):
    # Version 1.0: Initial version (the Mogan shape)
    # Version 1.1: Added composition
    VERSION = "1.1"

    fields = {
        "id": fields.IntegerField(),
        "uuid": fields.UUIDField(),
        "name": fields.StringField(),
        "description": fields.StringField(nullable=True),
        "resources": fields.FlexibleDictField(nullable=True),
        "resource_traits": fields.FlexibleDictField(nullable=True),
        "is_public": fields.BooleanField(default=True),
        "disabled": fields.BooleanField(default=False),
        "created_at": fields.DateTimeField(nullable=True),
        "updated_at": fields.DateTimeField(nullable=True),
        # What to ask Valence to compose; None or {} for a pre-set flavor.
        "composition": fields.FlexibleDictField(nullable=True),
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        target = versionutils.convert_version_to_tuple(target_version)
        if target < (1, 1):
            primitive.pop("composition", None)

    @property
    def is_composed(self) -> bool:
        return bool(self.obj_attr_is_set("composition") and self.composition)

    @classmethod
    def get(cls, context, ident: str) -> "Flavor":
        """A flavor by uuid or, failing that, by name."""
        return cls._from_db_object(context, cls(), db_api.flavor_get(context, ident))

    @classmethod
    def list(cls, context, **filters) -> list["Flavor"]:
        """Flavors by name; ``visible_to=<project>`` leaves out the private
        flavors that project has no access to."""
        return [
            cls._from_db_object(context, cls(), row)
            for row in db_api.flavor_get_all(context, **filters)
        ]

    def access_list(self, context=None) -> "list[str]":
        """The projects that may see and use this (private) flavor."""
        return db_api.flavor_access_get(context or self._context, self.uuid)

    def add_access(self, project_id: str, context=None) -> None:
        db_api.flavor_access_add(context or self._context, self.uuid, project_id)

    def remove_access(self, project_id: str, context=None) -> None:
        db_api.flavor_access_remove(context or self._context, self.uuid, project_id)

    def visible_to(self, project_id: str | None, context=None) -> bool:
        """Public, or private with ``project_id`` on its access list."""
        return bool(self.is_public) or (
            project_id is not None and project_id in self.access_list(context)
        )

    def create(self, context=None) -> None:
        context = context or self._context
        values = self.obj_get_changes()
        values.pop("id", None)
        for name in ("is_public", "disabled"):
            values.setdefault(name, self.fields[name].default)
        row = db_api.flavor_create(context, values)
        self._from_db_object(context, self, row)

    def save(self, context=None) -> None:
        context = context or self._context
        updates = self.obj_get_changes()
        for name in ("id", "uuid", "created_at", "updated_at"):
            updates.pop(name, None)
        if updates:
            self._from_db_object(
                context, self, db_api.flavor_update(context, self.uuid, updates)
            )

    def destroy(self, context=None) -> None:
        db_api.flavor_destroy(context or self._context, self.uuid)
