"""The demo's tablets: a few weeks of history for the seed, then live, accelerated publishing.

``demo-tablet-01`` … ``12`` (01–06 Nord, 07–12 Syd) log in with their device id and the
password ``demo``. Each demo citizen has one profile (baselines, weight, habits) from
:data:`DEMO_PROFILE_SEED`, shared by the seeded history and every live round, so the live
readings continue the history (no weight jump). In the history, one citizen is
mid-exacerbation now (01) and the first live round carries the same episode on, so she gets
worse in the first minutes; one stopped measuring three days ago while the tablet still
reports (05: her daily slots of the last two days at least are missed, so under the
citizen-first policy she was reminded on the tablet and is a blue task at any time of day,
pust_cli.demo_history); one tablet has been silent
longer than the silent threshold (06). The live pace is ``Settings.demo_speed`` simulated
seconds per wall second (default 360: a day in four minutes).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pust.config.settings import Settings
from pust.domain.missed_measurement_policy import DEFAULT_POLICY, MissedMeasurementPolicy
from pust.messaging.topics import DeviceChannel, Topics
from pust_cli.simulator.cohort import Cohort, CohortSpec, Exacerbation, build_cohort
from pust_cli.simulator.messages import SimMessage, parse_wire_time
from pust_cli.simulator.outbox import SqliteOutbox
from pust_cli.simulator.runner import Pace, WireClock, play
from pust_cli.simulator.tablet import build_fleet
from pust_cli.simulator.timeline import SimPlan, cohort_messages

log = logging.getLogger(__name__)

DEMO_DEVICE_IDS = tuple(f"demo-tablet-{n:02d}" for n in range(1, 13))
DEMO_PASSWORD = "demo"  # noqa: S105 - demo mode only, documented in the contract
# her SpO2 baseline (about 93 %) takes her below the red limit at the peak
EXACERBATING = "demo-tablet-01"
NOT_MEASURING = "demo-tablet-05"
SILENT = "demo-tablet-06"
# longer than the alerts service's silent threshold (24 h by default)
SILENT_FOR = timedelta(hours=30)


def days_to_a_blue_task(policy: MissedMeasurementPolicy = DEFAULT_POLICY) -> int:
    """Missed days in a row after which the citizen-first policy makes a blue task, for the
    demo's plan of one slot a day (2 under the default)."""
    criteria = [n for n in (policy.task_after_days, policy.task_after_slots) if n > 0]
    return min(criteria, default=1)


# one day more than that: whatever the time of day, that many daily slots before today's are
# missed (and their grace over), so 05 was reminded and is a blue task at the demo's start
NOT_MEASURING_FOR = timedelta(days=days_to_a_blue_task() + 1)
# the history's tablets report their status this often (connected in between)
HISTORY_STATUS_INTERVAL = timedelta(hours=6)
# the demo citizens' profiles: the same in the history and in every live round
DEMO_PROFILE_SEED = 2026
# a simulated day in 4 wall minutes (Settings.demo_speed)
LIVE_SPEED = 360.0
LIVE_DAYS = 365


def _demo_cohort(seed: int, start: datetime, days: int, *, now: datetime | None) -> Cohort:
    """The demo's citizens: profiles from :data:`DEMO_PROFILE_SEED`; ``seed`` varies the
    day-to-day noise only. With ``now``, citizen 01's exacerbation peaks half a day later."""
    spec = CohortSpec(
        citizens=len(DEMO_DEVICE_IDS),
        start=start,
        days=days,
        seed=DEMO_PROFILE_SEED,
        exacerbations_per_year=8.0,
        earliest_onset_day=14 if now is not None else 1,
    )
    profiles = build_cohort(spec, device_ids=DEMO_DEVICE_IDS)
    # a demo clinic's citizens measure faithfully, upload at once and their tablets stay
    # online: the blue and silent rows are the stories (05, 06), not noise. (A missed slot,
    # an upload still outstanding when the history ends — hours late, so never sent — or a
    # silence pushing one past it left 4-6 of 12 citizens blue in the alerts' 72-hour
    # look-back at the demo's start, issue 14.)
    faithful = tuple(
        replace(c, adherence=1.0, late_upload_rate=0.0, silent_rate=0.0) for c in profiles.citizens
    )
    cohort = Cohort(replace(spec, seed=seed), faithful)
    if now is None:
        return cohort
    citizens = tuple(
        replace(
            c,
            exacerbations=(
                Exacerbation(
                    c.device_id,
                    now - timedelta(days=2),
                    now + timedelta(hours=12),
                    now + timedelta(days=7),
                    1.0,
                ),
            ),
        )
        if c.device_id == EXACERBATING
        else c
        for c in cohort.citizens
    )
    return Cohort(cohort.spec, citizens)


