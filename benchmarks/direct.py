"""The same Ironic and Valence calls an engine makes for a composed instance,
made directly, without the engine: the backends' own ceiling."""

import concurrent.futures
import threading
import time
import uuid as uuidlib

from oslo_config import cfg

from mogan_valence import conf as _conf  # noqa: F401  (registers the options)
from mogan_valence.ironic import client as ironic_client
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import composition
from mogan_valence.valence import enrollment

CONF = cfg.CONF
_configured = threading.Lock()


class Direct:
    def __init__(self, stack):
        with _configured:
            if not CONF._args:
                CONF([], project="mogan-valence-bench", default_config_files=[])
            CONF.set_override("resource_class", stack.composed_class, group="valence")
            CONF.set_override("enroll_driver", "fake-hardware", group="valence")
        self.ironic = ironic_client.IronicClient(
            ironic_client.ironic_client.get_client(
                "1",
                endpoint=stack.ironic_proxy.url,
                os_ironic_api_version=CONF.ironic.api_version,
                max_retries=10,
                retry_interval=1,
            ),
            CONF,
        )
        self.valence = valence_client.ValenceClient(stack.valence_proxy.url)
        self.podm = stack.sim_podm
        self.composition = stack.composition

    def create(self, name: str, instance_uuid: str, image: str) -> str:
        body = composition.to_request(self.composition, name, self.podm)
        node = self.valence.compose(body)
        detail = self.valence.get_node(node["uuid"])
        fields = enrollment.node_fields(
            CONF, instance_uuid, {"uuid": node["uuid"], "name": name}, detail
        )
        self.ironic.create_node(node["uuid"], **fields)
        self.ironic.claim_node(node["uuid"], instance_uuid)
        for mac in enrollment.macs(detail):
            self.ironic.create_port(node["uuid"], mac)
        self.ironic.make_available(node["uuid"])
        self.ironic.deploy(node["uuid"], {"image_source": image, "root_gb": "10"})
        return node["uuid"]

    def delete(self, node_uuid: str) -> None:
        # Retired as the engine retires a composed node: the same calls
        # (the PATCH, and a teardown that ends in manageable).
        self.ironic.undeploy(node_uuid, retire=True)
        self.ironic.delete_node(node_uuid)
        self.valence.release_node(node_uuid)

    def create_many(self, n: int, image: str) -> tuple[list[str], float]:
        """``n`` composed nodes deployed from ``n`` threads at once: the
        nodes, and the seconds until the last is active."""
        began = time.monotonic()

        def create(_):
            instance_uuid = str(uuidlib.uuid4())
            return self.create(f"mogan-{instance_uuid}", instance_uuid, image)

        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            nodes = list(pool.map(create, range(n)))
        return nodes, time.monotonic() - began

    def delete_many(self, nodes: list[str]) -> None:
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=min(len(nodes), 32)
        ) as pool:
            list(pool.map(self.delete, nodes))


def timed(fn, *args):
    began = time.monotonic()
    result = fn(*args)
    return result, time.monotonic() - began
