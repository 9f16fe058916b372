"""The devstack plugin, phase by phase, with devstack's helpers stubbed.

Each stub records its call; iniset writes a real ini file, so the test
checks the configuration the plugin produces and the commands it runs.
"""

import configparser
import os
import pathlib
import shutil
import subprocess

from tests import base

ROOT = pathlib.Path(__file__).resolve().parents[2]

STUBS = r"""
set -eu
CALLS=$WORK/calls.log
function iniset {
    python3 - "$@" <<'PY'
import configparser, sys
path, section, key, value = sys.argv[1:5]
conf = configparser.RawConfigParser(strict=False)
conf.optionxform = str
conf.read(path)
if section != "DEFAULT" and not conf.has_section(section):
    conf.add_section(section)
conf.set(section, key, value)
with open(path, "w") as f:
    conf.write(f)
PY
}
function record { echo "$*" >> "$CALLS"; }
function setup_develop { record setup_develop "$@"; }
function iniset_rpc_backend { iniset "$2" DEFAULT transport_url "rabbit://stackrabbit:secret@192.0.2.10:5672/"; }
function database_connection_url { echo "mysql+pymysql://root:secret@127.0.0.1/$1?charset=utf8"; }
function create_service_user { record create_service_user "$@"; }
function recreate_database { record recreate_database "$@"; }
function run_process { record run_process "$@"; }
function stop_process { record stop_process "$@"; }
function wait_for_service { record wait_for_service "$@"; }
function is_service_enabled { return 0; }
function enable_service { record enable_service "$@"; }
function echo_summary { :; }
function die { echo "die: $*" >&2; exit 1; }
function sudo { "$@"; }
function trueorfalse {
    local default=$1 name=$2
    local value=${!name:-$default}
    case "$value" in True|true|1|yes|Yes) echo True ;; *) echo False ;; esac
}
function get_python_exec_prefix { echo "$WORK/bin"; }
export DEST=$WORK/dest DATA_DIR=$WORK/data STACK_USER=$(whoami) SERVICE_HOST=192.0.2.10
export SERVICE_LISTEN_ADDRESS=0.0.0.0 KEYSTONE_SERVICE_URI=http://192.0.2.10/identity
export SERVICE_PASSWORD=service-secret SERVICE_PROJECT_NAME=service
export SERVICE_DOMAIN_NAME=Default REGION_NAME=RegionOne ENABLE_DEBUG_LOG_LEVEL=True
export SERVICE_TIMEOUT=5 MOGAN_VALENCE_DIR=$REPO
export MOGAN_VALENCE_CONF_DIR=$WORK/etc MOGAN_VALENCE_STATE_PATH=$WORK/state
"""


