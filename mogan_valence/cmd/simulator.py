"""mogan-valence-simulator: a Valence v1 API with a simulated RSD or ExpEther
pod."""

import argparse
import logging
import signal
import sys
import threading

from mogan_valence.simulator import pod as pod_mod
from mogan_valence.simulator import server


def _parser() -> argparse.ArgumentParser:
    defaults = server.Options()
    p = argparse.ArgumentParser(
        prog="mogan-valence-simulator",
        description="Serve the Valence v1 API for a simulated Rack Scale Design "
        "or NEC ExpEther pod, with every system also served as a Redfish "
        "ComputerSystem by sushy-tools' emulator.",
    )
    p.add_argument(
        "--backend",
        choices=("rsd", "expether"),
        default=defaults.backend,
        help="Which Valence driver to answer as: 'rsd' (redfishv1: nodes are "
        "composed RSD systems) or 'expether' (nodes are existing servers "
        "with pooled PCIe devices attached). Default %(default)s.",
    )
    p.add_argument("--host", default=defaults.host, help="API listen address.")
    p.add_argument(
        "--port",
        type=int,
        default=defaults.port,
        help="API port (0: any free port). Default %(default)s.",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--pod-file",
        help="JSON description of the pod's systems and drives (see the README).",
    )
    group.add_argument(
        "--systems",
        type=int,
        default=defaults.systems,
        help="Size of a uniform pod. Default %(default)s.",
    )
    p.add_argument(
        "--state-dir",
        help="Keep state here across restarts "
        "(default: a temporary directory removed at exit).",
    )
    p.add_argument(
        "--no-redfish",
        dest="redfish",
        action="store_false",
        help="Do not start the Redfish emulator.",
    )
    p.add_argument("--redfish-host", default=defaults.redfish_host)
    p.add_argument(
        "--redfish-port",
        type=int,
        default=defaults.redfish_port,
        help="Redfish emulator port. Default %(default)s.",
    )
    p.add_argument("--redfish-username", default=defaults.redfish_username)
    p.add_argument(
        "--redfish-password",
        default=defaults.redfish_password,
        help="Password of the Redfish emulator's basic auth.",
    )
    p.add_argument(
        "--redfish-power-delay",
        type=float,
        metavar="SECONDS",
        help="Longest delay before a power change applies (default: "
        "the emulator's own random 1-11 s; 0 for tests).",
    )
    p.add_argument(
        "--ironic-url",
        help="Ironic API (no authentication) that POST /v1/nodes/<uuid>/register "
        "enrols nodes in; without it, register answers 'Failed to load ironic "
        "driver' as Valence does when it cannot reach Ironic.",
    )
    p.add_argument(
        "--write-inventory",
        metavar="FILE",
        help="expether: write the operator inventory of the hosts (EESV, "
        "MAC, serial number, Redfish driver_info) to FILE at start.",
    )
    p.add_argument(
        "--fault-double-allocation",
        nargs="?",
        type=float,
        const=1.0,
        metavar="SECONDS",
        help="expether: reproduce the real driver's double allocation: every "
        "compose waits SECONDS (default 1) between choosing an EESV and "
        "attaching to it, so concurrent composes get the same EESV.",
    )
    p.add_argument("--debug", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.pod_file is None and args.systems < 1:
        print("mogan-valence-simulator: --systems must be at least 1", file=sys.stderr)
        return 2
    if args.backend != "expether":
        for given, flag in (
            (args.write_inventory, "--write-inventory"),
            (args.fault_double_allocation, "--fault-double-allocation"),
        ):
            if given is not None:
                print(
                    f"mogan-valence-simulator: {flag} needs --backend expether",
                    file=sys.stderr,
                )
                return 2
    options = server.Options(
        host=args.host,
        port=args.port,
        systems=args.systems,
        pod_file=args.pod_file,
        state_dir=args.state_dir,
        redfish=args.redfish,
        redfish_host=args.redfish_host,
        redfish_port=args.redfish_port,
        redfish_username=args.redfish_username,
        redfish_password=args.redfish_password,
        redfish_power_delay=args.redfish_power_delay,
        ironic_url=args.ironic_url,
        backend=args.backend,
        double_allocation_window=args.fault_double_allocation,
        write_inventory=args.write_inventory,
    )
    try:
        sim = server.Simulator(options)
        sim.start()
    except (pod_mod.PodFileError, RuntimeError, OSError) as e:
        print(f"mogan-valence-simulator: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"Valence API ready at {sim.url}", flush=True)
    stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
