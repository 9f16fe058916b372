"""Versioned notification payloads: what the engine says about a server
action on the message bus (``mogan_valence.engine.notifications`` sends them).

A payload travels as the primitive of its object (``mogan_object.name``,
``.version``, ``.data``), so that a consumer can tell which shape it reads.
Adding a field is a minor version bump; removing or changing one is a major
bump. ``doc/notifications/`` keeps a sample of each event.
"""

from oslo_versionedobjects import fields as ovo_fields

from mogan_valence.objects import base
from mogan_valence.objects import fields


class FloatDict(ovo_fields.Dict):
    def __init__(self, **kwargs):
        super().__init__(ovo_fields.Float(), **kwargs)


class DictOfFloatsField(ovo_fields.AutoTypedField):
    AUTO_TYPE = FloatDict()


class NotificationPayloadBase(base.MoganObject):
    """A payload: every field is set, None where there is no value."""

    def populate_defaults(self) -> "NotificationPayloadBase":
        for name, field in self.fields.items():
            if not self.obj_attr_is_set(name) and field.nullable:
                setattr(self, name, None)
        return self


@base.MoganObjectRegistry.register
class GrantedHardwarePayload(NotificationPayloadBase):
    """What the composed node has, as Ironic's node properties say."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "cpus": fields.IntegerField(nullable=True),
        "memory_mb": fields.IntegerField(nullable=True),
        "local_gb": fields.IntegerField(nullable=True),
    }


@base.MoganObjectRegistry.register
class ComposedNodePayload(NotificationPayloadBase):
    """The node composed for a server (set for a composed flavor only)."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        # The composition service: the flavor's composition "backend",
        # 'valence' when it names none.
        "backend": fields.StringField(),
        # None until the node is composed (and after a failed compose).
        "node_uuid": fields.UUIDField(nullable=True),
        # The flavor's composition, as asked for.
        "requested": fields.FlexibleDictField(),
        # None while the node is not (or no longer) in Ironic.
        "granted": ovo_fields.ObjectField("GrantedHardwarePayload", nullable=True),
    }


@base.MoganObjectRegistry.register
class FaultPayload(NotificationPayloadBase):
    """Why an action failed; its text is masked (no credentials)."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        # The step (atom) that failed: compose-node, undeploy, power off, ...
        "step": fields.StringField(),
        # The class name of the error.
        "exception": fields.StringField(),
        "message": fields.StringField(),
    }


@base.MoganObjectRegistry.register
class ServerActionPayload(NotificationPayloadBase):
    """The payload of every server.<action>.<phase> event."""

    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "uuid": fields.UUIDField(),
        "name": fields.StringField(nullable=True),
        "project_id": fields.StringField(nullable=True),
        "user_id": fields.StringField(nullable=True),
        "flavor_uuid": fields.UUIDField(nullable=True),
        "state": fields.StringField(nullable=True),
        "power_state": fields.StringField(nullable=True),
        "node_uuid": fields.UUIDField(nullable=True),
        "composed_node": ovo_fields.ObjectField("ComposedNodePayload", nullable=True),
        # Set on .error events only.
        "fault": ovo_fields.ObjectField("FaultPayload", nullable=True),
        # Seconds by step (atom) name, on the .end and .error events of a
        # create or a delete; {} elsewhere.
        "step_durations": DictOfFloatsField(),
    }
