"""Fixtures that run real things: the Valence simulator on loopback."""

import contextlib

import fixtures

from mogan_valence.simulator import redfish
from mogan_valence.simulator import server
from mogan_valence.simulator import state as sim_state
from mogan_valence.valence import client as valence_client

PODM_ID = sim_state.DEFAULT_PODM_UUID


class Simulator(fixtures.Fixture):
    """mogan-valence-simulator in this process, on a free loopback port.

    :param with_redfish: also start sushy-tools' emulator (a child process),
        with power changes applied at once.
    """

    def __init__(
        self,
        state_dir: str,
        systems: int = 8,
        pod_file: str | None = None,
        with_redfish: bool = False,
        redfish_password: str = "password",
        ironic_url: str | None = None,
        backend: str = "rsd",
    ):
        """:param backend: ``rsd`` or ``expether`` (the shape of its nodes)."""
        super().__init__()
        self.options = server.Options(
            backend=backend,
            port=0,
            systems=systems,
            pod_file=pod_file,
            state_dir=state_dir,
            redfish=with_redfish,
            redfish_port=redfish.free_port(),
            redfish_password=redfish_password,
            redfish_power_delay=0,
            ironic_url=ironic_url,
        )

    def _setUp(self):
        self.sim = server.Simulator(self.options)
        self.sim.start()
        self.addCleanup(lambda: self.sim.stop())
        self.url = self.sim.url
        self.state = self.sim.state

    def client(self, **kw) -> valence_client.ValenceClient:
        kw.setdefault("retries", 0)
        kw.setdefault("read_timeout", 30)
        return valence_client.ValenceClient(self.url, **kw)

    def restart(self):
        self.sim.stop()
        self.options.port = int(self.url.rsplit(":", 1)[1])
        self.sim = server.Simulator(self.options)
        self.sim.start()
        self.state = self.sim.state


@contextlib.contextmanager
def running_simulator(state_dir: str, **kwargs):
    """The Simulator fixture outside a testtools test (pytest fixtures)."""
    simulator = Simulator(state_dir, **kwargs)
    simulator.setUp()
    try:
        yield simulator
    finally:
        simulator.cleanUp()
