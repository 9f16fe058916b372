"""Run the simulator: the Valence API in threads, the Redfish emulator beside it."""

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import tempfile
import threading

from werkzeug import serving

from mogan_valence.simulator import api
from mogan_valence.simulator import pod as pod_mod
from mogan_valence.simulator import redfish
from mogan_valence.simulator import state as state_mod

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 8181
    systems: int = 8
    pod_file: str | None = None
    state_dir: str | None = None
    redfish: bool = True
    redfish_host: str = "127.0.0.1"
    redfish_port: int = 8000
    redfish_username: str = "admin"
    redfish_password: str = "password"
    redfish_power_delay: float | None = None
    ironic_url: str | None = None
    # "rsd" (Valence's redfishv1 driver, composed RSD systems) or "expether"
    # (Valence's ExpEther driver: servers with pooled PCIe devices).
    backend: str = "rsd"
    # ExpEther: every compose races as the real driver's do (seconds between
    # choosing the EESV and attaching to it); None composes atomically.
    double_allocation_window: float | None = None
    # ExpEther: write the operator inventory of the hosts here at start.
    write_inventory: str | None = None


class Simulator:
    """The whole simulator; ``start()`` returns once both servers answer."""

    def __init__(self, options: Options):
        self.options = options
        self.pod = (
            pod_mod.load(options.pod_file)
            if options.pod_file
            else pod_mod.uniform(options.systems)
        )
        self._own_dir = options.state_dir is None
        self.work_dir = options.state_dir or tempfile.mkdtemp(prefix="valence-sim-")
        os.makedirs(self.work_dir, exist_ok=True)
        self.emulator = None
        if options.redfish:
            self.emulator = redfish.Emulator(
                self.pod,
                self.work_dir,
                options.redfish_host,
                options.redfish_port,
                options.redfish_username,
                options.redfish_password,
                options.redfish_power_delay,
            )
        podm_url = (
            self.emulator.url
            if self.emulator
            else f"http://{options.redfish_host}:{options.redfish_port}"
        )
        self.state = state_mod.State(
            self.pod,
            self.work_dir,
            podm_url,
            options.redfish_username,
            options.redfish_password,
            backend=options.backend,
        )
        self.state.race_window = options.double_allocation_window
        self.app = api.ValenceApp(
            self.state,
            self.emulator,
            options.ironic_url,
            redfish_access=(
                podm_url,
                options.redfish_username,
                options.redfish_password,
            ),
        )
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://{self.options.host}:{self._server.server_port}"

    def start(self) -> None:
        try:
            if self.emulator:
                self.emulator.start()
            self._server = serving.make_server(
                self.options.host, self.options.port, self.app, threaded=True
            )
            # Many composes arrive at once; the default backlog of 5... is
            # raised here by the socketserver default (request_queue_size).
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="valence-api", daemon=True
            )
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        LOG.info(
            "Valence API at %s (%s backend, pod manager %s, %d systems, "
            "%d drives, %d devices)",
            self.url,
            self.options.backend,
            state_mod.DEFAULT_PODM_UUID,
            len(self.pod.systems),
            len(self.pod.drives),
            len(self.state.devices),
        )
        if self.emulator:
            LOG.info("Redfish emulator at %s", self.emulator.url)
        if self.options.write_inventory:
            self.write_inventory(self.options.write_inventory)

    def inventory(self) -> list[dict]:
        """The operator inventory of the ExpEther hosts: how Ironic reaches
        each one's BMC (the Redfish emulator), keyed by EESV and MAC."""
        return [
            {
                "eesv": host["eesv"],
                "mac": host["mac"],
                "host_serial_number": host["host_serial_number"],
                "driver": "redfish",
                "driver_info": {
                    "redfish_address": host["redfish_address"],
                    "redfish_system_id": host["redfish_system_id"],
                    "redfish_username": host["redfish_username"],
                    "redfish_password": host["redfish_password"],
                },
            }
            for host in self.app.hosts()
        ]

    def write_inventory(self, path: str) -> None:
        """Atomically, readable by its owner only (it holds BMC passwords)."""
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".inventory.")
        with os.fdopen(fd, "w") as f:
            json.dump(self.inventory(), f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
        LOG.info("Wrote the inventory of %d hosts to %s", len(self.pod.systems), path)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.emulator is not None:
            self.emulator.stop()
        if self._own_dir:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.work_dir)
