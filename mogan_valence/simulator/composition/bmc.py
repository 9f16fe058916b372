"""The BMCs behind Compute blocks: sushy-tools' emulator over HTTP, or a
small in-memory stand-in for unit tests and ``--no-emulator`` runs.

Both answer ``request(method, path, body)`` on the BMC's own paths
(``/redfish/v1/Systems/<bmc uuid>/...``) with ``(status, headers, json)``.
"""

import copy
import threading

import requests

from mogan_valence.simulator.composition import pod as pod_mod

Answer = tuple[int, dict, dict | None]


class EmulatorBmc:
    """sushy-tools' emulator (``redfish.Emulator``) as the pod's BMCs."""

    def __init__(self, url: str, username: str, password: str):
        self.url = url
        self._session = requests.Session()
        self._session.auth = (username, password)
        self._local = threading.local()

    def request(self, method: str, path: str, body=None) -> Answer:
        response = self._session.request(
            method, f"{self.url}{path}", json=body, timeout=30
        )
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() in ("location", "retry-after", "etag")
        }
        return response.status_code, headers, data


class MemoryBmc:
    """Just what Ironic's redfish driver uses: power, boot, virtual media."""

    def __init__(self, pod: pod_mod.Pod):
        self._lock = threading.Lock()
        self._systems = {
            b.bmc_uuid: {
                "PowerState": "Off",
                "Boot": {
                    "BootSourceOverrideEnabled": "Disabled",
                    "BootSourceOverrideTarget": "None",
                    "BootSourceOverrideTarget@Redfish.AllowableValues": [
                        "Pxe",
                        "Cd",
                        "Hdd",
                    ],
                    "BootSourceOverrideMode": "UEFI",
                },
                "media": {"Cd": {"Image": "", "Inserted": False}},
            }
            for b in pod.computes
        }

    def _system(self, uuid: str, sub: str) -> Answer:
        system = self._systems[uuid]
        path = f"/redfish/v1/Systems/{uuid}"
        if sub == "":
            return (
                200,
                {},
                {
                    "@odata.id": path,
                    "@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
                    "Id": uuid,
                    "Name": uuid,
                    "UUID": uuid,
                    "PowerState": system["PowerState"],
                    "Boot": copy.deepcopy(system["Boot"]),
                    "VirtualMedia": {"@odata.id": f"{path}/VirtualMedia"},
                    "Links": {
                        "ManagedBy": [{"@odata.id": f"/redfish/v1/Managers/{uuid}"}]
                    },
                    "Actions": {
                        "#ComputerSystem.Reset": {
                            "target": f"{path}/Actions/ComputerSystem.Reset",
                            "ResetType@Redfish.AllowableValues": [
                                "On",
                                "ForceOff",
                                "GracefulShutdown",
                                "ForceRestart",
                            ],
                        }
                    },
                },
            )
        if sub == "VirtualMedia":
            return (
                200,
                {},
                {
                    "@odata.id": f"{path}/VirtualMedia",
                    "Name": "Virtual Media",
                    "Members": [
                        {"@odata.id": f"{path}/VirtualMedia/{m}"}
                        for m in system["media"]
                    ],
                    "Members@odata.count": len(system["media"]),
                },
            )
        if sub.startswith("VirtualMedia/"):
            media_id = sub.split("/")[1]
            media = system["media"].get(media_id)
            if media is None:
                return 404, {}, None
            mpath = f"{path}/VirtualMedia/{media_id}"
            return (
                200,
                {},
                {
                    "@odata.id": mpath,
                    "Id": media_id,
                    "Name": f"Virtual {media_id}",
                    "MediaTypes": ["CD", "DVD"],
                    "ConnectedVia": "URI",
                    "Image": media["Image"],
                    "Inserted": media["Inserted"],
                    "WriteProtected": True,
                    "Actions": {
                        "#VirtualMedia.EjectMedia": {
                            "target": f"{mpath}/Actions/VirtualMedia.EjectMedia"
                        },
                        "#VirtualMedia.InsertMedia": {
                            "target": f"{mpath}/Actions/VirtualMedia.InsertMedia"
                        },
                    },
                },
            )
        return 404, {}, None

    def request(self, method: str, path: str, body=None) -> Answer:
        parts = path.removeprefix("/redfish/v1/").split("/")
        with self._lock:
            if len(parts) < 2 or parts[1] not in self._systems:
                return 404, {}, None
            uuid = parts[1]
            system = self._systems[uuid]
            sub = "/".join(parts[2:])
            if parts[0] == "Managers" and method == "GET" and sub == "":
                return (
                    200,
                    {},
                    {
                        "@odata.id": f"/redfish/v1/Managers/{uuid}",
                        "Id": uuid,
                        "Name": "BMC",
                        "ManagerType": "BMC",
                        "VirtualMedia": {
                            "@odata.id": f"/redfish/v1/Systems/{uuid}/VirtualMedia"
                        },
                        "Links": {
                            "ManagerForServers": [
                                {"@odata.id": f"/redfish/v1/Systems/{uuid}"}
                            ]
                        },
                    },
                )
            if parts[0] != "Systems":
                return 404, {}, None
            if method == "GET":
                return self._system(uuid, sub)
            if method == "PATCH" and sub == "":
                boot = (body or {}).get("Boot") or {}
                system["Boot"].update(boot)
                return 204, {}, None
            if method == "POST" and sub == "Actions/ComputerSystem.Reset":
                kind = (body or {}).get("ResetType")
                if kind in ("On", "ForceOn"):
                    system["PowerState"] = "On"
                elif kind in ("ForceOff", "GracefulShutdown"):
                    system["PowerState"] = "Off"
                elif kind not in ("ForceRestart", "GracefulRestart"):
                    return 400, {}, None
                return 204, {}, None
            if method == "POST" and sub.startswith("VirtualMedia/"):
                media = system["media"].get(parts[3]) if len(parts) > 3 else None
                if media is None:
                    return 404, {}, None
                if sub.endswith("VirtualMedia.InsertMedia"):
                    media["Image"] = (body or {}).get("Image", "")
                    media["Inserted"] = True
                    return 204, {}, None
                if sub.endswith("VirtualMedia.EjectMedia"):
                    media["Image"], media["Inserted"] = "", False
                    return 204, {}, None
            return 404, {}, None
