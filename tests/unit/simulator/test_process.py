"""Children die with their parent (the emulator, local services)."""

import subprocess
import sys
import threading

import testtools

from mogan_valence.localstack import process
from tests import base


class TestDieWithParent(base.TestCase):
    @testtools.skipUnless(sys.platform.startswith("linux"), "prctl is Linux only")
    def test_child_gets_sigkill_as_its_parent_death_signal(self):
        # /proc/<pid>/status has no PDEATHSIG line; ask the child itself.
        code = (
            "import ctypes, signal\n"
            "libc = ctypes.CDLL(None)\n"
            "sig = ctypes.c_int()\n"
            "libc.prctl(2, ctypes.byref(sig), 0, 0, 0)\n"  # PR_GET_PDEATHSIG
            "print(sig.value == signal.SIGKILL)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            preexec_fn=process.die_with_parent(),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        self.assertEqual("True", out.strip())

    def test_not_from_a_thread_that_may_end_first(self):
        # The signal follows the forking thread, not the process.
        got = []
        thread = threading.Thread(target=lambda: got.append(process.die_with_parent()))
        thread.start()
        thread.join()
        self.assertEqual([None], got)

    def test_parent_watch_exits_when_the_parent_is_not_ours(self):
        code = (
            "import time\n"
            "from mogan_valence.localstack import process\n"
            "process.watch_parent(-1, interval=0.05)\n"  # never our parent
            "time.sleep(30)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, timeout=20
        )
        self.assertEqual(1, result.returncode, result.stderr)
