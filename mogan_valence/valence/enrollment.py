"""What an Ironic node enrolled for a composed Valence node looks like.

Its ``extra["mogan_valence"]`` is the ownership marker: ``instance_uuid``,
``valence_node``, ``podm_id`` and ``deployment``, the id of the deployment that
enrolled it (``deployment_id``). The reconciler treats an Ironic node as ours
only when that id is this deployment's. Nodes enrolled by a version without
the ``deployment`` key are therefore not ours for the reconciler: it never
removes them (the delete path of their instance still does); an operator who
wants them reconciled adds the key by hand
(``baremetal node set <node> --extra mogan_valence/deployment=<id>`` keeps the
rest of the marker only with a JSON patch, so prefer re-setting the whole
``mogan_valence`` dict).
"""

import uuid

import sqlalchemy.engine
from oslo_config import cfg

from mogan_valence.common import exception
from mogan_valence.common import secrets

# extra["mogan_valence"] marks a node as ours; the reconciler relies on it.
EXTRA_KEY = "mogan_valence"
# extra["mogan_valence"]["deployment"]: which deployment enrolled the node.
DEPLOYMENT_KEY = "deployment"
# extra["mogan_valence"]["adopted"]: an existing node borrowed for an
# instance (an ExpEther host): given back to the pool, never deleted.
ADOPTED_KEY = "adopted"
# instance.extra key: the Valence node of a composed instance (its Ironic
# node, instance.node_uuid, is another one when an ExpEther host is borrowed).
VALENCE_NODE_KEY = "valence_node"
# instance.extra key: the existing Ironic node an instance borrowed (an
# ExpEther host), until it is given back.
BORROWED_HOST_KEY = "borrowed_host"


def valence_node_of(instance) -> str | None:
    """The Valence node a composed instance holds (older instances: its
    Ironic node has the same uuid)."""
    return (instance.extra or {}).get(VALENCE_NODE_KEY) or instance.node_uuid


def _connection_without_password(connection: str) -> str:
    """The URL with its password replaced by ``***`` (SQLAlchemy's mask)."""
    try:
        url = sqlalchemy.engine.make_url(connection)
    except Exception:  # noqa: BLE001  (any parse error: keep the raw string)
        return secrets.mask_url_credentials(connection)
    # NOTE: URL.set(password=None) keeps the password (None = "unchanged").
    return url.render_as_string(hide_password=True)


def deployment_id(conf: cfg.ConfigOpts) -> str:
    """This deployment's id: ``[valence] deployment_id``, or one derived
    from ``[database] connection``.

    The derived id is ``uuid5(NAMESPACE_URL, <connection without its
    password>)``: every engine of a deployment shares its database, and so
    its id, while a password rotation does not change it.
    """
    configured = conf.valence.deployment_id
    if configured:
        return configured
    connection = conf.database.connection or ""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, _connection_without_password(connection)))


def system_path(detail: dict) -> str | None:
    """The Redfish system path; legacy RSD gives ``{"@odata.id": path}``."""
    system = detail.get("computer_system")
    if isinstance(system, dict):
        system = system.get("@odata.id")
    return system or None


def macs(detail: dict) -> list[str]:
    network = (detail.get("metadata") or {}).get("network") or []
    found = [n.get("mac") for n in network if isinstance(n, dict) and n.get("mac")]
    return [m.lower() for m in found]


def properties(detail: dict) -> dict:
    metadata = detail.get("metadata") or {}
    cpus = detail.get("cpu_cores") or sum(
        int(p.get("total_core") or 0) for p in metadata.get("processor") or []
    )
    memory = detail.get("ram_mib") or sum(
        int(m.get("total_memory_mb") or 0) for m in metadata.get("memory") or []
    )
    disk = detail.get("disk_gb") or sum(
        int(d.get("capacity_gib") or 0) for d in metadata.get("local_drives") or []
    )
    props = {"cpu_arch": "x86_64"}
    if cpus:
        props["cpus"] = int(cpus)
    if memory:
        props["memory_mb"] = int(memory)
    if disk:
        props["local_gb"] = int(disk)
    return props


class EnrollmentError(exception.MoganValenceException):
    msg_fmt = "Cannot enroll the composed node: %(reason)s"


REDFISH_OPTIONS = ("redfish_address", "redfish_username", "redfish_password")


def missing_redfish_options(conf: cfg.ConfigOpts) -> list[str]:
    """The ``[valence]`` options an RSD node's enrollment lacks."""
    if conf.valence.enroll_driver != "redfish":
        return []
    return [f"[valence] {o}" for o in REDFISH_OPTIONS if not getattr(conf.valence, o)]


def driver_fields(conf: cfg.ConfigOpts, detail: dict) -> dict:
    group = conf.valence
    if group.enroll_driver == "fake-hardware":
        return {"driver": "fake-hardware", "driver_info": {}}
    missing = missing_redfish_options(conf)
    if missing:
        raise EnrollmentError(f"the redfish driver needs {', '.join(missing)}")
    path = system_path(detail)
    if not path:
        raise EnrollmentError(
            f"Valence node {detail.get('uuid')} has no computer_system: cannot "
            "tell Ironic which Redfish system to manage"
        )
    driver_info = {
        "redfish_address": group.redfish_address,
        "redfish_system_id": path,
        "redfish_username": group.redfish_username,
        "redfish_password": group.redfish_password,
        "redfish_verify_ca": group.redfish_verify_ca,
        "redfish_auth_type": group.redfish_auth_type,
    }
    return {
        "driver": "redfish",
        "driver_info": driver_info,
        "deploy_interface": group.deploy_interface,
        "boot_interface": group.boot_interface,
    }


def marker(
    conf: cfg.ConfigOpts, instance_uuid: str, valence_node: dict, adopted=False
) -> dict:
    """``extra["mogan_valence"]`` of a node enrolled (or, ``adopted``,
    borrowed) for an instance."""
    found = {
        "composed": True,
        "instance_uuid": instance_uuid,
        "valence_node": valence_node["uuid"],
        "podm_id": valence_node.get("podm_id"),
        DEPLOYMENT_KEY: deployment_id(conf),
    }
    if valence_node.get("backend") == "redfish":
        # Which composition service holds it (the reconciler asks it).
        found["composer"] = {"backend": "redfish", "service": valence_node["service"]}
    if adopted:
        found[ADOPTED_KEY] = True
    return found


def marker_of(node: dict) -> dict:
    found = (node.get("extra") or {}).get(EXTRA_KEY)
    return found if isinstance(found, dict) else {}


def is_adopted(node: dict) -> bool:
    """An existing Ironic node borrowed for an instance: never deleted."""
    return bool(marker_of(node).get(ADOPTED_KEY))


def node_fields(
    conf: cfg.ConfigOpts,
    instance_uuid: str,
    valence_node: dict,
    detail: dict,
    driver: dict | None = None,
    props: dict | None = None,
) -> dict:
    """The Ironic node to create for a composed node.

    :param driver: ``driver``, ``driver_info`` (and interfaces), when not
        those of ``[valence]`` for an RSD node; may name a
        ``resource_class``.
    :param props: its properties, when not read from an RSD detail.
    """
    fields = dict(driver) if driver is not None else driver_fields(conf, detail)
    fields.setdefault("resource_class", conf.valence.resource_class)
    fields.update(
        name=valence_node["name"],
        properties=props if props is not None else properties(detail),
        extra={EXTRA_KEY: marker(conf, instance_uuid, valence_node)},
    )
    return fields
