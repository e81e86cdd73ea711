"""The top of the citizen page: the latest value per type with its age and colour, the plan
in words, the tablet's state; and OpenTele's day × measurement table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pust.db.tables import Device, QuestionnaireResponse
from pust.domain.plans import WEEKDAYS
from services.api.citizens.models import ReadingPublic
from services.api.web.formatting import Formatter

_ORDER = {"red": 0, "yellow": 1, "green": 2}


def worst(severities: Sequence[str | None]) -> str | None:
    known = [s for s in severities if s in _ORDER]
    return min(known, key=_ORDER.__getitem__) if known else None


@dataclass(frozen=True, slots=True)
class LatestValue:
    type: str
    name: str
    value: str
    age: str
    at: str
    severity: str | None
    stale: bool  # older than the plan's rhythm would allow (shown quieter)


def latest_values(
    latest: Sequence[ReadingPublic], types: Sequence[str], now: datetime, fmt: Formatter
) -> list[LatestValue]:
    by_type = {r.type: r for r in latest}
    found = []
    for type_ in types:
        reading = by_type.get(type_)
        if reading is None:
            found.append(LatestValue(type_, fmt.type_name(type_), "–", "", "", None, True))
            continue
        found.append(
            LatestValue(
                type=type_,
                name=fmt.type_name(type_),
                value=fmt.measurement(reading.value, type_),
                age=fmt.age_since(reading.measured_at, now),
                at=fmt.datetime(reading.measured_at),
                severity=reading.severity,
                stale=now - reading.measured_at > timedelta(days=7),
            )
        )
    return found


def _times(fmt: Formatter, times: Sequence[str]) -> str:
    # the plan's times are local wall-clock times already: only the separator is Danish
    shown = [t.replace(":", ".") if fmt.language == "da" else t for t in times]
    return ", ".join(shown)


def _days(fmt: Formatter, weekdays: Sequence[str], t: Callable[[str], str]) -> str:
    if len(weekdays) == 7:
        return t("every_day")
    names = [fmt.weekday(d) for d in WEEKDAYS if d in weekdays]
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {t('and')} {names[-1]}"


def plan_text(plan: dict[str, Any], fmt: Formatter, t: Callable[[str], str]) -> list[str]:
    """The plan in sentences: "Indkøring til 7.12: hver dag kl. 08.00, 18.00" …"""
    lines = []
    regular = plan.get("schedule") or {}
    run_in = plan.get("run_in")
    starts = plan.get("starts_on")
    if run_in and starts:
        until = date.fromisoformat(str(starts)) + timedelta(days=int(run_in.get("days", 14)))
        schedule = run_in.get("schedule") or {}
        lines.append(
            f"{t('run_in_until')} {fmt.date(until)}: "
            f"{_days(fmt, schedule.get('weekdays', []), t)} {t('at_time')} "
            f"{_times(fmt, schedule.get('times', []))}"
        )
    if regular:
        lines.append(
            f"{_days(fmt, regular.get('weekdays', []), t)} {t('at_time')} "
            f"{_times(fmt, regular.get('times', []))}"
        )
    what = [fmt.type_name(m) for m in plan.get("measurements", [])]
    what += [fmt.questionnaire(q) for q in plan.get("questionnaires", [])]
    if what:
        lines.append(", ".join(what))
    return lines


@dataclass(frozen=True, slots=True)
class DeviceState:
    id: str
    online: bool | None
    last_seen: str
    last_seen_age: str
    battery: str
    app_version: str
    silent: bool


def device_state(device: Device | None, now: datetime, fmt: Formatter) -> DeviceState | None:
    if device is None:
        return None
    seen = device.last_seen_at
    return DeviceState(
        id=device.id,
        online=device.online,
        last_seen=fmt.datetime(seen),
        last_seen_age=fmt.age_since(seen, now) if seen else "",
        battery=f"{fmt.number(device.battery_pct, 0)} %" if device.battery_pct is not None else "",
        app_version=device.app_version or "",
        silent=seen is None or now - seen > timedelta(hours=48),
    )


@dataclass
class DayCell:
    values: list[str] = field(default_factory=list)
    severity: str | None = None
    invalid: int = 0


@dataclass
class DayRow:
    day: date
    label: str
    cells: dict[str, DayCell]


def day_table(
    *,
    readings: Sequence[ReadingPublic],
    responses: Sequence[QuestionnaireResponse],
    types: Sequence[str],
    start: datetime,
    now: datetime,
    fmt: Formatter,
) -> list[DayRow]:
    """One row per local day (newest first) with the day's values per type, coloured by the
    worst severity; the questionnaire column is the worst severity of the day's answers."""
    rows: dict[date, DayRow] = {}
    first, last = fmt.local(start).date(), fmt.local(now).date()
    day = last
    while day >= first:
        rows[day] = DayRow(day, fmt.day_heading(day), {k: DayCell() for k in (*types, "q")})
        day -= timedelta(days=1)
    for r in sorted(readings, key=lambda r: r.measured_at):
        row = rows.get(fmt.local(r.measured_at).date())
        if row is None or r.type not in row.cells:
            continue
        cell = row.cells[r.type]
        if not r.valid:
            cell.invalid += 1
            continue
        cell.values.append(fmt.value(r.value, r.type))
        cell.severity = worst([cell.severity, r.severity])
    for response in responses:
        row = rows.get(fmt.local(response.answered_at).date())
        if row is None:
            continue
        cell = row.cells["q"]
        cell.values.append(fmt.time(response.answered_at))
        cell.severity = worst([cell.severity, response.severity])
    return [r for r in rows.values() if any(c.values or c.invalid for c in r.cells.values())]
