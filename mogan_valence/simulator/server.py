"""Run the simulator: the Valence API in threads, the Redfish emulator beside it."""

import contextlib
import dataclasses
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
        )
        self.app = api.ValenceApp(self.state, self.emulator, options.ironic_url)
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
            "Valence API at %s (pod manager %s, %d systems, %d drives)",
            self.url,
            state_mod.DEFAULT_PODM_UUID,
            len(self.pod.systems),
            len(self.pod.drives),
        )
        if self.emulator:
            LOG.info("Redfish emulator at %s", self.emulator.url)

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
