"""A project's quota: its limits and what it uses."""

from mogan_valence.db import api as db_api
from mogan_valence.objects import base
from mogan_valence.objects import fields

RESOURCES = db_api.QUOTA_RESOURCES


@base.MoganObjectRegistry.register
class Quota(base.MoganObject):
    """Limits in force (the project's own, else the defaults given) and
    usage, per resource; ``-1`` is unlimited."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "project_id": fields.StringField(),
        # resource -> limit in force
        "limits": fields.DictOfIntegersField(),
        # the resources whose limit is the default (the project has none)
        "defaulted": fields.ListOfStringsField(),
        # resource -> what the project's servers not yet deleted hold
        "in_use": fields.DictOfIntegersField(),
    }

    @classmethod
    def get(cls, context, project_id: str, defaults: dict[str, int]) -> "Quota":
        own, usage = db_api.quota_get(context, project_id)
        return cls(
            context,
            project_id=project_id,
            limits={r: defaults[r] if own[r] is None else own[r] for r in RESOURCES},
            defaulted=[r for r in RESOURCES if own[r] is None],
            in_use=usage,
        )

    @staticmethod
    def update(context, project_id: str, limits: dict[str, int | None]) -> None:
        """Set some of a project's limits; None goes back to the default."""
        db_api.quota_update(context, project_id, limits)
