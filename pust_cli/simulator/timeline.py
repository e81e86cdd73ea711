"""What each simulated tablet sends, day by day: readings, questionnaire answers, status.

Everything a real tablet does wrong now and then is here: missed slots, late uploads, silent
hours (messages wait in the outbox and go out when the tablet is back), manual entries and
wrong units. The stream is ordered by publish time and reproducible from the cohort seed.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pust.domain.measurement_types import MeasurementType
from pust.domain.plans import WEEKDAYS, MeasurementPlan, RunIn, Schedule, Weekday, due_times
from pust.domain.questionnaires import KOL_SYMPTOMS_V1
from pust.messaging.topics import DeviceChannel
from pust_cli.simulator.cohort import CitizenProfile, Cohort, citizen_random
from pust_cli.simulator.messages import SimMessage, message_id, wire_time
from pust_cli.simulator.readings import Slot, slot_messages

# How often citizens miss a slot and what a reminder does (the missed-day model):
#
# - a citizen measures at a planned slot with probability ``CitizenProfile.adherence``,
#   drawn per citizen from U(0.75, 0.98) (mean ≈ 0.87), independently per slot. Source:
#   BACKGROUND.md gives no adherence figure; the range is of the order reported for COPD
#   telehealth, e.g. Tabak et al., Int J Chron Obstruct Pulmon Dis 2014;9:935-944 (a COPD
#   telehealth programme with a daily symptom diary was used on 86 % of treatment days).
#   Independent draws are an assumption: real misses cluster (a weekend away, a bad
#   week), which this model does not capture.
# - after a missed slot, pust reminds the citizen on the tablet once the grace has passed;
#   with probability ``SimPlan.reminder_response`` the citizen then measures the same day,
#   10 min to 3 h after the reminder (never after midnight). REMINDER_RESPONSE = 0.5 is an
#   ASSUMPTION, not a measured figure: we found no study of same-day responses to tablet
#   reminders in COPD telemonitoring. The draws come from a stream of their own, so the
#   rest of the cohort (readings, misses, silences) is the same with and without reminders.
REMINDER_RESPONSE = 0.5
REMINDER_DELAY_MINUTES = (10.0, 180.0)


@dataclass(frozen=True, slots=True)
class SimPlan:
    """When the simulated citizens are asked to measure: a :class:`MeasurementPlan` of the
    domain (the same plan the missed-measurement check uses), starting on the first day.

    The default measures twice a day during the 14-day run-in, then every morning. The
    first due time of a day is a full session (oximeter, spirometer, scale, thermometer,
    questionnaire); later ones are the oximeter only. On a bad day without a due time a
    citizen may measure anyway (symptom-driven)."""

    timezone: str = "Europe/Copenhagen"
    run_in_days: int = 14
    run_in_times: tuple[str, ...] = ("08:00", "18:00")
    weekdays: tuple[Weekday, ...] = WEEKDAYS
    times: tuple[str, ...] = ("08:00",)
    grace_minutes: int = 120
    status_interval: timedelta = timedelta(minutes=15)
    include_status: bool = True
    # chance that a citizen who missed a slot measures later the same day after pust's
    # reminder on the tablet (sent by the missed-measurement sweep once the grace is over);
    # 0: no reminders. See REMINDER_RESPONSE.
    reminder_response: float = REMINDER_RESPONSE

    def measurement_plan(self, starts_on: date) -> MeasurementPlan:
        run_in = (
            RunIn(
                days=self.run_in_days, schedule=Schedule(weekdays=WEEKDAYS, times=self.run_in_times)
            )
            if self.run_in_days > 0
            else None
        )
        return MeasurementPlan(
            timezone=self.timezone,
            starts_on=starts_on,
            measurements=(
                MeasurementType.SPO2,
                MeasurementType.PULSE,
                MeasurementType.WEIGHT,
                MeasurementType.FEV1,
            ),
            questionnaires=(KOL_SYMPTOMS_V1.id,),
            run_in=run_in,
            schedule=Schedule(weekdays=self.weekdays, times=self.times),
            grace_minutes=self.grace_minutes,
            reminder_minutes=(0,),
        )


@dataclass(slots=True)
class _Tablet:
    profile: CitizenProfile
    rng: random.Random
    silences: list[tuple[datetime, datetime]] = field(default_factory=list)
    reminders: random.Random | None = None  # the reminder responses' own stream


@dataclass(frozen=True, slots=True)
class Silence:
    """Ground truth: the tablet sent nothing between ``start`` and ``end``."""

    device_id: str
    start: datetime
    end: datetime


def cohort_messages(cohort: Cohort, plan: SimPlan) -> Iterator[SimMessage]:
    """Every message of the cohort, ordered by publish time (ties: device, then order)."""
    streams = [citizen_messages(cohort, plan, profile) for profile in cohort.citizens]
    return heapq.merge(*streams, key=lambda m: (m.publish_at, m.device_id))


def cohort_silences(cohort: Cohort, plan: SimPlan) -> list[Silence]:
    """The silent windows of every tablet (the same draws as the message stream)."""
    silences: list[Silence] = []
    tz = ZoneInfo(plan.timezone)
    for profile in cohort.citizens:
        tablet = _Tablet(profile, citizen_random(cohort.spec.seed, profile.index, "days"))
        for day in range(cohort.spec.days):
            _day_messages(tablet, cohort, plan, tz, day)
        silences.extend(Silence(profile.device_id, s, e) for s, e in tablet.silences)
    return silences


def citizen_messages(
    cohort: Cohort, plan: SimPlan, profile: CitizenProfile
) -> Iterator[SimMessage]:
    tz = ZoneInfo(plan.timezone)
    tablet = _Tablet(
        profile,
        citizen_random(cohort.spec.seed, profile.index, "days"),
        reminders=citizen_random(cohort.spec.seed, profile.index, "reminders"),
    )
    pending: list[tuple[datetime, int, SimMessage]] = []
    counter = itertools.count()
    for day in range(cohort.spec.days):
        for message in _day_messages(tablet, cohort, plan, tz, day):
            heapq.heappush(pending, (message.publish_at, next(counter), message))
        # nothing generated later can be published before the next day starts
        horizon = _day_start(cohort, tz, day + 1)
        while pending and pending[0][0] < horizon:
            yield heapq.heappop(pending)[2]
    while pending:
        yield heapq.heappop(pending)[2]


def _day_start(cohort: Cohort, tz: ZoneInfo, day: int) -> datetime:
    first = cohort.spec.start.astimezone(tz).date()
    local = datetime.combine(first + timedelta(days=day), time(0, 0), tzinfo=tz)
    return local.astimezone(cohort.spec.start.tzinfo)


def _day_messages(
    tablet: _Tablet, cohort: Cohort, plan: SimPlan, tz: ZoneInfo, day: int
) -> list[SimMessage]:
    rng = tablet.rng
    profile = tablet.profile
    day_start = _day_start(cohort, tz, day)
    day_end = _day_start(cohort, tz, day + 1)
    if rng.random() < profile.silent_rate:
        start = day_start + timedelta(hours=rng.uniform(0, 24))
        tablet.silences.append((start, start + timedelta(hours=rng.uniform(2, 30))))
    messages: list[SimMessage] = []
    domain_plan = plan.measurement_plan(cohort.spec.start.astimezone(tz).date())
    due = due_times(domain_plan, day_start, day_end)
    # feeling worse is the symptoms (cohort.py: they lead the physiology)
    effect = profile.symptom_effect(day_start + timedelta(hours=10))
    bad_day_extra = rng.random() < 0.6
    if not due and effect > 0.5 and bad_day_extra:
        due = [day_start + timedelta(hours=10)]  # feeling worse: measures without being asked
    for position, planned in enumerate(due):
        if rng.random() >= profile.adherence:
            # missed: the citizen did not measure; perhaps later, after the reminder
            messages.extend(
                _after_reminder(
                    tablet, plan, tz=tz, planned=planned, position=position, day_end=day_end
                )
            )
            continue
        jitter = min(90.0, max(-30.0, rng.gauss(10.0, 20.0)))
        measured = planned + timedelta(minutes=jitter)
        if rng.random() < profile.late_upload_rate:
            delay = timedelta(hours=rng.uniform(1, 72))
        else:
            delay = timedelta(seconds=rng.uniform(2, 20))
        slot = Slot(measured, is_morning=position == 0, upload_delay=delay)
        for message in slot_messages(profile, rng, slot, tz):
            messages.append(_after_silences(tablet, message, tz))
    if plan.include_status:
        messages.extend(_status_messages(tablet, plan, tz, day_start, day_end))
    return messages


def _after_reminder(
    tablet: _Tablet,
    plan: SimPlan,
    *,
    tz: ZoneInfo,
    planned: datetime,
    position: int,
    day_end: datetime,
) -> list[SimMessage]:
    """The citizen's late measurement after the reminder of a missed slot, if any."""
    rng = tablet.reminders
    if rng is None or plan.reminder_response <= 0.0:
        return []
    responds = rng.random() < plan.reminder_response
    delay = rng.uniform(*REMINDER_DELAY_MINUTES)
    reminded = planned + timedelta(minutes=plan.grace_minutes + 1)
    measured = reminded + timedelta(minutes=delay)
    if not responds or measured >= day_end:
        return []
    slot = Slot(measured, is_morning=position == 0, upload_delay=timedelta(seconds=5))
    return [
        _after_silences(tablet, message, tz)
        for message in slot_messages(tablet.profile, rng, slot, tz)
    ]


