"""Request schemas of Valence v1 (valence/common/... at HEAD), plus the RSD 2.x
``local_drives`` extension the RSD backend accepts in a compose request.

Flavors always get Valence's own schema (``local_drives`` or any other
unknown key is a 400), as does a compose in the ExpEther backend.
"""

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
    },
    "additionalProperties": False,
}

# RSD 2.x extension (compose in the RSD backend only): a stock Valence
# rejects it with 400.
_rsd_properties = {
    **_properties,
    "properties": {
        **_properties["properties"],
        "local_drives": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"capacity_gib": _string, "type": _string},
                "additionalProperties": False,
            },
        },
    },
}

flavor = {
    "type": "object",
    "properties": {"name": _string, "description": _string, "properties": _properties},
    "required": ["name", "properties"],
    "additionalProperties": False,
}


def _compose_node(properties: dict) -> dict:
    return {
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
                    "properties": properties,
                },
                "required": ["name"],
                "additionalProperties": False,
            },
        ],
    }


compose_node = _compose_node(_properties)
compose_node_rsd = _compose_node(_rsd_properties)

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
