"""`pust fhir …`: switch-over to the regional FHIR backend.

pust fhir mode --team NAME standalone|bridged|both
pust fhir backfill --citizen ID | --team NAME
pust fhir status
"""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid

MODES = ("standalone", "bridged", "both")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("fhir", help="regional FHIR backend: mode, backfill, status")
    commands = parser.add_subparsers(dest="fhir_command", required=True, metavar="SUBCOMMAND")
    mode = commands.add_parser("mode", help="set a care team's operating mode")
    mode.add_argument("--team", required=True, help="care team name")
    mode.add_argument("mode", choices=MODES)
    mode.set_defaults(handler=_mode)
    backfill = commands.add_parser("backfill", help="send a citizen's or team's history")
    target = backfill.add_mutually_exclusive_group(required=True)
    target.add_argument("--citizen", type=uuid.UUID, help="citizen id")
    target.add_argument("--team", help="care team name")
    backfill.add_argument(
        "--max-idle",
        type=float,
        default=60.0,
        help="give up waiting for retries after this many idle seconds",
    )
    backfill.set_defaults(handler=_backfill)
    status = commands.add_parser("status", help="backlog and failures of the push bridge")
    status.set_defaults(handler=_status)


def _mode(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from pust.db.engine import build_engine, session_scope
    from pust.db.tables import AuditEvent, CareTeam
    from pust.domain.clock import SystemClock
    from pust_cli.settings_loading import settings_or_exit

    engine = build_engine(settings_or_exit().effective_database_url, pool_size=1)
    try:
        with session_scope(engine) as session:
            team = session.exec(select(CareTeam).where(CareTeam.name == args.team)).first()
            if team is None:
                print(f"pust: no care team named {args.team!r}", file=sys.stderr)
                return 1
            before = team.operating_mode
            team.operating_mode = args.mode
            session.add(team)
            session.add(
                AuditEvent(
                    at=SystemClock().now(),
                    actor_username=f"cli:{getpass.getuser()}"[:120],
                    actor_role="administrator",
                    care_team_id=team.id,
                    action="care_team.mode",
                    resource_type="care_team",
                    resource_id=f"{team.id}:{before}->{args.mode}",
                    outcome="success",
                )
            )
    finally:
        engine.dispose()
    print(f"{args.team}: {before} -> {args.mode}")
    if args.mode != "standalone":
        print(
            "the bridge forwards this team's readings from now on; "
            "run `pust fhir backfill --team …` to send the history"
        )
    return 0


def _backfill(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry
    from pydantic import ValidationError
    from sqlmodel import Session
    from tqdm import tqdm

    from pust.config.logging import configure_logging
    from pust.db.engine import build_engine
    from pust.domain.clock import SystemClock
    from pust_cli.settings_loading import settings_or_exit
    from services.bridge.backfill import UnknownTarget, resolve_citizens, run_backfill
    from services.bridge.metrics import BridgeMetrics
    from services.bridge.settings import BridgeTargetRefused, load_bridge_settings
    from services.bridge.transport import HttpTransport, token_source
    from services.bridge.worker import BridgeWorker

    settings = settings_or_exit()
    configure_logging("WARNING", service="fhir-backfill")
    try:
        bridge = load_bridge_settings()
    except (ValidationError, BridgeTargetRefused) as exc:
        print(f"pust: the FHIR target is refused: {exc}", file=sys.stderr)
        return 2
    if not bridge.base_url:
        print("pust: set PUST_BRIDGE_BASE_URL and PUST_BRIDGE_ALLOWED_HOSTS", file=sys.stderr)
        return 2
    engine = build_engine(settings.effective_database_url, pool_size=2)
    clock = SystemClock()
    transport = HttpTransport(bridge, token_source(bridge, clock))
    try:
        with Session(engine) as session:
            citizens, not_linked = resolve_citizens(
                session, citizen_id=args.citizen, team=args.team
            )
        worker = BridgeWorker(
            engine=engine,
            transport=transport,
            settings=bridge,
            metrics=BridgeMetrics(CollectorRegistry()),
            clock=clock,
        )
        print(
            f"backfill paced at {bridge.backfill_per_second:g} submissions/s "
            "(FUT names no bulk route for history; PUST_BRIDGE_BACKFILL_PER_SECOND)"
        )
        with tqdm(total=0, unit="submission", desc="backfill") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            summary = run_backfill(
                engine=engine,
                worker=worker,
                clock=clock,
                citizen_ids=citizens,
                progress=progress,
                max_idle_seconds=args.max_idle,
                per_second=bridge.backfill_per_second,
            )
    except UnknownTarget as exc:
        print(f"pust: {exc}", file=sys.stderr)
        return 1
    finally:
        transport.close()
        engine.dispose()
    print(f"citizens linked: {summary.citizens} (not linked, skipped: {not_linked})")
    print(f"enqueued now: {summary.enqueued}; no ServiceRequest for the type: {summary.skipped}")
    print(
        f"sent: {summary.sent}; sent before: {summary.already_sent}; "
        f"dead: {len(summary.dead)}; still pending: {summary.remaining}; "
        f"{summary.seconds:.1f} s"
    )
    if summary.dead:
        print("dead outbox ids: " + ", ".join(str(i) for i in summary.dead[:50]))
    if summary.remaining:
        print("some submissions are still backing off: run the same command again to resume")
    return 0 if not summary.dead and not summary.remaining else 3


def _status(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from pust.db.engine import build_engine
    from pust.fhir.bridge_status import bridge_status
    from pust_cli.settings_loading import settings_or_exit

    engine = build_engine(settings_or_exit().effective_database_url, pool_size=1)
    try:
        with Session(engine) as session:
            status = bridge_status(session)
    finally:
        engine.dispose()
    counts = ", ".join(f"{k}={v}" for k, v in sorted(status.counts.items())) or "empty"
    print(f"fhir outbox: {counts}")
    if status.oldest_pending_at is not None:
        print(f"oldest pending since {status.oldest_pending_at.isoformat()}")
    for type_, count in sorted(status.not_sendable.items()):
        print(f"not sent (no FUT code): type={type_} count={count}")
    for failed in status.failing[:20]:
        print(
            f"retrying outbox_id={failed.outbox_id} attempts={failed.attempts} "
            f"error={failed.last_error}"
        )
    for failed in status.dead[:20]:
        print(
            f"dead outbox_id={failed.outbox_id} attempts={failed.attempts} "
            f"error={failed.last_error}"
        )
    return 0
