"""mogan-valence: the operator CLI of the Mogan v1 REST API.

A cliff application, as OpenStack clients are: every command's output
takes ``-f table|json|yaml|value|csv`` and ``-c COLUMN``. It reaches the
API through a keystoneauth session: Keystone credentials from
``--os-cloud`` (clouds.yaml) or the ``OS_*`` variables and options, with
the ``baremetal_compute`` endpoint from the catalog; or ``--os-endpoint
URL`` alone for an API without authentication (the embedded stack). The
operator tools ``reconcile``, ``demo`` and ``standalone`` run locally and
need no API.
"""

import importlib
import logging
import os
import sys

from cliff import app
from cliff import commandmanager
from openstack import config as os_config
from openstack import exceptions as os_exc
from osc_lib import exceptions as osc_exc

from mogan_valence.cli import client as client_mod
from mogan_valence import version

# Plugins may add commands under this entry point namespace.
COMMANDS_NAMESPACE = "mogan_valence.cli"
# The commands, "module:Class" under mogan_valence.cli; listed here rather
# than as entry points so that stale package metadata cannot hide them.
COMMANDS = {
    "flavor create": "flavors:CreateFlavor",
    "flavor list": "flavors:ListFlavor",
    "flavor show": "flavors:ShowFlavor",
    "flavor set": "flavors:SetFlavor",
    "flavor delete": "flavors:DeleteFlavor",
    "flavor access add": "flavors:AddFlavorAccess",
    "flavor access remove": "flavors:RemoveFlavorAccess",
    "flavor access list": "flavors:ListFlavorAccess",
    "server create": "servers:CreateServer",
    "server list": "servers:ListServer",
    "server show": "servers:ShowServer",
    "server delete": "servers:DeleteServer",
    "server power on": "servers:PowerOnServer",
    "server power off": "servers:PowerOffServer",
    "server power reboot": "servers:RebootServer",
    "quota show": "quotas:ShowQuota",
    "quota set": "quotas:SetQuota",
    "reconcile": "reconcile:Reconcile",
    "demo": "demo:Demo",
    "standalone": "standalone:Standalone",
}


def command_manager() -> commandmanager.CommandManager:
    """Every command, imported only when it runs (the local tools pull in
    the engine; the API commands do not)."""
    manager = commandmanager.CommandManager(COMMANDS_NAMESPACE)
    for name, target in COMMANDS.items():
        manager.commands[name] = _LazyEntryPoint(name, target)
    return manager


class _LazyEntryPoint:
    """An entry point (as cliff's command manager holds them) of one of
    our commands: its module is imported when it is loaded."""

    def __init__(self, name: str, target: str):
        self.name = name
        self.value = f"mogan_valence.cli.{target}"

    def load(self):
        module, _, cls = self.value.partition(":")
        return getattr(importlib.import_module(module), cls)


def _env(*names: str) -> str | None:
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return None


class MoganValenceShell(app.App):
    """The ``mogan-valence`` command."""

    def __init__(self, argv: list[str]):
        # The auth options depend on the auth type, which argv names: the
        # option parser is built from it (keystoneauth's loading).
        self._argv = argv
        self.cloud_config = None
        self._config_error = None
        self._client = None
        super().__init__(
            description=__doc__.strip().splitlines()[0],
            version=version.version_string(),
            command_manager=command_manager(),
            deferred_help=True,
        )

    def build_option_parser(self, description, version, argparse_kwargs=None):
        parser = super().build_option_parser(description, version, argparse_kwargs)
        parser.add_argument(
            "--os-endpoint",
            metavar="URL",
            default=_env("OS_ENDPOINT", "MOGAN_VALENCE_API"),
            help="The API's URL, ending in /v1 (Env: OS_ENDPOINT or "
            "MOGAN_VALENCE_API). Alone, the API is reached without "
            "authentication (an API with [api] auth_strategy = noauth, such as "
            "'mogan-valence standalone'); with Keystone credentials, it "
            "replaces the catalog's baremetal_compute endpoint.",
        )
        try:
            self.cloud_config = os_config.OpenStackConfig()
            self.cloud_config.register_argparse_arguments(
                parser, list(self._argv), service_keys=[client_mod.SERVICE_TYPE]
            )
        except os_exc.ConfigException as e:
            # A broken clouds.yaml: commands that need the API say so.
            self.cloud_config = None
            self._config_error = str(e)
        return parser

    def configure_logging(self) -> None:
        """Warnings and errors on stderr; -v adds INFO, -vv DEBUG."""
        super().configure_logging()
        levels = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO}
        level = levels.get(self.options.verbose_level, logging.DEBUG)
        logging.getLogger().setLevel(level)

    def _keystone_given(self) -> bool:
        options = self.options
        return bool(
            options.os_cloud
            or getattr(options, "os_auth_url", None)
            or getattr(options, "os_token", None)
            or _env("OS_AUTH_URL", "OS_CLOUD")
        )

    @property
    def client(self) -> client_mod.ApiClient:
        """The API client, built on first use (local commands never do)."""
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> client_mod.ApiClient:
        if self.cloud_config is None:
            raise osc_exc.CommandError(
                f"cannot read the cloud configuration: {self._config_error}"
            )
        endpoint = self.options.os_endpoint
        if not endpoint and not self._keystone_given():
            raise osc_exc.CommandError(
                "no API to talk to: give --os-endpoint URL (an API without "
                "authentication), or Keystone credentials (--os-cloud, or "
                "OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME...)"
            )
        if endpoint and not self._keystone_given():
            self.options.os_auth_type = "none"
        try:
            region = self.cloud_config.get_one(argparse=self.options, validate=True)
            session = region.get_session()
        except (os_exc.ConfigException, os_exc.OpenStackCloudException) as e:
            raise osc_exc.CommandError(f"authentication options: {e}") from None
        except Exception as e:  # noqa: BLE001  (keystoneauth loading errors)
            raise osc_exc.CommandError(
                f"authentication options: {type(e).__name__}: {e}"
            ) from None
        return client_mod.ApiClient(
            session,
            endpoint=endpoint or region.get_endpoint(client_mod.SERVICE_TYPE),
            interface=region.get_interface(client_mod.SERVICE_TYPE),
            region_name=region.get_region_name(client_mod.SERVICE_TYPE),
        )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    return MoganValenceShell(argv).run(argv)
