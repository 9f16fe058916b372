"""A real Keystone on loopback: SQLite, fernet tokens, a pure-Python WSGI
server (cheroot), bootstrapped with an admin, and seeded with the projects,
users and roles a test or a demo needs."""

import importlib.util
import os
import subprocess
import sys

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from mogan_valence.localstack import process

ADMIN_PASSWORD = "adminpw"

_CONF = """[DEFAULT]
log_file = {run_dir}/keystone.log
[database]
connection = sqlite:///{run_dir}/keystone.sqlite
[token]
provider = fernet
expiration = {token_expiration}
[fernet_tokens]
key_repository = {run_dir}/fernet-keys
[fernet_receipts]
key_repository = {run_dir}/fernet-keys
[credential]
key_repository = {run_dir}/credential-keys
[identity]
password_hash_rounds = 4
[cache]
enabled = true
backend = dogpile.cache.memory
"""

# NOTE: keystone parses sys.argv with oslo.config when its app starts: the
# server's own arguments must be gone first.
_SERVE = """
import sys
port = int(sys.argv[1])
sys.argv = sys.argv[:1]
from cheroot import wsgi
from keystone.server import wsgi as ks_wsgi
app = ks_wsgi.initialize_public_application()
wsgi.Server(("127.0.0.1", port), app, numthreads=8).safe_start()
"""


def available() -> bool:
    return importlib.util.find_spec("keystone") is not None


class LocalKeystone:
    def __init__(self, run_dir: str, token_expiration: int = 3600):
        """:param token_expiration: how long a token lives, in seconds."""
        self.run_dir = run_dir
        self.token_expiration = token_expiration
        self.port = process.free_port()
        self.etc = os.path.join(run_dir, "etc")
        self.env = dict(
            os.environ, OS_KEYSTONE_CONFIG_DIR=self.etc, PYTHONWARNINGS="ignore"
        )
        self.proc: process.ServiceProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3"

    def _manage(self, *args: str) -> None:
        manage = os.path.join(os.path.dirname(sys.executable), "keystone-manage")
        subprocess.run(
            [manage, "--config-file", os.path.join(self.etc, "keystone.conf"), *args],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, timeout: float = 60) -> None:
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, "keystone.conf"), "w") as f:
            f.write(
                _CONF.format(
                    run_dir=self.run_dir, token_expiration=self.token_expiration
                )
            )
        user = [
            "--keystone-user",
            str(os.getuid()),
            "--keystone-group",
            str(os.getgid()),
        ]
        self._manage("db_sync")
        self._manage("fernet_setup", *user)
        self._manage("credential_setup", *user)
        self._manage(
            "bootstrap",
            "--bootstrap-password",
            ADMIN_PASSWORD,
            "--bootstrap-region-id",
            "RegionOne",
            *(
                arg
                for kind in ("admin", "public", "internal")
                for arg in (f"--bootstrap-{kind}-url", self.url)
            ),
        )
        self.proc = process.ServiceProcess(
            "keystone",
            [sys.executable, "-c", _SERVE, str(self.port)],
            os.path.join(self.run_dir, "keystone.out"),
            env=self.env,
        )
        self.proc.start()
        self.proc.wait_http(self.url, timeout)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def authtoken_section(
        self, username: str = "mogan", project: str = "service"
    ) -> str:
        """The ``[keystone_authtoken]`` options of a service that trusts
        this Keystone, as the seeded user ``username`` (password
        ``<username>pw``, as ``seed`` makes it) of ``project``."""
        return (
            "\n[keystone_authtoken]\n"
            f"www_authenticate_uri = {self.url}\n"
            f"auth_url = {self.url}\n"
            "auth_type = password\n"
            f"username = {username}\n"
            f"password = {username}pw\n"
            "user_domain_id = default\n"
            f"project_name = {project}\n"
            "project_domain_id = default\n"
            "interface = public\n"
        )

    # -- identities -------------------------------------------------------------

    def session(
        self, username="admin", password=ADMIN_PASSWORD, project="admin", system=False
    ) -> ks_session.Session:
        kwargs = (
            {"system_scope": "all"}
            if system
            else {
                "project_name": project,
                "project_domain_id": "default",
            }
        )
        auth = v3.Password(
            auth_url=self.url,
            username=username,
            password=password,
            user_domain_id="default",
            **kwargs,
        )
        return ks_session.Session(auth=auth)

    def seed(self, projects: list[str], users: dict[str, tuple[str, str]]) -> dict:
        """Create projects and users, or find them (several callers may
        seed one Keystone with the same names); ``users`` maps a name to
        (project, role). Returns the ids: ``{"projects": {...}, "users":
        {...}}``."""
        admin = self.session()
        endpoint = {"service_type": "identity", "interface": "public"}

        def post(path, key, body):
            answer = admin.post(
                path, json={key: body}, endpoint_filter=endpoint, raise_exc=False
            )
            if answer.status_code == 409:
                found = admin.get(
                    f"{path}?name={body['name']}&domain_id={body['domain_id']}",
                    endpoint_filter=endpoint,
                ).json()[path.strip("/")]
                return found[0]["id"]
            answer.raise_for_status()
            return answer.json()[key]["id"]

        def role(name):
            answer = admin.get(f"/roles?name={name}", endpoint_filter=endpoint)
            return answer.json()["roles"][0]["id"]

        ids = {
            "projects": {
                p: post("/projects", "project", {"name": p, "domain_id": "default"})
                for p in projects
            },
            "users": {},
        }
        for name, (project, role_name) in users.items():
            uid = post(
                "/users",
                "user",
                {"name": name, "password": f"{name}pw", "domain_id": "default"},
            )
            ids["users"][name] = uid
            admin.put(
                f"/projects/{ids['projects'][project]}/users/{uid}/roles/"
                f"{role(role_name)}",
                endpoint_filter=endpoint,
            )
        return ids
