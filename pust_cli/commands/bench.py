"""`pust bench`: throughput, latency and memory of pust against its reference points."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from types import FrameType


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark ingest, alerts and the worklist against the configured database/broker",
        description=(
            "Runs every part side by side in one run against PUST_DATABASE_URL and "
            "PUST_MQTT_URL (or SQLite and an embedded broker), in a fresh database and a "
            "unique topic root, and prints a table (and JSON with --json)."
        ),
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--json", type=Path, default=None, dest="json_path")
    parser.add_argument("--messages", type=int, default=None, help="throughput messages")
    parser.add_argument("--rate", type=float, default=None, help="offered msg/s for latency")
    parser.add_argument("--latency-seconds", type=float, default=None)
    parser.add_argument("--worklist-citizens", type=int, default=None)
    parser.add_argument("--worklist-readings", type=int, default=None)
    parser.add_argument("--worklist-open-alerts", type=int, default=None)
    parser.add_argument("--nurses", type=int, default=None)
    parser.add_argument(
        "--ingest-processes",
        type=int,
        default=None,
        metavar="N",
        help="also measure N ingest processes on the MQTT 5 shared subscription (the paced "
        "load and the backlog then run on all N)",
    )
    parser.add_argument(
        "--alerts-replicas",
        type=int,
        default=None,
        metavar="N",
        help="N alerts processes claiming triage batches with SKIP LOCKED (PostgreSQL)",
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=None,
        metavar="N",
        help="N messages queued at the broker while ingest is down (its persistent sessions "
        "stay), red readings among them; then ingest starts: drain rate and red → worklist",
    )
    parser.add_argument(
        "--soak",
        type=int,
        default=None,
        metavar="N",
        help="only this: N messages through one ingest process, RSS sampled every 10,000",
    )
    parser.add_argument(
        "--own-mosquitto",
        type=Path,
        default=None,
        metavar="CONF",
        help="start a Mosquitto of our own with this configuration's tuning (e.g. "
        "deploy/mosquitto/mosquitto.conf), anonymous, on a free port",
    )
    parser.set_defaults(handler=_run)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    # once is enough: a second signal must not interrupt the clean-up
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def _run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from pust_cli.bench.report import render_table, write_json
    from pust_cli.bench.run import BenchOptions, run_bench
    from pust_cli.simulator.session import client_settings

    options = BenchOptions.quick() if args.quick else BenchOptions()
    overrides = {
        "messages": args.messages,
        "rate": args.rate,
        "latency_seconds": args.latency_seconds,
        "worklist_citizens": args.worklist_citizens,
        "worklist_readings": args.worklist_readings,
        "worklist_open_alerts": args.worklist_open_alerts,
        "nurses": args.nurses,
        "ingest_processes": args.ingest_processes,
        "alerts_replicas": args.alerts_replicas,
        "backlog": args.backlog,
        "soak": args.soak,
    }
    options = replace(options, **{k: v for k, v in overrides.items() if v is not None})
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the run still stops its child
    # processes and drops its database on the way out
    signal.signal(signal.SIGTERM, _exit_on_signal)
    result = run_bench(client_settings(), options, own_mosquitto=args.own_mosquitto)
    print(render_table(result))
    if args.json_path is not None:
        write_json(result, args.json_path)
        print(f"JSON written to {args.json_path}")
    return 0
