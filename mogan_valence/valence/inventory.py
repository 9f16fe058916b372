"""The operator's inventory of ExpEther hosts (``[valence] node_inventory``).

An ExpEther "composed node" is an existing server (its EESV board) with pool
devices attached; Valence does not know its BMC. A host that Ironic does not
know yet is enrolled from this file: a JSON or YAML list of entries, each
naming one host by ``mac`` (the EESV's MAC), ``eesv`` (the EESV id, Valence's
``index``) or ``host_serial_number``, with the Ironic ``driver`` and
``driver_info`` to enroll it with (and optionally its ``resource_class``,
``properties`` and Ironic ``*_interface`` fields)::

    - eesv: "0x8cdf9d53a001"
      mac: "8c:df:9d:53:a0:01"
      driver: redfish
      driver_info:
        redfish_address: https://bmc-1.example
        redfish_system_id: /redfish/v1/Systems/1
        redfish_username: admin
        redfish_password: secret

``driver_info`` holds BMC credentials: nothing here logs it, and errors name
an entry by its position and keys only.
"""

import json
import logging
import os
import threading

import yaml

from mogan_valence.common import exception
from mogan_valence.common import schema

LOG = logging.getLogger(__name__)

KEYS = ("mac", "eesv", "host_serial_number")
_MAC = r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$"


def _text(most: int) -> dict:
    # NOTE: messages never show the value: an entry may hold credentials.
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": most,
        "errorMessage": f"must be a string of 1 to {most} characters",
    }


SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "mac": {
                "type": "string",
                "pattern": _MAC,
                "errorMessage": "must be a MAC address such as 8c:df:9d:53:a0:01",
            },
            "eesv": _text(255),
            "host_serial_number": _text(255),
            "driver": _text(255),
            "driver_info": {
                "type": "object",
                "errorMessage": "must be an object of the driver's fields",
            },
            "properties": {
                "type": "object",
                "errorMessage": "must be an object of Ironic node properties",
            },
            "resource_class": _text(80),
        },
        # Ironic's hardware interfaces (deploy_interface, boot_interface,
        # ...): for the redfish driver, [valence] deploy_interface and
        # boot_interface by default; Ironic's defaults for other drivers.
        "patternProperties": {"^[a-z]+_interface$": _text(255)},
        "required": ["driver", "driver_info"],
        "anyOf": [{"required": [key]} for key in KEYS],
        "additionalProperties": False,
        "errorMessage": {"anyOf": f"names no host: give one of {', '.join(KEYS)}"},
    },
    "errorMessage": {"type": "must be a list of host entries"},
}


class InventoryError(exception.InvalidInput):
    msg_fmt = "Invalid [valence] node_inventory: %(reason)s"


_VALIDATOR = schema.SchemaValidator(SCHEMA, root="inventory", error=InventoryError)


def _normal_mac(mac: str | None) -> str | None:
    return mac.lower().replace("-", ":") if mac else None


def parse(text: str, path: str = "inventory") -> list[dict]:
    """The entries of an inventory file's text (JSON or YAML).

    :raises InventoryError: naming the entry and key that are wrong (never
        a value: they may be credentials).
    """
    try:
        data = json.loads(text) if text.lstrip().startswith("[") else None
    except ValueError:
        data = None
    if data is None:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise InventoryError(
                reason=f"{path} is neither JSON nor YAML{where}"
            ) from None
    if data is None:
        data = []
    _VALIDATOR.validate(data)
    seen: dict[tuple[str, str], int] = {}
    for position, entry in enumerate(data):
        entry["mac"] = _normal_mac(entry.get("mac"))
        for key in KEYS:
            if entry.get(key) is None:
                continue
            other = seen.setdefault((key, entry[key]), position)
            if other != position:
                raise InventoryError(
                    reason=f"entries {other} and {position} name the same {key}"
                )
    return data


class Inventory:
    """The inventory file, read again whenever it changes on disk."""

    def __init__(self, path: str | None):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._entries: list[dict] = []

    def entries(self) -> list[dict]:
        """:raises InventoryError: the file is missing or wrong."""
        if not self.path:
            return []
        try:
            st = os.stat(self.path)
        except OSError as e:
            raise InventoryError(
                reason=f"cannot read {self.path}: {e.strerror}"
            ) from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp != self._stamp:
                with open(self.path, encoding="utf-8") as f:
                    self._entries = parse(f.read(), self.path)
                self._stamp = stamp
                LOG.info(
                    "Read %d host(s) from [valence] node_inventory %s",
                    len(self._entries),
                    self.path,
                )
            return self._entries

    def find(
        self, eesv: str | None, mac: str | None, serial: str | None
    ) -> dict | None:
        """The entry naming this host by any of its keys."""
        wanted = {"eesv": eesv, "mac": _normal_mac(mac), "host_serial_number": serial}
        for entry in self.entries():
            if any(value and entry.get(key) == value for key, value in wanted.items()):
                return entry
        return None
