"""Opening hours, holidays, escalation and out-of-hours routing of a care team, as data.

``CareTeamRouting.policy`` stores a :class:`RoutingPolicy` as JSON. The service is not acute
(BACKGROUND.md): an unacknowledged alert climbs the team's escalation steps (e.g. the team
lead after 2 hours, then the on-call centre), and out of opening hours either goes to the
on-call recipients at once (``on_call``) or waits for the next opening (``queue``) while the
citizen's tablet is told whom to call (GP, 1813, 112).

Escalation times are wall-clock minutes after the alert opened. In ``queue`` mode a step
that falls due out of hours waits for the next opening, and an alert that opens out of hours
starts its clock at the next opening.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pust.domain.plans import WEEKDAYS, Weekday, parse_local_time
from pust.domain.severity import AlertKind, Severity

DEFAULT_OUT_OF_HOURS_NOTICE_DA = (
    "Klinikken er lukket. Ved akut forværring: ring til egen læge, 1813 eller 112."
)


class InvalidRoutingPolicyError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Literal["webhook", "email"]
    address: str = Field(min_length=3, max_length=500)

    @model_validator(mode="after")
    def _address_fits_channel(self) -> Self:
        if self.channel == "webhook" and not self.address.startswith(("https://", "http://")):
            raise ValueError(f"webhook address {self.address!r} is not an http(s) URL")
        if self.channel == "email" and (
            "@" not in self.address or self.address.startswith("@") or " " in self.address
        ):
            raise ValueError(f"e-mail address {self.address!r} is not an address")
        return self


class EscalationStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)  # "team lead", "on-call centre"
    after_minutes: int = Field(ge=0, le=60 * 24 * 14)
    recipients: tuple[Recipient, ...]

    @field_validator("recipients")
    @classmethod
    def _someone(cls, value: tuple[Recipient, ...]) -> tuple[Recipient, ...]:
        if not value:
            raise ValueError("an escalation step needs at least one recipient")
        return value


class OpeningInterval(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    opens: str
    closes: str

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if parse_local_time(self.opens) >= parse_local_time(self.closes):
            raise ValueError(f"opening {self.opens} is not before closing {self.closes}")
        return self


# escalation ladders are chosen by this key: a reading alert by its severity, the rest by kind
LadderKey = Literal["red", "yellow", "missed_measurement", "silent_device", "technical"]


class RoutingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Europe/Copenhagen"
    opening_hours: dict[Weekday, tuple[OpeningInterval, ...]] = Field(default_factory=dict)
    holidays: tuple[date, ...] = ()
    escalation: dict[LadderKey, tuple[EscalationStep, ...]] = Field(default_factory=dict)
    out_of_hours: Literal["on_call", "queue"] = "queue"
    on_call: tuple[Recipient, ...] = ()
    # which ladders go to on-call at once out of hours (on_call mode)
    on_call_for: tuple[LadderKey, ...] = ("red", "technical")
    out_of_hours_notice_da: str = Field(
        default=DEFAULT_OUT_OF_HOURS_NOTICE_DA, min_length=1, max_length=500
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for day, intervals in self.opening_hours.items():
            ordered = sorted(intervals, key=lambda i: parse_local_time(i.opens))
            for first, second in itertools.pairwise(ordered):
                if parse_local_time(second.opens) < parse_local_time(first.closes):
                    raise ValueError(f"opening hours on {day} overlap")
        for ladder, steps in self.escalation.items():
            times = [step.after_minutes for step in steps]
            if times != sorted(times) or len(set(times)) != len(times):
                raise ValueError(f"escalation steps for {ladder} are not in increasing time order")
        if self.out_of_hours == "on_call" and not self.on_call:
            raise ValueError("out-of-hours routing to on-call needs at least one on-call recipient")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def parse_routing_policy(document: Any) -> RoutingPolicy:
    try:
        return RoutingPolicy.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise InvalidRoutingPolicyError(problems) from exc


def ladder_key(kind: AlertKind, severity: Severity) -> LadderKey | None:
    if kind is AlertKind.READING:
        if severity is Severity.RED:
            return "red"
        if severity is Severity.YELLOW:
            return "yellow"
        return None
    if kind is AlertKind.MISSED_MEASUREMENT:
        return "missed_measurement"
    if kind is AlertKind.SILENT_DEVICE:
        return "silent_device"
    if kind in (AlertKind.DATA_QUALITY, AlertKind.WATCH):
        return None  # a check or a watch waits for the clinic: no on-call, no escalation
    return "technical"


def is_open(policy: RoutingPolicy, instant: datetime) -> bool:
    local = instant.astimezone(policy.zone)
    if local.date() in policy.holidays:
        return False
    now = local.time()
    for interval in policy.opening_hours.get(WEEKDAYS[local.weekday()], ()):
        if parse_local_time(interval.opens) <= now < parse_local_time(interval.closes):
            return True
    return False


def next_opening(policy: RoutingPolicy, instant: datetime) -> datetime | None:
    """The first instant at or after ``instant`` when the clinic is open (UTC), or None when
    the policy has no opening hours at all."""
    if is_open(policy, instant):
        return instant
    zone = policy.zone
    day = instant.astimezone(zone).date()
    for _ in range(400):
        if day not in policy.holidays:
            for interval in sorted(
                policy.opening_hours.get(WEEKDAYS[day.weekday()], ()),
                key=lambda i: parse_local_time(i.opens),
            ):
                opens = datetime.combine(day, parse_local_time(interval.opens), tzinfo=zone)
                opens_utc = opens.astimezone(UTC)
                if opens_utc >= instant:
                    return opens_utc
        day += timedelta(days=1)
    return None


def _postpone(policy: RoutingPolicy, due: datetime) -> datetime:
    if policy.out_of_hours != "queue" or not policy.opening_hours:
        return due
    return next_opening(policy, due) or due


def first_escalation_at(
    policy: RoutingPolicy, *, ladder: LadderKey | None, opened_at: datetime
) -> datetime | None:
    """When the first step of the ladder falls due for an alert (re-)opened at
    ``opened_at``; None when the ladder has no steps."""
    step = step_at(policy, ladder=ladder, level=0)
    if step is None:
        return None
    start = _postpone(policy, opened_at)
    return _postpone(policy, start + timedelta(minutes=step.after_minutes))


def following_escalation_at(
    policy: RoutingPolicy, *, ladder: LadderKey | None, level: int, previous_due: datetime
) -> datetime | None:
    """When step ``level`` falls due, given that step ``level - 1`` fell due at
    ``previous_due``: each step waits the difference of the steps' ``after_minutes``."""
    step = step_at(policy, ladder=ladder, level=level)
    previous = step_at(policy, ladder=ladder, level=level - 1)
    if step is None or previous is None:
        return None
    gap = timedelta(minutes=step.after_minutes - previous.after_minutes)
    return _postpone(policy, previous_due + gap)


def step_at(
    policy: RoutingPolicy, *, ladder: LadderKey | None, level: int
) -> EscalationStep | None:
    if ladder is None:
        return None
    steps = policy.escalation.get(ladder, ())
    return steps[level] if level < len(steps) else None


def default_routing_policy() -> RoutingPolicy:
    """Weekday opening 08:00–15:30 in Copenhagen, no recipients configured: alerts queue to
    the next opening and the tablet is told whom to call. A care team adds its steps."""
    weekday_hours = (OpeningInterval(opens="08:00", closes="15:30"),)
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    return RoutingPolicy(opening_hours={day: weekday_hours for day in days})
