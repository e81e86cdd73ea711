"""The citizen's measurement plan: what to measure, on which weekdays, at which local times.

Danish programmes measure twice a day during a 14-day run-in (which sets the personal
baselines) and then twice a week on fixed weekdays (BACKGROUND.md). Times are local wall
clock times in the clinic's time zone; :func:`due_times` turns them into UTC instants that
survive the DST changes (a time in the spring gap moves forward by the gap; a time in the
autumn fold is due once, at its first occurrence).

The plan is stored as JSON in ``Plan.schedule`` and published, retained, to the tablet's
``plan`` topic as :func:`tablet_payload`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pust.domain.measurement_types import SPECS, MeasurementType
from pust.domain.questionnaires import QUESTIONNAIRES, Questionnaire

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PLAN_SCHEMA = "pust.plan/1"


class InvalidPlanError(ValueError):
    """A plan with impossible times or unknown types; ``problems`` lists each problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_local_time(text: str) -> time:
    """``HH:MM`` on a 24-hour clock; anything else (``24:00``, ``7:5``, ``12:60``) is refused."""
    if len(text) != 5 or text[2] != ":" or not (text[:2] + text[3:]).isdigit():
        raise ValueError(f"time {text!r} is not HH:MM")
    hour, minute = int(text[:2]), int(text[3:])
    if hour > 23 or minute > 59:
        raise ValueError(f"time {text!r} does not exist on a 24-hour clock")
    return time(hour, minute)


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weekdays: tuple[Weekday, ...] = Field(min_length=1)
    times: tuple[str, ...] = Field(min_length=1, max_length=6)

    @field_validator("times")
    @classmethod
    def _valid_times(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parsed = [parse_local_time(text) for text in value]
        if len(set(parsed)) != len(parsed):
            raise ValueError("a time is listed twice")
        return tuple(sorted(value))

    @field_validator("weekdays")
    @classmethod
    def _unique_weekdays(cls, value: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a weekday is listed twice")
        return tuple(sorted(value, key=WEEKDAYS.index))

    def local_times(self) -> list[time]:
        return [parse_local_time(text) for text in self.times]

    def applies_on(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.weekdays


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    days: int = Field(default=14, ge=1, le=60)
    schedule: Schedule


class MeasurementPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=1, ge=1)
    timezone: str = "Europe/Copenhagen"
    starts_on: date
    measurements: tuple[MeasurementType, ...] = ()
    questionnaires: tuple[str, ...] = ()
    run_in: RunIn | None = None
    schedule: Schedule
    # how long after a due time a submission still counts before the slot is "missed"
    grace_minutes: int = Field(default=120, ge=15, le=720)
    # reminders on the tablet, minutes after the due time (0 = at the due time)
    reminder_minutes: tuple[int, ...] = (0, 60)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("questionnaires")
    @classmethod
    def _known_questionnaires(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in QUESTIONNAIRES:
                raise ValueError(f"unknown questionnaire {name!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.measurements and not self.questionnaires:
            raise ValueError("a plan needs at least one measurement or questionnaire")
        if len(set(self.measurements)) != len(self.measurements):
            raise ValueError("a measurement type is listed twice")
        for minutes in self.reminder_minutes:
            if not 0 <= minutes < self.grace_minutes:
                raise ValueError(
                    f"reminder {minutes} min after the due time is outside the grace period "
                    f"({self.grace_minutes} min)"
                )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.grace_minutes)

    @property
    def regular_from(self) -> date:
        """The first local date of the regular schedule (after the run-in)."""
        return self.starts_on + timedelta(days=self.run_in.days if self.run_in else 0)

    def schedule_on(self, day: date) -> Schedule | None:
        if day < self.starts_on:
            return None
        if self.run_in is not None and day < self.regular_from:
            return self.run_in.schedule
        return self.schedule

    def to_json(self) -> dict[str, Any]:
        """The document stored in ``Plan.schedule``."""
        return self.model_dump(mode="json")


def parse_plan(document: Any) -> MeasurementPlan:
    """Validate a stored or submitted plan; raises :class:`InvalidPlanError`."""
    try:
        return MeasurementPlan.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise InvalidPlanError(problems) from exc


def default_plan(
    *, starts_on: date, version: int = 1, timezone: str = "Europe/Copenhagen"
) -> MeasurementPlan:
    """Twice a day for the 14-day run-in, then twice a week (Monday and Thursday morning)."""
    return MeasurementPlan(
        version=version,
        timezone=timezone,
        starts_on=starts_on,
        measurements=(
            MeasurementType.SPO2,
            MeasurementType.PULSE,
            MeasurementType.WEIGHT,
            MeasurementType.FEV1,
        ),
        questionnaires=("kol-symptoms-v1",),
        run_in=RunIn(days=14, schedule=Schedule(weekdays=WEEKDAYS, times=("08:00", "18:00"))),
        schedule=Schedule(weekdays=("mon", "thu"), times=("09:00",)),
    )


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time. A time in the spring gap (02:30 on the last
    Sunday of March) moves forward by the gap; a time in the autumn fold is its first
    occurrence (``fold=0``), so every slot is due exactly once."""
    local = datetime.combine(day, at, tzinfo=zone)
    return local.astimezone(UTC)


def due_times(plan: MeasurementPlan, start: datetime, end: datetime) -> list[datetime]:
    """Every due time of the plan in ``[start, end)``, as UTC instants, in order."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("due_times needs timezone-aware bounds")
    zone = plan.zone
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    found: set[datetime] = set()
    day = max(first, plan.starts_on)
    while day <= last:
        schedule = plan.schedule_on(day)
        if schedule is not None and schedule.applies_on(day):
            for at in schedule.local_times():
                instant = local_to_utc(day, at, zone)
                if start <= instant < end:
                    found.add(instant)
        day += timedelta(days=1)
    return sorted(found)


def _questionnaire_definition(questionnaire: Questionnaire) -> dict[str, Any]:
    return {
        "id": questionnaire.id,
        "version": questionnaire.version,
        "title_da": questionnaire.title_da,
        "items": [
            {
                "id": item.id,
                "text_da": item.text_da,
                "answer_type": item.answer_type.value,
                "required": item.required,
                **({"minimum": item.minimum} if item.minimum is not None else {}),
                **({"maximum": item.maximum} if item.maximum is not None else {}),
            }
            for item in questionnaire.items
        ],
    }


def _phase(name: str, start: date, until: date | None, schedule: Schedule) -> dict[str, Any]:
    return {
        "name": name,
        "from": start.isoformat(),
        "until": until.isoformat() if until else None,
        "weekdays": list(schedule.weekdays),
        "times": list(schedule.times),
    }


def tablet_payload(
    plan: MeasurementPlan,
    version: int,
    questionnaires: Mapping[str, Questionnaire] | Iterable[Questionnaire],
) -> dict[str, Any]:
    """The JSON published retained on the tablet's ``plan`` topic (device protocol v1).

    ``version`` is the stored plan version (it only increases); ``questionnaires`` supplies
    the definitions, with Danish texts, of the questionnaires the plan names. Phases are
    half-open local date ranges ``[from, until)``; times are local in ``timezone``."""
    available = (
        dict(questionnaires)
        if isinstance(questionnaires, Mapping)
        else {q.id: q for q in questionnaires}
    )
    missing = [name for name in plan.questionnaires if name not in available]
    if missing:
        raise ValueError(f"no definition given for questionnaire(s) {', '.join(missing)}")
    phases = []
    if plan.run_in is not None:
        phases.append(_phase("run_in", plan.starts_on, plan.regular_from, plan.run_in.schedule))
    phases.append(_phase("regular", plan.regular_from, None, plan.schedule))
    return {
        "schema": PLAN_SCHEMA,
        "version": version,
        "timezone": plan.timezone,
        "starts_on": plan.starts_on.isoformat(),
        "grace_minutes": plan.grace_minutes,
        "reminder_minutes": list(plan.reminder_minutes),
        "measurements": [
            {"type": t.value, "unit": SPECS[t].unit, "name_da": SPECS[t].danish_name}
            for t in plan.measurements
        ],
        "questionnaires": list(plan.questionnaires),
        "phases": phases,
        "questionnaire_definitions": [
            _questionnaire_definition(available[name]) for name in plan.questionnaires
        ],
    }
