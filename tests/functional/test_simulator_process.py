"""mogan-valence-simulator as an operator starts it: a process, real ports."""

import json
import os
import signal
import subprocess
import sys
import time

import requests

from mogan_valence.simulator import redfish
from tests import base


class TestSimulatorProcess(base.TestCase):
    def _start(self, *args):
        port = redfish.free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mogan_valence.cmd.simulator",
                "--port",
                str(port),
                "--redfish-port",
                str(redfish.free_port()),
                "--redfish-power-delay",
                "0",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.addCleanup(self._kill, proc)
        line = proc.stdout.readline()
        self.assertIn(
            "ready", line, proc.stderr.read() if proc.poll() is not None else ""
        )
        return proc, f"http://127.0.0.1:{port}"

    @staticmethod
    def _kill(proc):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def test_pod_file_state_dir_and_clean_stop(self):
        pod_file = os.path.join(self.tmp_dir, "pod.json")
        with open(pod_file, "w") as f:
            json.dump({"systems": [{"id": "S1"}, {"id": "S2"}]}, f)
        state = os.path.join(self.tmp_dir, "state")
        proc, url = self._start("--pod-file", pod_file, "--state-dir", state)
        podm = requests.get(f"{url}/v1/pod_managers", timeout=10).json()[0]
        emulator = podm["url"]
        systems = requests.get(
            f"{emulator}/redfish/v1/Systems", timeout=10, auth=("admin", "password")
        ).json()
        self.assertEqual(2, systems["Members@odata.count"])
        node = requests.post(
            f"{url}/v1/nodes",
            timeout=10,
            json={"name": "keep", "podm_id": podm["uuid"], "properties": {}},
        ).json()

        proc.send_signal(signal.SIGTERM)
        # wait() raises TimeoutExpired if it does not stop in time.
        self.assertEqual(0, proc.wait(timeout=20))
        # The emulator went with it.
        self.assertRaises(
            requests.ConnectionError, requests.get, f"{emulator}/redfish/v1", timeout=2
        )

        proc, url = self._start("--pod-file", pod_file, "--state-dir", state)
        self.assertEqual(
            [node["uuid"]],
            [n["uuid"] for n in requests.get(f"{url}/v1/nodes", timeout=10).json()],
        )

    @staticmethod
    def _children(pid: int) -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces and parens.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
        return found

    @staticmethod
    def _alive(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")  # a zombie is dead, only not reaped

    @staticmethod
    def _kill_pid(pid: int):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def test_sigkill_of_the_simulator_takes_the_emulator_with_it(self):
        proc, url = self._start()
        emulator_url = requests.get(f"{url}/v1/pod_managers", timeout=10).json()[0][
            "url"
        ]
        [emulator] = self._children(proc.pid)
        self.addCleanup(self._kill_pid, emulator)  # never leak it, even on failure
        self.assertTrue(self._alive(emulator))

        os.kill(proc.pid, signal.SIGKILL)  # the simulator only, not its group
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self._alive(emulator) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(self._alive(emulator), "the Redfish emulator outlived it")
        self.assertRaises(
            requests.ConnectionError,
            requests.get,
            f"{emulator_url}/redfish/v1",
            timeout=2,
        )

    def test_bad_pod_file_is_a_clear_error(self):
        pod_file = os.path.join(self.tmp_dir, "pod.json")
        with open(pod_file, "w") as f:
            json.dump({"systems": [{"id": "S1", "ram_mib": "lots"}]}, f)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mogan_valence.cmd.simulator",
                "--pod-file",
                pod_file,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(1, result.returncode)
        self.assertIn("systems[0].ram_mib", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_expether_options_need_the_expether_backend(self):
        for option in (
            ["--write-inventory", os.path.join(self.tmp_dir, "inventory.json")],
            ["--fault-double-allocation"],
        ):
            result = subprocess.run(
                [sys.executable, "-m", "mogan_valence.cmd.simulator", *option],
                capture_output=True,
                text=True,
                timeout=60,
            )
            self.assertEqual(2, result.returncode)
            self.assertIn(f"{option[0]} needs --backend expether", result.stderr)

    def test_a_state_dir_keeps_its_backend(self):
        state = os.path.join(self.tmp_dir, "state")
        proc, _ = self._start("--no-redfish", "--state-dir", state)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(timeout=20))
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mogan_valence.cmd.simulator",
                "--backend",
                "expether",
                "--no-redfish",
                "--port",
                str(redfish.free_port()),
                "--state-dir",
                state,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(1, result.returncode)
        self.assertIn("--backend rsd", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
