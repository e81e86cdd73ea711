"""FHIR search parameters: dates with prefixes, tokens, references, paging. Pure functions;
a malformed value raises :class:`SearchError` (answered as a 400 OperationOutcome)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DEFAULT_COUNT = 50
MAX_COUNT = 500
MAX_OFFSET = 1_000_000
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$")


class SearchError(ValueError):
    """A search parameter the server cannot use; the message names the parameter only."""


@dataclass(frozen=True, slots=True)
class DateBound:
    """``column >= start`` and/or ``column < end`` (half-open), from one date parameter."""

    start: datetime | None
    end: datetime | None


def _range(value: str, name: str) -> tuple[datetime, datetime]:
    """The instant range a FHIR date value covers at its precision."""
    try:
        if _YEAR.match(value):
            start = datetime(int(value), 1, 1, tzinfo=UTC)
            return start, datetime(start.year + 1, 1, 1, tzinfo=UTC)
        if _MONTH.match(value):
            year, month = (int(p) for p in value.split("-"))
            start = datetime(year, month, 1, tzinfo=UTC)
            end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
            return start, end
        if _DAY.match(value):
            day = date.fromisoformat(value)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start, start + timedelta(days=1)
        if _DATETIME.match(value):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            moment = moment.astimezone(UTC)
            precision = timedelta(seconds=1) if value.count(":") >= 2 else timedelta(minutes=1)
            if "." in value.split("T")[1]:
                precision = timedelta(microseconds=1)
            return moment, moment + precision
    except (ValueError, OverflowError) as exc:
        raise SearchError(f"{name}: not a valid date") from exc
    raise SearchError(f"{name}: not a valid date")


def parse_date(raw: str, name: str) -> DateBound:
    prefix, value = "eq", raw
    if raw[:2] in _PREFIXES and not raw[:2].isdigit():
        prefix, value = raw[:2], raw[2:]
    if prefix in ("ne", "ap"):
        raise SearchError(f"{name}: prefix {prefix} is not supported")
    start, end = _range(value, name)
    if prefix == "eq":
        return DateBound(start, end)
    if prefix in ("gt", "sa"):
        return DateBound(end, None)
    if prefix == "ge":
        return DateBound(start, None)
    if prefix in ("lt", "eb"):
        return DateBound(None, start)
    return DateBound(None, end)  # le


def parse_dates(values: list[str], name: str) -> list[DateBound]:
    return [parse_date(v, name) for v in values]


def parse_patient(raw: str, name: str) -> uuid.UUID:
    """``Patient/<uuid>``, ``<uuid>`` or a full URL ending in ``Patient/<uuid>``."""
    value = raw.rsplit("/", 1)[-1] if "/" in raw else raw
    if "/" in raw and raw.rsplit("/", 2)[-2] != "Patient":
        raise SearchError(f"{name}: only Patient references are supported")
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise SearchError(f"{name}: not a Patient id") from exc


@dataclass(frozen=True, slots=True)
class Token:
    system: str | None  # None: any system; "": no system
    code: str


def parse_tokens(raw: str, name: str) -> list[Token]:
    """Comma-separated alternatives, each ``system|code``, ``|code`` or ``code``."""
    tokens = []
    for part in raw.split(","):
        if not part:
            raise SearchError(f"{name}: empty token")
        if "|" in part:
            system, code = part.split("|", 1)
            tokens.append(Token(system, code))
        else:
            tokens.append(Token(None, part))
    return tokens


def parse_count(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_COUNT
    try:
        count = int(raw)
    except ValueError as exc:
        raise SearchError("_count: not a number") from exc
    if count < 0:
        raise SearchError("_count: must not be negative")
    return min(count, MAX_COUNT)


def parse_offset(raw: str | None) -> int:
    if raw is None:
        return 0
    try:
        offset = int(raw)
    except ValueError as exc:
        raise SearchError("_offset: not a number") from exc
    if not 0 <= offset <= MAX_OFFSET:
        raise SearchError("_offset: out of range")
    return offset
