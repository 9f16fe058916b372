"""The deployment under test: clients, waiters with deadlines, cleanups."""

import os
import time

from ironicclient import client as ironic_client
from oslo_config import cfg

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from mogan_valence.engine import rpc
from mogan_valence.engine import rpcapi
from mogan_valence import objects
from mogan_valence.tempest_plugin import config
from mogan_valence.valence import client as valence_client

ENV = "MOGAN_VALENCE_DEPLOYMENT_CONF"


class NotConfigured(Exception):
    pass


def load_conf() -> cfg.ConfigOpts:
    """[mogan_valence] from tempest's configuration, or from $ENV's file."""
    try:
        from tempest import config as tempest_config  # noqa: PLC0415

        conf = tempest_config.CONF
        if conf.mogan_valence.transport_url:
            return conf
    except Exception:  # noqa: BLE001,S110  (no tempest, or not configured)
        pass
    path = os.environ.get(ENV)
    if not path:
        raise NotConfigured(
            f"no deployment configured: set {ENV} to a file with a "
            "[mogan_valence] section, or configure tempest"
        )
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf([], project="mogan-valence-tests", default_config_files=[path])
    return conf


class Deployment:
    def __init__(self, conf: cfg.ConfigOpts):
        self.opts = conf.mogan_valence
        if not (self.opts.transport_url and self.opts.engine_host):
            raise NotConfigured(
                "[mogan_valence] transport_url and engine_host are required"
            )
        objects.register_all()
        engine_conf = cfg.ConfigOpts()
        from mogan_valence.conf import engine as engine_opts  # noqa: PLC0415

        engine_opts.register_opts(engine_conf)
        engine_conf([], project="mogan-valence-tests", default_config_files=[])
        engine_conf.set_override("host", self.opts.engine_host, group="engine")
        engine_conf.set_override("topic", self.opts.engine_topic, group="engine")
        transport = rpc.get_transport(cfg.CONF, url=self.opts.transport_url)
        self.api = rpcapi.EngineAPI(transport=transport, conf=engine_conf, timeout=60)
        self.ctx = mv_context.get_admin_context()
        self.ironic = (
            ironic_client.get_client(
                "1", endpoint=self.opts.ironic_endpoint, os_ironic_api_version="latest"
            )
            if self.opts.ironic_endpoint
            else None
        )
        self.valence = (
            valence_client.ValenceClient(self.opts.valence_url, retries=1)
            if self.opts.valence_url
            else None
        )

    def wait_for_status(self, uuid: str, until: set[str]) -> dict:
        deadline = time.monotonic() + self.opts.build_timeout
        while True:
            got = self.api.get_instance(self.ctx, uuid)
            if got["instance"].status in until:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"instance {uuid} still {got['instance'].status} after "
                    f"{self.opts.build_timeout}s"
                )
            time.sleep(self.opts.build_interval)

    def delete_and_wait(self, uuid: str) -> dict:
        got = self.api.get_instance(self.ctx, uuid)
        if got["instance"].status == states.DELETED:
            return got
        if got["instance"].status == states.BUILDING:
            got = self.wait_for_status(uuid, {states.ACTIVE, states.ERROR})
        self.api.delete_instance(self.ctx, uuid)
        return self.wait_for_status(uuid, {states.DELETED, states.ERROR})
