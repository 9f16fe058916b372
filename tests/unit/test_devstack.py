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
function install_apache_uwsgi { record install_apache_uwsgi; }
function get_or_create_service { record get_or_create_service "$@"; }
function get_or_create_endpoint { record get_or_create_endpoint "$@"; }
function configure_keystone_authtoken_middleware {
    record configure_keystone_authtoken_middleware "$@"
    local section=${3:-keystone_authtoken}
    iniset "$1" "$section" auth_type password
    iniset "$1" "$section" auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$1" "$section" username "$2"
    iniset "$1" "$section" password "$SERVICE_PASSWORD"
    iniset "$1" "$section" service_type "${4:-}"
}
function write_uwsgi_config {
    record write_uwsgi_config "$@"
    rm -f "$1"
    iniset "$1" uwsgi module "$2"
}
function remove_uwsgi_config { record remove_uwsgi_config "$@"; }
function which { echo "/usr/local/bin/$1"; }
function sleep { SECONDS=$((SECONDS + ${1%.*})); }
function openstack {
    record openstack "$@"
    case "$*" in
        *"token issue"*) echo token-of-admin ;;
        *"image show"*) echo 9d9bd2b1-0000-4000-8000-00000000cafe ;;
    esac
}
# Answers the HTTP codes of $CURL_ANSWERS in turn (the last one repeats).
function curl {
    record curl "$@"
    local args=("$@") out="" n count codes
    for ((n = 0; n < ${#args[@]}; n++)); do
        if [[ "${args[n]}" == "-o" ]]; then out=${args[n + 1]}; fi
    done
    count=$(cat "$WORK/curl.count" 2>/dev/null || echo 0)
    echo $((count + 1)) > "$WORK/curl.count"
    read -ra codes <<< "${CURL_ANSWERS:-201}"
    local code=${codes[count]:-${codes[-1]}}
    echo "{\"code\": $code}" > "$out"
    printf '%s' "$code"
}
function is_service_enabled {
    local service
    for service in "$@"; do
        if [[ " ${DISABLED_SERVICES:-} " != *" $service "* ]]; then return 0; fi
    done
    return 1
}
export DEST=$WORK/dest DATA_DIR=$WORK/data STACK_USER=$(whoami) SERVICE_HOST=192.0.2.10
export SERVICE_LISTEN_ADDRESS=0.0.0.0 KEYSTONE_SERVICE_URI=http://192.0.2.10/identity
export SERVICE_PASSWORD=service-secret SERVICE_PROJECT_NAME=service SERVICE_PROTOCOL=http
export SERVICE_DOMAIN_NAME=Default REGION_NAME=RegionOne ENABLE_DEBUG_LOG_LEVEL=True
export SERVICE_TIMEOUT=5 MOGAN_VALENCE_DIR=$REPO ADMIN_PASSWORD=admin-secret
export MOGAN_VALENCE_CONF_DIR=$WORK/etc MOGAN_VALENCE_STATE_PATH=$WORK/state
export TEMPEST_CONFIG=$WORK/tempest.conf DEFAULT_IMAGE_NAME=cirros
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

    def run_phases(self, *phases, env=None, fails=False):
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
        if fails:
            self.assertNotEqual(0, result.returncode)
            self.last_stderr = result.stderr
        else:
            self.assertEqual(0, result.returncode, result.stderr)
        calls = (self.work / "calls.log").read_text().splitlines()
        return calls

    def written(self, name="mogan-valence.conf"):
        parser = configparser.RawConfigParser(strict=False)
        parser.read(self.work / "etc" / name)
        return parser

    def test_stack_writes_the_config_and_starts_everything(self):
        calls = self.run_phases("stack install", "stack post-config", "stack extra")
        self.assertIn(f"setup_develop {ROOT}", calls)
        self.assertIn("install_apache_uwsgi", calls)
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
        # Started in order: simulator, engine, API; then the flavor, over REST.
        order = [
            c.split()[1] if c.startswith("run_process") else c.split()[0]
            for c in calls
            if c.startswith(("run_process", "curl", "mogan-valence "))
        ]
        self.assertEqual(
            [
                "mogan-valence-simulator",
                "mogan-valence-engine",
                "mogan-valence-api",
                "curl",
            ],
            order,
        )
        # The operator CLI and the bus play no part in 'stack'.
        self.assertEqual([], [c for c in calls if c.startswith("mogan-valence ")])

    def test_keystone_service_endpoint_and_user(self):
        calls = self.run_phases("stack post-config")
        # The service role for keystonemiddleware, admin for Ironic.
        self.assertIn("create_service_user mogan-valence service", calls)
        self.assertIn("create_service_user mogan-valence admin", calls)
        self.assertIn(
            "get_or_create_service mogan baremetal_compute "
            "Bare metal compute service (mogan-valence)",
            calls,
        )
        self.assertIn(
            "get_or_create_endpoint baremetal_compute RegionOne "
            "http://192.0.2.10/baremetal_compute/v1",
            calls,
        )
        conf = self.written()
        self.assertEqual("keystone", conf.get("api", "auth_strategy"))
        self.assertEqual(
            "http://192.0.2.10/baremetal_compute", conf.get("api", "public_endpoint")
        )
        self.assertEqual(
            "True", conf.get("oslo_middleware", "enable_proxy_headers_parsing")
        )
        self.assertIn(
            f"configure_keystone_authtoken_middleware {self.work}/etc/"
            "mogan-valence.conf mogan-valence keystone_authtoken baremetal_compute",
            calls,
        )
        self.assertEqual("mogan-valence", conf.get("keystone_authtoken", "username"))

    def test_api_runs_under_uwsgi_behind_apache(self):
        calls = self.run_phases("stack post-config", "stack extra")
        uwsgi_conf = self.work / "etc" / "mogan-valence-api-uwsgi.ini"
        self.assertIn(
            f"write_uwsgi_config {uwsgi_conf} mogan_valence.api.wsgi:application "
            "/baremetal_compute  mogan-valence-api",
            calls,
        )
        uwsgi = self.written("mogan-valence-api-uwsgi.ini")
        self.assertEqual(
            "mogan_valence.api.wsgi:application", uwsgi.get("uwsgi", "module")
        )
        self.assertEqual(
            f"MOGAN_VALENCE_CONFIG_FILES={self.work}/etc/mogan-valence.conf",
            uwsgi.get("uwsgi", "env"),
        )
        self.assertIn(
            "run_process mogan-valence-api /usr/local/bin/uwsgi "
            f"--procname-prefix mogan-valence-api --ini {uwsgi_conf}",
            calls,
        )
        self.assertIn(
            "wait_for_service 5 http://192.0.2.10/baremetal_compute/v1", calls
        )

    def test_flavor_is_created_over_rest_once_the_engine_answers(self):
        calls = self.run_phases(
            "stack post-config", "stack extra", env={"CURL_ANSWERS": "000 500 201"}
        )
        posts = [c for c in calls if c.startswith("curl")]
        self.assertEqual(3, len(posts))
        self.assertIn("-X POST", posts[0])
        self.assertIn("X-Auth-Token: token-of-admin", posts[0])
        self.assertTrue(
            posts[0].endswith("http://192.0.2.10/baremetal_compute/v1/flavors")
        )
        self.assertIn(
            '{"name": "composed.small", "composition": '
            '{"cpu_cores": 4, "ram_mib": 8192}}',
            posts[0],
        )
        self.assertIn(
            "openstack --os-cloud devstack-admin token issue -f value -c id", calls
        )

    def test_flavor_that_exists_is_fine_a_refused_one_stops_stack(self):
        self.run_phases("stack post-config", "stack extra", env={"CURL_ANSWERS": "409"})
        (self.work / "calls.log").unlink()
        (self.work / "curl.count").unlink()
        calls = self.run_phases("stack extra", env={"CURL_ANSWERS": "400"}, fails=True)
        self.assertEqual(1, len([c for c in calls if c.startswith("curl")]))
        self.assertIn("HTTP 400", self.last_stderr)

    def test_flavor_gives_up_after_the_service_timeout(self):
        calls = self.run_phases(
            "stack post-config", "stack extra", env={"CURL_ANSWERS": "500"}, fails=True
        )
        posts = [c for c in calls if c.startswith("curl")]
        # SERVICE_TIMEOUT=5 and 2 s between attempts.
        self.assertEqual(4, len(posts))
        self.assertIn("HTTP 500", self.last_stderr)

    def test_engine_only_node(self):
        calls = self.run_phases(
            "stack install",
            "stack post-config",
            "stack extra",
            env={"DISABLED_SERVICES": "mogan-valence-api"},
        )
        self.assertNotIn("install_apache_uwsgi", calls)
        self.assertFalse(
            [
                c
                for c in calls
                if "mogan-valence-api" in c and not c.startswith("enable_service")
            ]
        )
        self.assertFalse([c for c in calls if c.startswith(("curl", "get_or_create"))])
        self.assertFalse(self.written().has_option("api", "auth_strategy"))
        self.assertTrue(
            [c for c in calls if c.startswith("run_process mogan-valence-engine")]
        )

    def test_tempest_config(self):
        self.run_phases("stack post-config", "stack test-config")
        tempest = configparser.RawConfigParser(strict=False)
        tempest.read(self.work / "tempest.conf")
        section = dict(tempest.items("mogan_valence"))
        self.assertEqual("http://192.0.2.10/identity/v3", section["auth_url"])
        self.assertEqual("demo", section["username"])
        self.assertEqual("demo", section["project_name"])
        self.assertEqual("alt_demo", section["alt_username"])
        self.assertEqual("alt_demo", section["alt_project_name"])
        self.assertEqual("admin-secret", section["password"])
        self.assertEqual("composed.small", section["composed_flavor"])
        self.assertEqual(
            "9d9bd2b1-0000-4000-8000-00000000cafe", section["image_source"]
        )
        self.assertEqual("http://192.0.2.10:8181", section["valence_url"])
        self.assertNotIn("endpoint", section)
        self.assertEqual("True", tempest.get("service_available", "mogan_valence"))

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
        self.assertIn("stop_process mogan-valence-api", calls)
        self.assertIn("stop_process mogan-valence-engine", calls)
        self.assertIn("stop_process mogan-valence-simulator", calls)
        self.assertIn(
            f"remove_uwsgi_config {self.work}/etc/mogan-valence-api-uwsgi.ini "
            "mogan-valence-api",
            calls,
        )
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
