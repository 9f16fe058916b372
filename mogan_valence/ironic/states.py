"""Ironic provision states the engine acts on (ironic/common/states.py)."""

ENROLL = "enroll"
VERIFYING = "verifying"
MANAGEABLE = "manageable"
AVAILABLE = "available"
ACTIVE = "active"
DEPLOYING = "deploying"
DEPLOYWAIT = "wait call-back"
DEPLOYFAIL = "deploy failed"
DELETING = "deleting"
CLEANFAIL = "clean failed"
ERROR = "error"
INSPECTFAIL = "inspect failed"

# Verbs of set_provision_state.
VERB_MANAGE = "manage"
VERB_PROVIDE = "provide"
VERB_ACTIVE = "active"
VERB_DELETED = "deleted"

# States from which 'deleted' tears an instance down.
UNDEPLOY_FROM = frozenset({ACTIVE, DEPLOYFAIL, ERROR, DEPLOYWAIT, DEPLOYING})
# States in which Ironic lets a node be deleted without maintenance.
DELETABLE = frozenset({AVAILABLE, MANAGEABLE, ENROLL})

# Failure states a node stays in, with target_provision_state still set to
# what it was heading for: nothing more happens until someone acts.
STABLE_FAILURES = frozenset({DEPLOYFAIL, ERROR, CLEANFAIL, INSPECTFAIL})


def is_settled(node: dict) -> bool:
    """No transition in progress: the node waits for an action."""
    return not node.get("target_provision_state") or node.get(
        "provision_state"
    ) in STABLE_FAILURES | {DEPLOYWAIT}
