"""The RSD backend: Valence's ``redfishv1`` driver as it was meant to work.

Valence HEAD's redfishv1 driver is a stub; this implements the intended
contract (the last working RSD code): compose picks the first free system
that satisfies the request, plus free drives for the RSD 2.x ``local_drives``
extension; the node detail carries ``computer_system`` and ``metadata``.
"""

from mogan_valence.simulator import register
from mogan_valence.simulator import state as state_mod


class RsdBackend:
    driver = "redfishv1"

    def __init__(self, state: state_mod.State, redfish=None):
        self.state = state
        self.redfish = redfish

    # -- devices: redfishv1 syncs none -------------------------------------------

    def sync_devices(self, podm_id: str) -> None:
        pass

    def forget_pod_manager(self, podm_id: str) -> None:
        pass

    def get_device(self, uuid: str) -> dict:
        raise state_mod.not_found(f"Device {uuid} not found in database.")

    # -- nodes -------------------------------------------------------------------

    def compose(
        self,
        name: str,
        description: str | None,
        podm_id: str,
        requirements: dict,
        failed: bool = False,
        race_window: float | None = None,
    ) -> dict:
        node = self.state.compose(
            name,
            description,
            podm_id,
            requirements,
            node_state="Failed" if failed else "Assembled",
        )
        return {k: node[k] for k in ("uuid", "name", "index", "resource_uri")}

    def release(self, node_id: str) -> dict:
        return self.state.release(node_id)

    def manage(self, podm_id: str, index: str) -> dict:
        return self.state.manage(podm_id, index)

    def detail(self, node: dict) -> dict:
        system = self.state.pod.system(node["system_id"])
        drives = [self.state.pod.drive(d) for d in node.get("drive_ids", [])]
        power = self.redfish.power_state(system) if self.redfish else None
        if power is None:
            power = self.state.power.get(system.id, "Off")
        detail = {
            "name": node["name"],
            "description": node["description"],
            "node_state": node["node_state"],
            "node_power_state": power,
            "power_state": power.lower() if power else None,
            "health_status": "OK" if node["node_state"] == "Assembled" else "Critical",
            "boot_source": None,
            "target_boot_source": None,
            "pooled_group_id": None,
            "computer_system": system.path,
            "metadata": {
                "processor": [
                    {
                        "model": system.cpu_model,
                        "total_core": system.cpu_cores,
                        "instruction_set": "x86-64",
                        "speed_mhz": 2400,
                    }
                ],
                "memory": [
                    {
                        "total_memory_mb": system.ram_mib,
                        "type": system.ram_type,
                        "data_width_bit": 64,
                        "speed_mhz": 2666,
                    }
                ],
                "network": [
                    {
                        "mac": nic.mac,
                        "speed_mbps": nic.speed_mbps,
                        "status": "Enabled",
                        "ipv4": [],
                        "vlans": [],
                    }
                    for nic in system.nics
                ],
                "local_drives": [
                    {"capacity_gib": d.capacity_gib, "type": d.type} for d in drives
                ],
            },
            "cpu_cores": system.cpu_cores,
            "ram_mib": system.ram_mib,
            "disk_gb": sum(d.capacity_gib for d in drives),
        }
        return state_mod.with_record(detail, node)

    def action(self, node: dict, body: dict) -> None:
        system = self.state.pod.system(node["system_id"])
        if "Reset" in body:
            reset = body["Reset"]["Type"]
            if self.redfish:
                self.redfish.reset(system, reset)
            with self.state.lock:
                self.state.power[system.id] = "Off" if reset == "ForceOff" else "On"
                self.state.save()
        elif "Boot" in body:
            if self.redfish:
                self.redfish.set_boot(
                    system, body["Boot"]["Target"], body["Boot"]["Enabled"]
                )
        else:
            raise state_mod.ValenceError(
                400,
                "Bad Request",
                "Bad Request",
                f"Unsupported action: {next(iter(body))}",
            )

    @staticmethod
    def register_params(detail: dict, pod_manager: dict, request: dict):
        return register.node_params(detail, pod_manager, request)

    def host_entries(self) -> list[dict]:
        return [
            {
                "system": s.id,
                "mac": s.nics[0].mac,
                "redfish_system_id": s.path,
            }
            for s in self.state.pod.systems
        ]