class TestDevstackPlugin(base.TestCase):
    def setUp(self):
        super().setUp()
        self.work = pathlib.Path(self.tmp_dir)
        bin_dir = self.work / "bin"
        bin_dir.mkdir()
        for name in ("mogan-valence", "mogan-valence-dbsync"):
            script = bin_dir / name
            script.write_text(f'#!/bin/bash\necho "{name} $*" >> "$WORK/calls.log"\n')
            script.chmod(0o755)

    def run_phases(self, *phases, env=None):
        script = (
            STUBS
            + "source $REPO/devstack/settings\n"
            + "".join(f"source $REPO/devstack/plugin.sh {phase}\n" for phase in phases)
        )
        result = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, WORK=str(self.work), REPO=str(ROOT), **(env or {})),
        )
        self.assertEqual(0, result.returncode, result.stderr)
        calls = (self.work / "calls.log").read_text().splitlines()
        return calls

    def written(self):
        parser = configparser.RawConfigParser(strict=False)
        parser.read(self.work / "etc" / "mogan-valence.conf")
        return parser

    def test_stack_writes_the_config_and_starts_everything(self):
        calls = self.run_phases("stack install", "stack post-config", "stack extra")
        self.assertIn(f"setup_develop {ROOT}", calls)
        conf = self.written()
        self.assertEqual(
            "rabbit://stackrabbit:secret@192.0.2.10:5672/",
            conf.get("DEFAULT", "transport_url"),
        )
        self.assertEqual(
            "mysql+pymysql://root:secret@127.0.0.1/mogan_valence?charset=utf8",
            conf.get("database", "connection"),
        )
        self.assertEqual("valence", conf.get("engine", "enabled_extensions"))
        self.assertEqual("password", conf.get("ironic", "auth_type"))
        self.assertEqual("mogan-valence", conf.get("ironic", "username"))
        self.assertEqual("http://192.0.2.10:8181", conf.get("valence", "url"))
        self.assertEqual(
            "13627827-fbb1-5d25-8dd2-480308d3db0c", conf.get("valence", "podm_id")
        )
        self.assertEqual("redfish", conf.get("valence", "enroll_driver"))
        self.assertEqual(
            "http://192.0.2.10:8000", conf.get("valence", "redfish_address")
        )
        self.assertEqual("baremetal-composed", conf.get("valence", "resource_class"))
        self.assertIn("create_service_user mogan-valence admin", calls)
        self.assertIn("recreate_database mogan_valence", calls)
        conf_file = self.work / "etc" / "mogan-valence.conf"
        self.assertIn(f"mogan-valence-dbsync --config-file {conf_file} upgrade", calls)
        simulator = [
            c for c in calls if c.startswith("run_process mogan-valence-simulator")
        ]
        self.assertEqual(1, len(simulator))
        self.assertIn("--port 8181 --systems 8", simulator[0])
        self.assertIn("--redfish-port 8000", simulator[0])
        self.assertIn(
            f"run_process mogan-valence-engine {self.work}/bin/"
            f"mogan-valence-engine --config-file {conf_file}",
            calls,
        )
        # Started in order: simulator, engine; then the flavor once it answers.
        order = [
            c.split()[1] if c.startswith("run_process") else c.split()[0]
            for c in calls
            if c.startswith(("run_process", "mogan-valence "))
        ]
        self.assertEqual(
            [
                "mogan-valence-simulator",
                "mogan-valence-engine",
                "mogan-valence",
                "mogan-valence",
            ],
            order,
        )
        self.assertTrue(
            calls[-1].endswith(
                "flavor create composed.small --composition cpu_cores=4 ram_mib=8192"
            )
        )

    def test_real_valence_and_fake_hardware(self):
        self.run_phases(
            "stack post-config",
            "stack extra",
            env={
                "MOGAN_VALENCE_USE_SIMULATOR": "False",
                "MOGAN_VALENCE_URL": "http://valence.example:8181",
                "MOGAN_VALENCE_ENROLL_DRIVER": "fake-hardware",
            },
        )
        calls = (self.work / "calls.log").read_text()
        self.assertNotIn("mogan-valence-simulator", calls)
        conf = self.written()
        self.assertEqual("http://valence.example:8181", conf.get("valence", "url"))
        self.assertEqual("fake-hardware", conf.get("valence", "enroll_driver"))
        self.assertFalse(conf.has_option("valence", "redfish_password"))

    def test_unstack_and_clean(self):
        self.run_phases("stack post-config")
        self.assertTrue((self.work / "etc" / "mogan-valence.conf").exists())
        calls = self.run_phases("unstack", "clean")
        self.assertIn("stop_process mogan-valence-engine", calls)
        self.assertIn("stop_process mogan-valence-simulator", calls)
        self.assertFalse((self.work / "etc").exists())
        self.assertFalse((self.work / "state").exists())

    def test_shellcheck(self):
        if not shutil.which("shellcheck"):
            if base.REQUIRE_SERVICES:
                self.fail("shellcheck is not installed")
            self.skipTest("shellcheck is not installed (Debian package shellcheck)")
        result = subprocess.run(
            [
                "shellcheck",
                "-s",
                "bash",
                "-e",
                "SC2034",
                str(ROOT / "devstack" / "plugin.sh"),
                str(ROOT / "devstack" / "settings"),
            ],
            capture_output=True,
            text=True,
        )
        self.assertEqual(0, result.returncode, result.stdout)
