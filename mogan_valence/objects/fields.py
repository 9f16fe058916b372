"""Field types used by the objects."""

import json

from oslo_versionedobjects import fields

from mogan_valence.common import states

BooleanField = fields.BooleanField
DictOfIntegersField = fields.DictOfIntegersField
DateTimeField = fields.DateTimeField
IntegerField = fields.IntegerField
ListOfStringsField = fields.ListOfStringsField
StringField = fields.StringField
UUIDField = fields.UUIDField


class InstanceStatus(fields.Enum):
    ALL = tuple(sorted(states.ALL_STATES))

    def __init__(self):
        super().__init__(valid_values=self.ALL)


class InstanceStatusField(fields.BaseEnumField):
    AUTO_TYPE = InstanceStatus()


class FlexibleDict(fields.FieldType):
    """A JSON object: string keys, any JSON-serialisable values."""

    @staticmethod
    def coerce(obj, attr, value):
        if not isinstance(value, dict):
            raise ValueError(
                f"{attr} must be a JSON object (dict), not {type(value).__name__}"
            )
        try:
            # Round-trip to prove the value is plain JSON and to give the
            # object its own copy.
            return json.loads(json.dumps(value))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{attr} is not JSON-serialisable: {e}") from e


class FlexibleDictField(fields.AutoTypedField):
    AUTO_TYPE = FlexibleDict()