def _after_silences(tablet: _Tablet, message: SimMessage, tz: ZoneInfo) -> SimMessage:
    """A message made while the tablet is silent waits in its outbox until it is back."""
    for start, end in tablet.silences:
        if start <= message.publish_at < end:
            delay = end + timedelta(seconds=5) - message.publish_at
            payload = dict(message.payload)
            payload["sent_at"] = wire_time(message.publish_at + delay, tz)
            return SimMessage(
                message.publish_at + delay, message.device_id, message.channel, payload
            )
    return message


def _status_messages(
    tablet: _Tablet, plan: SimPlan, tz: ZoneInfo, day_start: datetime, day_end: datetime
) -> list[SimMessage]:
    rng = tablet.rng
    moments: list[datetime] = []
    moment = day_start + timedelta(seconds=rng.uniform(0, plan.status_interval.total_seconds()))
    while moment < day_end:
        if not any(start <= moment < end for start, end in tablet.silences):
            moments.append(moment)
        moment += plan.status_interval
    moments.extend(end for _, end in tablet.silences if day_start <= end < day_end)
    battery = rng.randint(20, 100)
    return [
        SimMessage(
            at,
            tablet.profile.device_id,
            DeviceChannel.STATUS,
            {
                "message_id": message_id(rng),
                "sent_at": wire_time(at, tz),
                "battery_pct": battery,
                "app_version": "2.3.1",
                "outbox_depth": 0,
                "clock_synced": True,
            },
        )
        for at in sorted(moments)
    ]
