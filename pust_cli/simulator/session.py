"""One `pust simulate` run: build the cohort, connect its tablets, play, drain receipts."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pust.config.settings import Settings
from pust.messaging.topics import Topics
from pust_cli.simulator.cohort import CohortSpec, build_cohort
from pust_cli.simulator.outbox import SqliteOutbox
from pust_cli.simulator.runner import Pace, WireClock, play
from pust_cli.simulator.tablet import build_fleet
from pust_cli.simulator.timeline import SimPlan, cohort_messages


@dataclass(frozen=True, slots=True)
class SimulationRequest:
    citizens: int
    days: int
    speed: float
    seed: int
    wire_clock: str
    device_prefix: str
    enrol: bool
    password: str | None
    tablets_per_connection: int
    outbox_path: Path | None
    include_status: bool
    drain_seconds: float


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    citizens: int
    exacerbations: int
    sent: int
    resent: int
    receipts: dict[str, int]
    waiting: int
    seconds: float

    def describe(self) -> str:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.receipts.items())) or "none"
        return (
            f"simulated {self.citizens} citizens ({self.exacerbations} exacerbations): "
            f"sent {self.sent} messages ({self.resent} re-sends) in {self.seconds:.1f} s; "
            f"receipts: {outcomes}; waiting for a receipt: {self.waiting}"
        )


def client_settings() -> Settings:
    """Settings for a client tool (simulate, evaluate, bench). It never uses the services'
    secrets, so it does not need them set: throw-away values satisfy the start-up check."""
    from pust_cli.settings_loading import settings_or_exit

    return settings_or_exit(
        secret_key=secrets.token_urlsafe(32),
        service_mqtt_password=secrets.token_urlsafe(32),
    )


def run_simulation(
    settings: Settings, request: SimulationRequest, stop: threading.Event
) -> SimulationSummary:
    tz = ZoneInfo(settings.clinic_timezone)
    clock = WireClock(request.wire_clock)
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    start_local = today - timedelta(days=request.days) if clock is WireClock.HISTORY else today
    start = start_local.astimezone(UTC)
    spec = CohortSpec(
        citizens=request.citizens,
        start=start,
        days=request.days,
        seed=request.seed,
        device_prefix=request.device_prefix,
    )
    cohort = build_cohort(spec)
    device_ids = [c.device_id for c in cohort.citizens]
    if request.enrol:
        from pust.db.engine import build_engine
        from pust_cli.simulator.enrolment import enrol_cohort

        engine = build_engine(settings.effective_database_url, pool_size=1)
        try:
            enrol_cohort(
                engine,
                device_ids=device_ids,
                valid_from=start - timedelta(days=7),  # late uploads reach 72 h back
                password=request.password,
            )
        finally:
            engine.dispose()
    if request.outbox_path is not None:
        request.outbox_path.parent.mkdir(parents=True, exist_ok=True)
    outbox = SqliteOutbox(request.outbox_path or ":memory:")
    fleet = build_fleet(
        mqtt_url=settings.effective_mqtt_url,
        topics=Topics(settings.topic_root),
        device_ids=device_ids,
        outbox=outbox,
        tablets_per_connection=request.tablets_per_connection,
        password=request.password,
    )
    plan = SimPlan(timezone=settings.clinic_timezone, include_status=request.include_status)
    started = time.monotonic()
    fleet.start()
    try:
        fleet.resend_due(0)  # whatever a previous run left in the durable outbox
        now = datetime.now(UTC)
        stream = (
            m
            for m in cohort_messages(cohort, plan)
            if clock is WireClock.LIVE or m.publish_at <= now
        )
        pace = Pace(
            sim_start=start,
            speed=request.speed,
            wire_clock=clock,
            timezone=settings.clinic_timezone,
        )
        play(stream, fleet, pace, stop)
        if not stop.is_set():
            fleet.wait_drained(request.drain_seconds, pace.resend_after_seconds)
    finally:
        fleet.stop()
    waiting = outbox.depth()
    outbox.close()
    return SimulationSummary(
        citizens=len(cohort.citizens),
        exacerbations=len(cohort.exacerbations),
        sent=fleet.stats.sent,
        resent=fleet.stats.resent,
        receipts=dict(fleet.stats.receipts),
        waiting=waiting,
        seconds=time.monotonic() - started,
    )
