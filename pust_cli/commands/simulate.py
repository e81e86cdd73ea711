"""`pust simulate`: a cohort of simulated tablets publishing to the configured broker."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run simulated tablets (a seeded COPD cohort) against the configured broker",
        description=(
            "Simulated citizens measure, answer the symptom questionnaire and send status; "
            "each tablet keeps an outbox and re-sends until the backend's receipt arrives."
        ),
    )
    parser.add_argument("--citizens", type=int, default=20)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument(
        "--speed",
        type=float,
        default=3600.0,
        help="simulated seconds per wall second (1 = real time, 0 = as fast as possible)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--clock",
        choices=("live", "history"),
        default="live",
        help="live: stamp messages with the wall clock; history: replay the past DAYS",
    )
    parser.add_argument("--device-prefix", default="sim")
    parser.add_argument(
        "--enrol",
        action="store_true",
        help="enrol the simulated citizens and tablets in the configured database first",
    )
    parser.add_argument("--password", default=None, help="the tablets' MQTT password")
    parser.add_argument(
        "--tablets-per-connection",
        type=int,
        default=1,
        help="carry several tablets on one MQTT connection (brokers without per-device ACLs)",
    )
    parser.add_argument(
        "--outbox",
        type=Path,
        default=None,
        help="outbox file (default: DATA_DIR/simulator-outbox.sqlite3)",
    )
    parser.add_argument("--no-status", action="store_true", help="do not send heartbeats")
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the cohort `pust evaluate` simulates as files (docs/cohort-format.md) "
        "instead of publishing; replay it with `pust evaluate --cohort DIR`",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=30.0,
        help="how long to wait for outstanding receipts at the end",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.export is not None:
        from pust_cli.evaluate.cohort_dir import export_simulated

        written = export_simulated(
            args.export, citizens=args.citizens, days=args.days, seed=args.seed
        )
        print(f"cohort of {args.citizens} citizens, {args.days} days, seed {args.seed}: ")
        for path in written:
            print(f"  {path}")
        return 0
    from pust_cli.simulator.session import SimulationRequest, client_settings, run_simulation

    settings = client_settings()
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    request = SimulationRequest(
        citizens=args.citizens,
        days=args.days,
        speed=args.speed,
        seed=args.seed,
        wire_clock=args.clock,
        device_prefix=args.device_prefix,
        enrol=args.enrol,
        password=args.password,
        tablets_per_connection=args.tablets_per_connection,
        outbox_path=args.outbox or settings.data_dir / "simulator-outbox.sqlite3",
        include_status=not args.no_status,
        drain_seconds=args.drain_seconds,
    )
    summary = run_simulation(settings, request, stop)
    print(summary.describe())
    if summary.waiting:
        print(
            f"pust simulate: {summary.waiting} messages still wait for a receipt "
            "(kept in the outbox; re-sent at the next run)",
            file=sys.stderr,
        )
        return 1
    return 0
