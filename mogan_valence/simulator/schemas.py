"""Request schemas of Valence v1 (valence/common/... at HEAD), plus the RSD 2.x
``local_drives`` extension this simulator implements."""

_string = {"type": "string"}

_properties = {
    "type": "object",
    "properties": {
        "memory": {
            "type": "object",
            "properties": {"capacity_mib": _string, "type": _string},
            "additionalProperties": False,
        },
        "processor": {
            "type": "object",
            "properties": {"total_cores": _string, "model": _string},
            "additionalProperties": False,
        },
        "pci_device": {
            "type": "object",
            "properties": {"type": {"type": "array"}},
            "additionalProperties": False,
        },
        # RSD 2.x extension: a stock Valence rejects it with 400.
        "local_drives": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"capacity_gib": _string, "type": _string},
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}

flavor = {
    "type": "object",
    "properties": {"name": _string, "description": _string, "properties": _properties},
    "required": ["name", "properties"],
    "additionalProperties": False,
}

compose_node = {
    "type": "object",
    "anyOf": [
        {
            "properties": {
                "name": _string,
                "description": _string,
                "podm_id": _string,
                "flavor_id": _string,
            },
            "required": ["name", "flavor_id"],
            "additionalProperties": False,
        },
        {
            "properties": {
                "name": _string,
                "description": _string,
                "podm_id": _string,
                "properties": _properties,
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    ],
}

node_action = {
    "type": "object",
    "oneOf": [
        {
            "properties": {
                "Reset": {
                    "type": "object",
                    "properties": {
                        "Type": {
                            "enum": ["On", "ForceOn", "ForceOff", "GracefulRestart"]
                        }
                    },
                    "required": ["Type"],
                    "additionalProperties": False,
                }
            },
            "required": ["Reset"],
            "additionalProperties": False,
        },
        {
            "properties": {
                "Boot": {
                    "type": "object",
                    "properties": {
                        "Enabled": {"enum": ["Once", "Continuous"]},
                        "Target": {"enum": ["Pxe", "Hdd", "None"]},
                    },
                    "required": ["Enabled", "Target"],
                    "additionalProperties": False,
                }
            },
            "required": ["Boot"],
            "additionalProperties": False,
        },
        {
            "properties": {
                "attach": {
                    "type": "object",
                    "properties": {"resource_id": _string},
                    "required": ["resource_id"],
                    "additionalProperties": False,
                }
            },
            "required": ["attach"],
            "additionalProperties": False,
        },
        {
            "properties": {
                "detach": {
                    "type": "object",
                    "properties": {"resource_id": _string},
                    "required": ["resource_id"],
                    "additionalProperties": False,
                }
            },
            "required": ["detach"],
            "additionalProperties": False,
        },
    ],
}

pod_manager = {
    "type": "object",
    "properties": {
        "name": _string,
        "url": {"type": "string", "format": "uri"},
        "driver": _string,
        "authentication": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "type": _string,
                    "auth_items": {
                        "type": "object",
                        "properties": {"username": _string, "password": _string},
                        "required": ["username", "password"],
                    },
                },
                "required": ["type", "auth_items"],
            },
        },
    },
    "required": ["name", "url", "authentication"],
    "additionalProperties": False,
}

node_manage = {
    "type": "object",
    "properties": {"node_index": _string, "podm_id": _string},
    "required": ["node_index"],
    "additionalProperties": False,
}
