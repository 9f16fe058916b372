"""A real, standalone Ironic (API and conductor in one process, SQLite,
no Keystone, no message bus) on loopback."""

import importlib.util
import os
import shutil
import subprocess
import sys
import time

from ironicclient import client as ironic_client

from mogan_valence.localstack import process

_CONF = """[DEFAULT]
host = mogan-valence-local
auth_strategy = noauth
rpc_transport = none
use_stderr = false
log_file = {run_dir}/ironic.log
debug = false
state_path = {run_dir}/state
enabled_hardware_types = fake-hardware,redfish
enabled_bios_interfaces = fake,no-bios,redfish
enabled_boot_interfaces = fake,redfish-virtual-media
enabled_console_interfaces = fake,no-console
enabled_deploy_interfaces = fake,ramdisk,direct
enabled_firmware_interfaces = fake,no-firmware,redfish
enabled_inspect_interfaces = fake,no-inspect,redfish
enabled_management_interfaces = fake,redfish
enabled_network_interfaces = noop
enabled_power_interfaces = fake,redfish
enabled_raid_interfaces = fake,no-raid,redfish
enabled_rescue_interfaces = fake,no-rescue
enabled_storage_interfaces = fake,noop
enabled_vendor_interfaces = fake,no-vendor,redfish
default_network_interface = noop
default_resource_class = baremetal

[api]
host_ip = 127.0.0.1
port = {port}
api_workers = 1

[conductor]
automated_clean = false
sync_power_state_interval = -1

[database]
connection = {connection}

[dhcp]
dhcp_provider = none

[deploy]
http_root = {run_dir}/http
http_url = http://127.0.0.1:{http_port}
# Boot ISOs are handed to the BMC by URL (the Redfish emulator fetches them).
ramdisk_image_download_source = http

[pxe]
tftp_root = {run_dir}/tftp

[oslo_concurrency]
lock_path = {run_dir}/state/locks

[service_catalog]
endpoint_override = http://127.0.0.1:{port}
"""


def available() -> bool:
    return importlib.util.find_spec("ironic") is not None


def _bin(name: str) -> str:
    local = os.path.join(os.path.dirname(sys.executable), name)
    return local if os.path.exists(local) else (shutil.which(name) or name)


class StandaloneIronic:
    START_TIMEOUT = 60.0

    def __init__(
        self, run_dir: str, http_port: int | None = None, connection: str | None = None
    ):
        """:param connection: Ironic's database (default: a SQLite file in
        ``run_dir``); an empty MySQL/MariaDB database works too, and takes
        concurrent allocations without SQLite's lock errors."""
        self.run_dir = run_dir
        self.connection = connection or f"sqlite:///{run_dir}/state/ironic.sqlite"
        self.port = process.free_port()
        self.http_port = http_port or process.free_port()
        self.conf_path = os.path.join(run_dir, "ironic.conf")
        self.proc = process.ServiceProcess(
            "ironic",
            [_bin("ironic"), "--config-file", self.conf_path],
            os.path.join(run_dir, "ironic.out"),
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> str:
        return os.path.join(self.run_dir, "ironic.log")

    def start(self) -> None:
        if not available():
            raise RuntimeError(
                "the 'ironic' package is not installed in this "
                "environment (pip install ironic)"
            )
        for sub in ("state", "http", "tftp"):
            os.makedirs(os.path.join(self.run_dir, sub), exist_ok=True)
        with open(self.conf_path, "w") as f:
            f.write(
                _CONF.format(
                    run_dir=self.run_dir,
                    port=self.port,
                    http_port=self.http_port,
                    connection=self.connection,
                )
            )
        # create_schema, not upgrade: upgrade fails on a fresh SQLite file.
        subprocess.run(
            [_bin("ironic-dbsync"), "--config-file", self.conf_path, "create_schema"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        try:
            self.proc.start()
            self.proc.wait_http(f"{self.url}/v1", self.START_TIMEOUT)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.proc.stop()

    def client(self):
        return ironic_client.get_client(
            "1", endpoint=self.url, os_ironic_api_version="latest"
        )

    def enroll_fake_nodes(
        self, count: int, resource_class: str, prefix: str = "node", **node_fields
    ) -> list[str]:
        """fake-hardware nodes, available and powered off (ready to allocate)."""
        client = self.client()
        uuids = []
        for i in range(count):
            node = client.node.create(
                driver="fake-hardware",
                name=f"{prefix}-{i}",
                resource_class=resource_class,
                properties={"local_gb": 10},
                **node_fields,
            )
            client.port.create(
                node_uuid=node.uuid,
                address=f"52:54:01:{(hash(prefix) >> 8) & 0xFF:02x}:"
                f"{hash(prefix) & 0xFF:02x}:{i:02x}",
            )
            uuids.append(node.uuid)
        for uuid in uuids:
            client.node.set_provision_state(uuid, "manage")
        for uuid in uuids:
            client.node.wait_for_provision_state(
                uuid, "manageable", timeout=60, poll_interval=0.1
            )
            client.node.set_provision_state(uuid, "provide")
        for uuid in uuids:
            client.node.wait_for_provision_state(
                uuid, "available", timeout=60, poll_interval=0.1
            )
            # fake power leaves power_state None, which allocation skips.
            client.node.set_power_state(uuid, "off")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(
                client.node.get(u, fields=["power_state"]).power_state == "power off"
                for u in uuids
            ):
                return uuids
            time.sleep(0.1)
        raise RuntimeError("fake nodes did not power off")
