"""Instance states and the transitions the engine allows between them."""

BUILDING = "building"
ACTIVE = "active"
DELETING = "deleting"
DELETED = "deleted"
ERROR = "error"

ALL_STATES = frozenset({BUILDING, ACTIVE, DELETING, DELETED, ERROR})

# Power states reported on an instance (mirrors Ironic's, plus 'no state').
POWER_ON = "power on"
POWER_OFF = "power off"
NOSTATE = None

# What a power action may ask of a node.
POWER_TARGETS = ("on", "off", "reboot", "soft_off", "soft_reboot")

_TRANSITIONS: dict[str, frozenset[str]] = {
    # A building instance is deleted once its create has ended (ACTIVE or
    # ERROR): its flow owns it until then.
    BUILDING: frozenset({ACTIVE, ERROR}),
    ACTIVE: frozenset({DELETING, ERROR}),
    # A delete that fails leaves ERROR; a repeated delete starts from there.
    ERROR: frozenset({DELETING}),
    DELETING: frozenset({DELETED, ERROR}),
    DELETED: frozenset(),
}


def can_transition(current: str, target: str) -> bool:
    """Whether an instance in ``current`` may move to ``target``."""
    return target in _TRANSITIONS.get(current, frozenset())
