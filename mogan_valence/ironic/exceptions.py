"""Typed Ironic errors; each names the node and the state it was in."""

from mogan_valence.common import exception


class IronicError(exception.MoganValenceException):
    msg_fmt = "Ironic error: %(reason)s"

    @property
    def node(self) -> str | None:
        """The node the error is about, when there is one."""
        return self.kwargs.get("node")


class IronicUnavailable(IronicError):
    msg_fmt = "Ironic did not answer: %(reason)s"


class NodeNotFound(IronicError, exception.NotFound):
    msg_fmt = "Ironic node %(node)s not found."
    code = 404


class NodeStateError(IronicError):
    """A node reached a failure state, or refused a state change."""

    msg_fmt = "Node %(node)s: %(action)s failed in provision state %(state)s%(detail)s"

    def __init__(
        self, node: str, action: str, state: str | None, last_error: str | None = None
    ):
        self.action = action
        self.state = state
        self.last_error = last_error
        super().__init__(
            node=node,
            action=action,
            state=state,
            detail=f": {last_error}" if last_error else "",
        )


class NodeTimeout(IronicError):
    msg_fmt = (
        "Node %(node)s: %(action)s did not finish within %(timeout)ss "
        "(still in provision state %(state)s)"
    )

    def __init__(self, node: str, action: str, state: str | None, timeout: float):
        self.action = action
        self.state = state
        super().__init__(node=node, action=action, state=state, timeout=int(timeout))


class NodeValidationFailed(IronicError):
    msg_fmt = "Node %(node)s failed validation of %(interfaces)s: %(reasons)s"


class NoValidNode(IronicError):
    msg_fmt = "No valid node found: %(reason)s"
    code = 409


class AllocationFailed(NoValidNode):
    msg_fmt = "Allocation %(allocation)s failed: %(reason)s"


class CleanFailed(NodeStateError):
    """Ironic's cleaning failed: the node may still hold a tenant's data."""

    msg_fmt = (
        "Node %(node)s failed cleaning (provision state %(state)s)%(detail)s. "
        "Its hardware stays out of the pool until it is cleaned: an operator "
        "fixes the node and cleans it in Ironic ('baremetal node manage "
        "%(node)s', then 'baremetal node clean %(node)s' with erase steps), "
        "removes its mark ('baremetal node unset %(node)s --extra "
        "mogan_valence_needs_clean') and deletes the server again; or an "
        "admin releases it uncleaned with 'mogan-valence server delete "
        "--force-release'"
    )
