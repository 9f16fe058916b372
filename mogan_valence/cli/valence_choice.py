"""Which Valence the embedded stack composes with: the simulator (of the
``rsd`` or ``expether`` backend) or an existing one (``--valence-url``,
``--podm-id``, ``--node-inventory``), checked before anything starts, and
the demo composition that fits its pod manager's shape."""

import os
import urllib.parse

from osc_lib import exceptions as osc_exc

from mogan_valence.common import exception as mv_exc
from mogan_valence.common import secrets
from mogan_valence.valence import client as valence_client
from mogan_valence.valence import exceptions as valence_exc
from mogan_valence.valence import expether
from mogan_valence.valence import inventory as inventory_mod

COMPOSITION = {"cpu_cores": 16, "ram_mib": 65536, "disk_gb": 500, "disk_type": "SSD"}
# An ExpEther node is an existing server: only PCIe devices can be asked
# for (a stock Valence refuses local_drives, and ExpEther ignores CPU/RAM).
EXPETHER_COMPOSITION = {"pci_devices": ["GPU"]}
BACKENDS = (expether.RSD, expether.EXPETHER)
# How the embedded ExpEther stack manages its hosts: fake-hardware entries
# (fake deploy and boot), so that the deploy is instant and needs no boot
# image. The simulator's redfish entries would deploy through its Redfish
# emulator with a ramdisk deploy over virtual media, which needs the
# emulator, a real boot ISO served on loopback and the API allowing
# loopback image URLs. See inventory_entries().
EMBEDDED_HOST_DRIVER = "fake-hardware"


class ValenceUnusable(osc_exc.CommandError):
    """The Valence given cannot be used; one line naming it and why."""


def valence_options_error(
    valence_url: str | None,
    podm_id: str | None,
    node_inventory: str | None,
    backend: str | None,
) -> str | None:
    """What is wrong with a choice of Valence options, in one line, or None.

    ``backend`` is the embedded simulator's (None when not given).
    """
    if not valence_url:
        for given, option in (
            (podm_id, "--podm-id"),
            (node_inventory, "--node-inventory"),
        ):
            if given:
                return f"{option} goes with --valence-url (an existing Valence)"
        if backend is not None and backend not in BACKENDS:
            return f"--backend must be one of {', '.join(BACKENDS)}, not {backend!r}"
        return None
    shown = secrets.mask_url_credentials(valence_url)
    parts = urllib.parse.urlsplit(valence_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (
            f"--valence-url {shown} is not an http(s) URL such as http://valence:8181"
        )
    if not podm_id or not podm_id.strip():
        return (
            "--podm-id is required with --valence-url: the uuid of the pod "
            "manager to compose from (GET /v1/pod_managers lists them)"
        )
    if backend is not None:
        return (
            "--backend chooses the embedded simulator's driver; with "
            "--valence-url the pod manager's driver decides"
        )
    if node_inventory is not None and not os.path.isfile(node_inventory):
        return f"--node-inventory {node_inventory}: no such file"
    return None


def read_inventory(path: str) -> list[dict]:
    """The entries of an inventory file; never shows a value of it.

    :raises ValenceUnusable: it cannot be read or is wrong.
    """
    try:
        with open(path, encoding="utf-8") as f:
            return inventory_mod.parse(f.read(), path)
    except OSError as e:
        raise ValenceUnusable(
            f"--node-inventory {path}: cannot read it: {e.strerror}"
        ) from None
    except mv_exc.InvalidInput as e:
        raise ValenceUnusable(f"--node-inventory: {e}") from None


def check_valence(url: str, podm_id: str) -> dict:
    """The pod manager ``podm_id`` of the Valence at ``url`` (its password
    redacted).

    :raises ValenceUnusable: one line naming the Valence or the pod manager.
    """
    shown = secrets.mask_url_credentials(url)
    client = valence_client.ValenceClient(
        url, connect_timeout=5.0, read_timeout=30.0, retries=0
    )
    try:
        return client.get_pod_manager(podm_id)
    except valence_exc.ValenceUnreachable:
        raise ValenceUnusable(
            f"Valence at {shown} is unreachable (no answer to GET "
            f"/v1/pod_managers/{podm_id}); check --valence-url"
        ) from None
    except valence_exc.ValenceNotFound:
        raise ValenceUnusable(
            f"Valence at {shown} has no pod manager {podm_id}; check --podm-id "
            "(GET /v1/pod_managers lists them)"
        ) from None
    except valence_exc.ValenceError as e:
        status = getattr(e, "status", None)
        raise ValenceUnusable(
            f"Valence at {shown} did not give pod manager {podm_id}"
            + (f" (HTTP {status})" if status else "")
            + f": {_one_line(str(e))}"
        ) from None


def _one_line(text: str) -> str:
    return " ".join(secrets.mask_url_credentials(text).split())


def composition_for(shape: str) -> dict:
    """The demo flavor's composition for a pod manager's node shape."""
    return dict(EXPETHER_COMPOSITION if shape == expether.EXPETHER else COMPOSITION)


def inventory_entries(hosts: list[dict], driver: str = EMBEDDED_HOST_DRIVER) -> list:
    """The embedded ExpEther stack's inventory: the simulator's hosts (its
    ``inventory()``), managed by ``driver`` (fake-hardware: no BMC and no
    credentials; redfish: the simulator's entries as they are)."""
    if driver == "redfish":
        return [dict(h) for h in hosts]
    return [
        {
            "eesv": h["eesv"],
            "mac": h["mac"],
            "host_serial_number": h["host_serial_number"],
            "driver": driver,
            "driver_info": {},
            # Not [valence] deploy_interface (ramdisk), which fake boot
            # cannot serve.
            "deploy_interface": "fake",
            "boot_interface": "fake",
        }
        for h in hosts
    ]


def add_valence_arguments(parser) -> None:
    """``--backend`` (the embedded simulator's), or an existing Valence."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="The embedded Valence simulator's driver: rsd (the default: "
        "composed systems) or expether (existing servers with PCIe devices "
        "attached; the stack writes the simulator's host inventory and "
        "points [valence] node_inventory at it).",
    )
    parser.add_argument(
        "--valence-url",
        metavar="URL",
        help="Compose with the existing Valence at URL instead of starting "
        "the simulator ([valence] url); needs --podm-id.",
    )
    parser.add_argument(
        "--podm-id",
        metavar="ID",
        help="With --valence-url: the pod manager to compose from "
        "([valence] podm_id). Its driver decides the composition: PCIe "
        "devices for expether, cores, RAM and disk otherwise.",
    )
    parser.add_argument(
        "--node-inventory",
        metavar="FILE",
        help="With --valence-url and an expether pod manager: the JSON or "
        "YAML inventory of its hosts ([valence] node_inventory, with "
        "enroll_driver = redfish: each entry's driver and driver_info). "
        "Without it, hosts are enrolled as fake-hardware nodes.",
    )


def valence_arguments(parsed_args) -> dict:
    """``EmbeddedStack`` keywords of the Valence options.

    :raises osc_exc.CommandError: a wrong combination, in one line.
    """
    error = valence_options_error(
        parsed_args.valence_url,
        parsed_args.podm_id,
        parsed_args.node_inventory,
        parsed_args.backend,
    )
    if error:
        raise osc_exc.CommandError(error)
    return {
        "backend": parsed_args.backend or expether.RSD,
        "valence_url": parsed_args.valence_url,
        "podm_id": parsed_args.podm_id.strip() if parsed_args.podm_id else None,
        "node_inventory": parsed_args.node_inventory,
    }