def history_for_demo(seed: int, days: int, now: datetime) -> list[SimMessage]:
    """The demo's history: protocol-v1 messages per device (measurements, questionnaire
    responses, status every 6 h), ordered by ``publish_at``, everything in them measured,
    answered and sent within ``[now - days, now]``.

    Timestamps are true (nothing is restamped). Insert them through the ingest path so that
    they are validated, stored and triaged like any tablet's messages.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    start = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    cohort = _demo_cohort(seed, start, days + 1, now=now)
    plan = SimPlan(status_interval=HISTORY_STATUS_INTERVAL)
    history: list[SimMessage] = []
    window_start = now - timedelta(days=days)
    for message in cohort_messages(cohort, plan):
        if message.publish_at > now:
            break
        if _earliest_time(message) < window_start:
            continue  # before the tablet was assigned: keep the history inside its window
        if message.device_id == SILENT and message.publish_at > now - SILENT_FOR:
            continue
        if (
            message.device_id == NOT_MEASURING
            and message.channel is not DeviceChannel.STATUS
            and message.publish_at > now - NOT_MEASURING_FOR
        ):
            continue
        history.append(message)
    return history


def _earliest_time(message: SimMessage) -> datetime:
    payload = message.payload
    times = [parse_wire_time(str(payload["sent_at"]))]
    if "answered_at" in payload:
        times.append(parse_wire_time(str(payload["answered_at"])))
    times += [parse_wire_time(str(o["measured_at"])) for o in payload.get("observations", [])]
    return min(times)


def live_round(
    seed: int,
    start: datetime,
    timezone: str,
    *,
    speed: float = LIVE_SPEED,
    continues_history: bool = False,
) -> tuple[Iterator[SimMessage], Pace]:
    """A year of demo traffic from ``start`` at ``speed``: twice a day every day, the
    silent tablet silent, the non-measuring citizen's tablet reporting status only. The
    round that ``continues_history`` carries citizen 01's exacerbation on from the history:
    her first live readings are at its peak, worse than the history's last ones."""
    cohort = _demo_cohort(seed, start, LIVE_DAYS, now=start if continues_history else None)
    plan = SimPlan(
        run_in_days=0,
        times=("08:00", "18:00"),
        status_interval=timedelta(hours=3),
        timezone=timezone,
    )
    stream = (
        m
        for m in cohort_messages(cohort, plan)
        if m.device_id != SILENT
        and (m.device_id != NOT_MEASURING or m.channel is DeviceChannel.STATUS)
    )
    # begin a quarter of an hour before the first morning, not hours of status only
    tz = ZoneInfo(timezone)
    morning = datetime.combine(start.astimezone(tz).date(), time(8, 0), tzinfo=tz)
    first_morning = morning if morning > start else morning + timedelta(days=1)
    pace = Pace(
        sim_start=first_morning - timedelta(minutes=15),
        speed=speed,
        wire_clock=WireClock.LIVE,
        timezone=timezone,
    )
    return stream, pace


def run_demo_simulator(settings: Settings, stop: threading.Event) -> None:
    """Keep the demo tablets publishing until ``stop`` is set (for ``pust up --demo``)."""
    topics = Topics(settings.topic_root)
    live_devices = [d for d in DEMO_DEVICE_IDS if d != SILENT]
    outbox = SqliteOutbox(settings.data_dir / "demo-tablets-outbox.sqlite3")
    fleet = build_fleet(
        mqtt_url=settings.effective_mqtt_url,
        topics=topics,
        device_ids=live_devices,
        outbox=outbox,
        password=DEMO_PASSWORD,
    )
    try:
        fleet.start()
    except Exception:
        log.exception("demo_simulator.connect_failed")
        fleet.stop(graceful=False)
        outbox.close()
        return
    log.info("demo_simulator.started tablets=%d speed=%g", len(live_devices), settings.demo_speed)
    round_number = 0
    try:
        fleet.resend_due(0)
        while not stop.is_set():
            start = datetime.now(UTC)
            stream, pace = live_round(
                1000 + round_number,
                start,
                settings.clinic_timezone,
                speed=settings.demo_speed,
                continues_history=round_number == 0,
            )
            play(stream, fleet, pace, stop, progress=False)
            round_number += 1
    finally:
        fleet.stop()
        outbox.close()
        log.info("demo_simulator.stopped")
