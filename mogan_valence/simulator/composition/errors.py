"""Redfish error bodies (DSP0266 "Error responses"), Base registry 1.16."""

REGISTRY = "Base.1.16"


class RedfishError(Exception):
    """An error answer: HTTP status and a Base message id.

    :param prop: the JSON pointer of the property at fault, if any.
    """

    def __init__(
        self,
        status: int,
        message_id: str,
        message: str,
        prop: str | None = None,
        resolution: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message_id = message_id
        self.message = message
        self.prop = prop
        self.resolution = resolution

    @property
    def code(self) -> str:
        return f"{REGISTRY}.{self.message_id}"

    def body(self) -> dict:
        info = {
            "@odata.type": "#Message.v1_1_1.Message",
            "MessageId": self.code,
            "Message": self.message,
            "Severity": "Critical" if self.status >= 500 else "Warning",
            "MessageSeverity": "Critical" if self.status >= 500 else "Warning",
            "Resolution": self.resolution or "See the message.",
        }
        if self.prop:
            info["RelatedProperties"] = [self.prop]
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "@Message.ExtendedInfo": [info],
            }
        }


def malformed(detail: str) -> RedfishError:
    return RedfishError(
        400, "MalformedJSON", f"The request body is not valid: {detail}"
    )


def missing(prop: str) -> RedfishError:
    return RedfishError(
        400,
        "PropertyMissing",
        f"The property {prop} is a required property and must be included "
        "in the request.",
        prop=f"#/{prop}",
    )


def bad_value(prop: str, value, why: str) -> RedfishError:
    return RedfishError(
        400,
        "PropertyValueIncorrect",
        f"The value {value!r} of property {prop} is not valid: {why}",
        prop=f"#/{prop}",
    )


def not_found(uri: str) -> RedfishError:
    return RedfishError(404, "ResourceNotFound", f"The resource {uri} was not found.")


def in_use(block_id: str, why: str) -> RedfishError:
    return RedfishError(
        409,
        "ResourceInUse",
        f"The resource block {block_id} is {why}.",
        resolution="Choose another resource block, or decompose its system.",
    )


def exhausted(why: str) -> RedfishError:
    return RedfishError(
        409,
        "ResourceExhaustion",
        f"The composition request cannot be satisfied: {why}",
        resolution="Ask for less, another zone, or retry after a decompose.",
    )


def internal(detail: str, status: int = 500) -> RedfishError:
    if status == 503:
        return RedfishError(
            503, "ServiceTemporarilyUnavailable", f"Service unavailable: {detail}"
        )
    return RedfishError(status, "InternalError", f"Internal error: {detail}")
