"""The Redfish side of the pod: sushy-tools' emulator, one fake system per
pod system, run as a child process of the simulator.

The emulator dies with the simulator, however the simulator ends (even
SIGKILL): it gets ``PR_SET_PDEATHSIG`` on Linux and watches its parent
everywhere. It keeps its own session so that a Ctrl-C at the simulator's
terminal reaches only the simulator, which then stops it.

Power actions of sushy-tools' fake driver take effect after a random 1-11 s,
as slow hardware would. ``power_delay`` bounds that delay (0: immediate) for
test and demo runs; None keeps the emulator's stock behaviour.
"""

import contextlib
import os
import pprint
import signal
import socket
import subprocess
import sys
import time

import bcrypt
import requests

from mogan_valence.localstack import process
from mogan_valence.simulator import pod as pod_mod

READY_TIMEOUT = 30.0


def emulator_config(
    pod: pod_mod.Pod, host: str, port: int, state_dir: str, auth_file: str
) -> str:
    systems = [
        {
            "uuid": system.uuid,
            "name": system.id,
            "power_state": "Off",
            "nics": [{"mac": nic.mac} for nic in system.nics],
        }
        for system in pod.systems
    ]
    settings = {
        "SUSHY_EMULATOR_LISTEN_IP": host,
        "SUSHY_EMULATOR_LISTEN_PORT": port,
        "SUSHY_EMULATOR_FAKE_DRIVER": True,
        "SUSHY_EMULATOR_STATE_DIR": state_dir,
        "SUSHY_EMULATOR_AUTH_FILE": auth_file,
        "SUSHY_EMULATOR_FAKE_SYSTEMS": systems,
    }
    return "".join(
        f"{key} = {pprint.pformat(value)}\n" for key, value in settings.items()
    )


class Emulator:
    """sushy-tools' Redfish emulator serving the pod's systems."""

    def __init__(
        self,
        pod: pod_mod.Pod,
        work_dir: str,
        host: str,
        port: int,
        username: str,
        password: str,
        power_delay: float | None = None,
    ):
        self.pod = pod
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.power_delay = power_delay
        self.dir = os.path.join(work_dir, "redfish")
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(self.dir, "emulator.log")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        auth_file = os.path.join(self.dir, "htpasswd")
        hashed = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=4))
        with open(auth_file, "w") as f:
            f.write(f"{self.username}:{hashed.decode()}\n")
        os.chmod(auth_file, 0o600)
        config = os.path.join(self.dir, "emulator.conf")
        with open(config, "w") as f:
            f.write(
                emulator_config(
                    self.pod,
                    self.host,
                    self.port,
                    os.path.join(self.dir, "state"),
                    auth_file,
                )
            )
        cmd = [
            sys.executable,
            "-m",
            "mogan_valence.simulator.redfish",
            "--config",
            config,
            "--parent-pid",
            str(os.getpid()),
        ]
        if self.power_delay is not None:
            cmd += ["--power-delay", str(self.power_delay)]
        log = open(self.log_path, "ab")  # noqa: SIM115  (the child's output)
        self.proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=process.die_with_parent(),
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(
                    f"Redfish emulator exited with {code}; see {self.log_path}"
                )
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/redfish/v1", timeout=1).ok:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"Redfish emulator not ready after {READY_TIMEOUT:.0f}s; "
            f"see {self.log_path}"
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    # -- what the Valence API asks of the systems -------------------------------

    def _request(self, method: str, path: str, **kw) -> requests.Response:
        response = requests.request(
            method,
            f"{self.url}{path}",
            auth=(self.username, self.password),
            timeout=10,
            **kw,
        )
        response.raise_for_status()
        return response

    def power_state(self, system: pod_mod.System) -> str | None:
        try:
            return self._request("GET", system.path).json().get("PowerState")
        except (requests.RequestException, ValueError):
            return None

    def reset(self, system: pod_mod.System, reset_type: str) -> None:
        self._request(
            "POST",
            f"{system.path}/Actions/ComputerSystem.Reset",
            json={"ResetType": reset_type},
        )

    def set_boot(self, system: pod_mod.System, target: str, enabled: str) -> None:
        self._request(
            "PATCH",
            system.path,
            json={
                "Boot": {
                    "BootSourceOverrideTarget": target,
                    "BootSourceOverrideEnabled": enabled,
                }
            },
        )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _BoundedDelay:
    """Stands in for the ``random`` module of sushy-tools' fake driver."""

    def __init__(self, most: float):
        self.most = most

    def randint(self, low: int, high: int) -> int:
        return int(min(high, self.most))


def _run_emulator(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="mogan-valence-simulator redfish")
    parser.add_argument("--config", required=True)
    parser.add_argument("--power-delay", type=float)
    parser.add_argument(
        "--parent-pid", type=int, help="Exit as soon as this process is gone."
    )
    args = parser.parse_args(argv)
    if args.parent_pid:
        process.watch_parent(args.parent_pid)

    from sushy_tools.emulator import main as emulator_main
    from sushy_tools.emulator.resources.systems import fakedriver

    if args.power_delay is not None:
        # NOTE: the fake driver hard-codes random.randint(1, 11) seconds
        # before a power change applies; tests and demos bound it.
        fakedriver.random = _BoundedDelay(args.power_delay)
    sys.argv = ["sushy-emulator", "--config", args.config]
    return emulator_main.main()


if __name__ == "__main__":
    sys.exit(_run_emulator(sys.argv[1:]))
