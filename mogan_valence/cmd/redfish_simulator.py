"""mogan-valence-redfish-simulator: a DMTF Redfish CompositionService with a
simulated disaggregated pod, its Compute blocks' BMCs served by sushy-tools."""

import argparse
import logging
import signal
import sys
import threading

from mogan_valence.simulator.composition import api
from mogan_valence.simulator.composition import requests as req_mod
from mogan_valence.simulator.composition import server


def _forms(text: str) -> tuple[str, ...]:
    forms = tuple(f.strip() for f in text.split(",") if f.strip())
    if not forms or set(forms) - set(req_mod.FORMS):
        raise argparse.ArgumentTypeError(
            f"a comma-separated list of {', '.join(req_mod.FORMS)}"
        )
    return forms


def _parser() -> argparse.ArgumentParser:
    defaults = server.Options()
    p = argparse.ArgumentParser(
        prog="mogan-valence-redfish-simulator",
        description="Serve a Redfish CompositionService: compose systems of "
        "resource blocks by POST to /redfish/v1/Systems (specific or "
        "constrained) or the Compose action, each composed system manageable "
        "by Ironic's redfish driver at its own URL.",
    )
    p.add_argument("--host", default=defaults.host, help="Listen address.")
    p.add_argument(
        "--port", type=int, default=8183, help="Port (0: any). Default %(default)s."
    )
    p.add_argument(
        "--username",
        default=defaults.username,
        help="HTTP Basic and session user. Default %(default)s.",
    )
    p.add_argument("--password", default=defaults.password)
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="Answer every request without credentials.",
    )
    p.add_argument(
        "--mode",
        choices=(api.SYNC, api.ASYNC),
        default=defaults.mode,
        help="sync: compose answers 201, delete 204; async: 202 and a task "
        "monitor. Default %(default)s.",
    )
    p.add_argument(
        "--task-seconds",
        type=float,
        default=defaults.task_seconds,
        help="async: how long a task monitor answers 202. Default %(default)s.",
    )
    p.add_argument(
        "--retry-after",
        choices=("date", "seconds"),
        default=defaults.retry_after,
        help="Retry-After of 202 answers: an HTTP-date, or a number of "
        "seconds (sushy 5.14's blocking wait fails on digits). "
        "Default %(default)s.",
    )
    p.add_argument(
        "--forms",
        type=_forms,
        default=defaults.forms,
        help="Composition forms advertised and accepted by POST to Systems: "
        "specific, constrained or both. Default specific,constrained.",
    )
    p.add_argument(
        "--compose-action",
        action=argparse.BooleanOptionalAction,
        default=defaults.compose_action,
        help="Serve CompositionService v1_2: the Compose action, "
        "reservations, free and active pools. Default on.",
    )
    p.add_argument(
        "--reservation-duration",
        type=float,
        default=defaults.reservation_duration,
        metavar="SECONDS",
        help="How long a PreviewReserve holds its blocks. Default %(default)s.",
    )
    p.add_argument(
        "--power-delay",
        type=float,
        metavar="SECONDS",
        help="Longest delay before a power change applies (default: "
        "sushy-tools' own random 1-11 s; 0 for tests).",
    )
    p.add_argument(
        "--compute-blocks",
        type=int,
        default=defaults.compute_blocks,
        help="Pod size: Compute blocks (servers), each with its own "
        "Processor, Memory, two Storage and one Network block. "
        "Default %(default)s.",
    )
    p.add_argument(
        "--zones",
        type=int,
        default=defaults.zones,
        help="Resource zones the blocks are spread over. Default %(default)s.",
    )
    p.add_argument(
        "--no-emulator",
        dest="emulator",
        action="store_false",
        help="Serve power, boot and virtual media from memory instead of sushy-tools.",
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
    if args.compute_blocks < 1 or args.zones < 1:
        print(
            "mogan-valence-redfish-simulator: --compute-blocks and --zones "
            "must be at least 1",
            file=sys.stderr,
        )
        return 2
    options = server.Options(
        host=args.host,
        port=args.port,
        username=None if args.no_auth else args.username,
        password=None if args.no_auth else args.password,
        mode=args.mode,
        forms=args.forms,
        compose_action=args.compose_action,
        reservation_duration=args.reservation_duration,
        task_seconds=args.task_seconds,
        retry_after=args.retry_after,
        power_delay=args.power_delay,
        compute_blocks=args.compute_blocks,
        zones=args.zones,
        emulator=args.emulator,
    )
    sim = server.CompositionSimulator(options)
    try:
        sim.start()
    except (RuntimeError, OSError) as e:
        print(f"mogan-valence-redfish-simulator: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"Redfish composition service ready at {sim.url}", flush=True)
    stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
