"""Run the composition simulator: the Redfish service in threads, sushy-tools'
emulator beside it as the BMCs of the Compute blocks."""

import contextlib
import dataclasses
import logging
import secrets
import shutil
import tempfile
import threading

import requests
from werkzeug import serving

from mogan_valence.simulator import pod as valence_pod
from mogan_valence.simulator import redfish
from mogan_valence.simulator.composition import api
from mogan_valence.simulator.composition import bmc as bmc_mod
from mogan_valence.simulator.composition import pod as pod_mod
from mogan_valence.simulator.composition import requests as req_mod
from mogan_valence.simulator.composition import state as state_mod

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Options:
    host: str = "127.0.0.1"
    # 0: any free port (see ``CompositionSimulator.url``).
    port: int = 0
    # None: no authentication at all.
    username: str | None = "admin"
    password: str | None = "password"
    # "sync": 201/204 at once; "async": 202 and a task monitor.
    mode: str = api.SYNC
    forms: tuple[str, ...] = req_mod.FORMS
    compose_action: bool = True
    reservation_duration: float = 300.0
    # Seconds a task monitor answers 202 before its final answer.
    task_seconds: float = 1.0
    # "date" (an HTTP-date) or "seconds" (digits; breaks sushy 5.14's wait).
    retry_after: str = "date"
    # Longest delay before a power change applies; None: sushy-tools' own.
    power_delay: float | None = None
    compute_blocks: int = 4
    zones: int = 2
    # False: an in-memory stand-in for the BMCs instead of sushy-tools.
    emulator: bool = True
    emulator_port: int = 0


class CompositionSimulator:
    """The whole simulator; ``start()`` returns once it answers."""

    def __init__(self, options: Options):
        if options.mode not in (api.SYNC, api.ASYNC):
            raise ValueError(f"mode must be sync or async, not {options.mode!r}")
        unknown = set(options.forms) - set(req_mod.FORMS)
        if unknown or not options.forms:
            raise ValueError(f"forms must be among {req_mod.FORMS}")
        if options.retry_after not in ("date", "seconds"):
            raise ValueError("retry_after must be date or seconds")
        self.options = options
        self.pod = pod_mod.uniform(options.compute_blocks, options.zones)
        self.store = state_mod.State(
            self.pod,
            forms=tuple(options.forms),
            task_seconds=options.task_seconds,
            reservation_duration=options.reservation_duration,
        )
        self.work_dir = None
        self.emulator = None
        self._server = None
        self._thread = None
        self.app = None

    @property
    def url(self) -> str:
        return f"http://{self.options.host}:{self._server.server_port}"

    @property
    def username(self) -> str | None:
        return self.options.username

    @property
    def password(self) -> str | None:
        return self.options.password

    def _bmc_pod(self) -> valence_pod.Pod:
        """The Compute blocks as the systems the Valence emulator serves."""
        return valence_pod.Pod(
            systems=tuple(
                valence_pod.System(
                    id=b.id,
                    uuid=b.bmc_uuid,
                    cpu_model=b.processors[0].model,
                    cpu_cores=sum(p.cores for p in b.processors),
                    ram_mib=sum(d.capacity_mib for d in b.memory),
                    ram_type="DDR4",
                    nics=tuple(valence_pod.Nic(n.mac, n.speed_mbps) for n in b.nics),
                )
                for b in self.pod.computes
            ),
            drives=(),
        )

    def start(self) -> None:
        try:
            if self.options.emulator:
                self.work_dir = tempfile.mkdtemp(prefix="redfish-composition-sim-")
                # The emulator is ours alone: its own throw-away credentials.
                self.emulator = redfish.Emulator(
                    self._bmc_pod(),
                    self.work_dir,
                    "127.0.0.1",
                    self.options.emulator_port or redfish.free_port(),
                    "composition-simulator",
                    secrets.token_urlsafe(16),
                    self.options.power_delay,
                )
                self.emulator.start()
                bmc = bmc_mod.EmulatorBmc(
                    self.emulator.url, self.emulator.username, self.emulator.password
                )
            else:
                bmc = bmc_mod.MemoryBmc(self.pod)
            self.app = api.CompositionApp(
                self.store,
                bmc,
                mode=self.options.mode,
                username=self.options.username,
                password=self.options.password,
                compose_action=self.options.compose_action,
                retry_after=self.options.retry_after,
            )
            self._server = serving.make_server(
                self.options.host, self.options.port, self.app, threaded=True
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                name="redfish-composition",
                daemon=True,
            )
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        LOG.info(
            "Redfish composition service at %s (%s mode, forms %s, %d blocks "
            "in %d zones, Compose action %s)",
            self.url,
            self.options.mode,
            ",".join(self.options.forms),
            len(self.pod.blocks),
            len(self.pod.zones),
            "on" if self.options.compose_action else "off",
        )
        if self.emulator:
            LOG.info("BMCs of the Compute blocks: sushy-tools at %s", self.emulator.url)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        if self.work_dir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.work_dir)
            self.work_dir = None

    def __enter__(self) -> "CompositionSimulator":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- for tests: the admin API, in process ----------------------------------

    def inject(self, operation: str, **fault) -> dict:
        """Add a fault (see ``state.Fault``), e.g.
        ``inject("compose", status=503, count=2)``."""
        made = state_mod.Fault.from_body({"operation": operation, **fault})
        self.store.add_fault(made)
        return made.as_dict()

    def clear_faults(self) -> None:
        self.store.clear_faults()

    def expire_reservations(self, reservation_id: str | None = None) -> list[str]:
        return self.store.expire(reservation_id)

    def state(self) -> dict:
        """Composed systems, block states, reservations, tasks, faults."""
        self.store.tick()
        return self.store.snapshot()

    def reset(self) -> None:
        requests.post(f"{self.url}/admin/reset", timeout=30).raise_for_status()
