"""The cohort directory format (docs/cohort-format.md): parsed into a :class:`Recording`, and
written from one. Pure: the caller reads and writes the files.

Bad input never stops the load and is never skipped silently: each problem is a
:class:`CohortProblem` with the file, the 1-based line and a protocol error code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pust.domain.device_protocol import ErrorCode
from pust.domain.device_protocol.validator import DEVICE_ID_PATTERN
from pust.domain.plans import (
    InvalidPlanError,
    MeasurementPlan,
    default_plan,
    parse_plan,
    tablet_payload,
)
from pust.domain.questionnaires import QUESTIONNAIRES
from pust.evaluation.recording import Episode, RecordedMessage, Recording

FORMAT = "pust-cohort/1"
MESSAGES = "messages.jsonl"
EPISODES = "episodes.jsonl"
PLAN = "plan.json"
MANIFEST = "cohort.json"
OUTSIDE_PERIOD = "outside_period"  # not a protocol code: the line is fine, but not replayed
KINDS = frozenset({"measurements", "questionnaire-responses", "status"})
_MESSAGE_FIELDS = frozenset({"device_id", "kind", "received_at", "payload"})
_EPISODE_FIELDS = frozenset({"device_id", "onset", "end"})


@dataclass(frozen=True, slots=True)
class CohortProblem:
    """One line that could not be used as it is (``line`` 0: the whole file)."""

    file: str
    line: int
    code: str
    message: str

    def describe(self) -> str:
        where = f"{self.file} line {self.line}" if self.line else self.file
        return f"{where}: {self.code} — {self.message}"


class InvalidCohortError(ValueError):
    """The directory cannot be replayed at all (no messages, an unusable plan or manifest)."""

    def __init__(self, problems: list[CohortProblem]) -> None:
        super().__init__("; ".join(p.describe() for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class LoadedCohort:
    recording: Recording
    problems: tuple[CohortProblem, ...]


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _object(text: str, file: str, line: int, problems: list[CohortProblem]) -> Any:
    try:
        document = json.loads(text)
    except ValueError:
        problems.append(CohortProblem(file, line, ErrorCode.INVALID_JSON, "not valid JSON"))
        return None
    if not isinstance(document, dict):
        problems.append(
            CohortProblem(file, line, ErrorCode.SCHEMA_VIOLATION, "a line must be a JSON object")
        )
        return None
    return document


def _schema(file: str, line: int, message: str) -> CohortProblem:
    return CohortProblem(file, line, ErrorCode.SCHEMA_VIOLATION, message)


def _fields(document: dict[str, Any], expected: frozenset[str]) -> str | None:
    missing = sorted(expected - document.keys())
    unknown = sorted(document.keys() - expected)
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    if unknown:
        return f"unknown field(s) {', '.join(unknown)}"
    return None


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for number, text in enumerate(lines, start=1):
        if text.strip():
            yield number, text


def _parse_messages(
    lines: Iterable[str], devices: frozenset[str] | None, problems: list[CohortProblem]
) -> list[RecordedMessage]:
    messages: list[RecordedMessage] = []
    for line, text in _numbered(lines):
        document = _object(text, MESSAGES, line, problems)
        if document is None:
            continue
        wrong = _fields(document, _MESSAGE_FIELDS)
        device_id = document.get("device_id")
        received_at = _timestamp(document.get("received_at"))
        if wrong is not None:
            problems.append(_schema(MESSAGES, line, wrong))
        elif not isinstance(device_id, str):
            problems.append(_schema(MESSAGES, line, "device_id must be a string"))
        elif document["kind"] not in KINDS:
            problems.append(
                _schema(MESSAGES, line, f"kind must be one of {', '.join(sorted(KINDS))}")
            )
        elif received_at is None:
            problems.append(
                _schema(MESSAGES, line, "received_at must be an ISO 8601 time with an offset")
            )
        elif not isinstance(document["payload"], dict):
            problems.append(_schema(MESSAGES, line, "payload must be a JSON object"))
        elif not DEVICE_ID_PATTERN.match(device_id) or (
            devices is not None and device_id not in devices
        ):
            problems.append(
                CohortProblem(
                    MESSAGES,
                    line,
                    ErrorCode.UNKNOWN_DEVICE,
                    "not a valid device id"
                    if not DEVICE_ID_PATTERN.match(device_id)
                    else f"the device is not listed in {MANIFEST}",
                )
            )
        else:
            messages.append(
                RecordedMessage(received_at, device_id, document["kind"], document["payload"], line)
            )
    messages.sort(key=lambda m: m.received_at)  # stable: ties keep the file's order
    return messages


def _parse_episodes(
    lines: Iterable[str], devices: frozenset[str], problems: list[CohortProblem]
) -> tuple[Episode, ...]:
    episodes: list[Episode] = []
    for line, text in _numbered(lines):
        document = _object(text, EPISODES, line, problems)
        if document is None:
            continue
        wrong = _fields(document, _EPISODE_FIELDS | ({"prodrome_from"} & document.keys()))
        onset = _timestamp(document.get("onset"))
        end = _timestamp(document.get("end"))
        prodrome = document.get("prodrome_from")
        prodrome_from = None if prodrome is None else _timestamp(prodrome)
        if wrong is not None:
            problems.append(_schema(EPISODES, line, wrong))
        elif onset is None or end is None:
            problems.append(
                _schema(EPISODES, line, "onset and end must be ISO 8601 times with an offset")
            )
        elif end <= onset:
            problems.append(_schema(EPISODES, line, "end must be after onset"))
        elif prodrome is not None and (prodrome_from is None or prodrome_from > onset):
            problems.append(
                _schema(EPISODES, line, "prodrome_from must be an ISO 8601 time not after onset")
            )
        elif document["device_id"] not in devices:
            problems.append(
                CohortProblem(
                    EPISODES,
                    line,
                    ErrorCode.UNKNOWN_DEVICE,
                    "no citizen of the cohort has this device",
                )
            )
        else:
            episodes.append(Episode(document["device_id"], onset, end, prodrome_from))
    return tuple(episodes)


def plan_from_tablet_payload(document: Any) -> MeasurementPlan:
    """The measuring plan from its protocol form (the tablet's retained ``plan`` message,
    :func:`pust.domain.plans.tablet_payload`); raises :class:`InvalidPlanError`."""
    if not isinstance(document, dict):
        raise InvalidPlanError(["the plan must be a JSON object"])
    phases = document.get("phases")
    if not isinstance(phases, list) or not all(isinstance(p, dict) for p in phases):
        raise InvalidPlanError(["phases: must be a list of objects"])
    by_name = {p.get("name"): p for p in phases}
    problems = [f"phases: unknown phase {n!r}" for n in by_name if n not in ("run_in", "regular")]
    if "regular" not in by_name:
        problems.append("phases: a regular phase is needed")
    if problems:
        raise InvalidPlanError(problems)
    run_in: dict[str, Any] | None = None
    if "run_in" in by_name:
        phase = by_name["run_in"]
        try:
            days = (date.fromisoformat(phase["until"]) - date.fromisoformat(phase["from"])).days
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidPlanError(["phases.run_in: from and until must be dates"]) from exc
        run_in = {
            "days": days,
            "schedule": {"weekdays": phase.get("weekdays"), "times": phase.get("times")},
        }
    regular = by_name["regular"]
    measurements = document.get("measurements")
    return parse_plan(
        {
            "version": document.get("version", 1),
            "timezone": document.get("timezone"),
            "starts_on": document.get("starts_on"),
            "measurements": [m.get("type") if isinstance(m, dict) else m for m in measurements]
            if isinstance(measurements, list)
            else measurements,
            "questionnaires": document.get("questionnaires", []),
            "run_in": run_in,
            "schedule": {"weekdays": regular.get("weekdays"), "times": regular.get("times")},
            "grace_minutes": document.get("grace_minutes", 120),
            "reminder_minutes": document.get("reminder_minutes", [0, 60]),
        }
    )


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def parse_cohort(
    messages: Iterable[str],
    *,
    episodes: Iterable[str] | None = None,
    plan: Any = None,
    manifest: Any = None,
) -> LoadedCohort:
    """A recording from the files' contents (``plan`` and ``manifest``: parsed JSON or
    ``None`` when the file is absent). Raises :class:`InvalidCohortError` only when nothing
    can be replayed: an unusable plan or manifest, or no usable message."""
    problems: list[CohortProblem] = []
    start: datetime | None = None
    days: int | None = None
    roster: tuple[str, ...] | None = None
    if manifest is not None:
        start, days, roster = _parse_manifest(manifest)
    measurement_plan: MeasurementPlan | None = None
    if plan is not None:
        try:
            measurement_plan = plan_from_tablet_payload(plan)
        except InvalidPlanError as exc:
            raise InvalidCohortError(
                [CohortProblem(PLAN, 0, ErrorCode.SCHEMA_VIOLATION, p) for p in exc.problems]
            ) from exc
    recorded = _parse_messages(messages, frozenset(roster) if roster else None, problems)
    if not recorded:
        raise InvalidCohortError(
            [*problems, CohortProblem(MESSAGES, 0, ErrorCode.SCHEMA_VIOLATION, "no usable message")]
        )
    if measurement_plan is None:
        zone = ZoneInfo("Europe/Copenhagen")
        first_day = (start or recorded[0].received_at).astimezone(zone).date()
        measurement_plan = default_plan(starts_on=first_day)
    zone = measurement_plan.zone
    if start is None:
        start = _local_midnight(measurement_plan.starts_on, zone)
    if days is None:  # up to and including the day of the last message
        last = recorded[-1].received_at
        days = max(1, math.floor((last - start) / timedelta(days=1)) + 1)
    end = start + timedelta(days=days)
    problems.extend(
        CohortProblem(
            MESSAGES,
            m.line or 0,
            OUTSIDE_PERIOD,
            f"received after the period {MANIFEST} gives (until {end.isoformat()})",
        )
        for m in recorded
        if m.received_at >= end
    )
    recorded = [m for m in recorded if m.received_at < end]
    devices = roster or tuple(sorted({m.device_id for m in recorded}))
    truth = (
        _parse_episodes(episodes, frozenset(devices), problems) if episodes is not None else None
    )
    recording = Recording(
        start=start,
        days=days,
        device_ids=devices,
        messages=tuple(recorded),
        plan=measurement_plan,
        episodes=truth,
    )
    return LoadedCohort(recording, tuple(sorted(problems, key=lambda p: (p.file, p.line))))


def _parse_manifest(document: Any) -> tuple[datetime, int, tuple[str, ...]]:
    def bad(message: str) -> InvalidCohortError:
        return InvalidCohortError([CohortProblem(MANIFEST, 0, ErrorCode.SCHEMA_VIOLATION, message)])

    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise bad(f"must be an object with format {FORMAT!r}")
    start = _timestamp(document.get("start"))
    days = document.get("days")
    devices = document.get("devices")
    if start is None:
        raise bad("start must be an ISO 8601 time with an offset")
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise bad("days must be a positive whole number")
    if not isinstance(devices, list) or not devices or not all(isinstance(d, str) for d in devices):
        raise bad("devices must be a non-empty list of device ids")
    invalid = [d for d in devices if not DEVICE_ID_PATTERN.match(d)]
    if invalid:
        raise bad(f"not valid device ids: {', '.join(invalid)}")
    return start, days, tuple(devices)


@dataclass(frozen=True, slots=True)
class CohortFiles:
    """What :func:`export_cohort` writes: file name → text."""

    files: dict[str, str]


def export_cohort(recording: Recording) -> CohortFiles:
    """The recording in the cohort format (messages in the order received)."""
    end = recording.start + timedelta(days=recording.days)
    message_lines = [
        json.dumps(
            {
                "device_id": m.device_id,
                "kind": m.kind,
                "received_at": m.received_at.isoformat(),
                "payload": m.payload,
            },
            ensure_ascii=False,
        )
        for m in recording.messages
        if m.received_at < end
    ]
    manifest = {
        "format": FORMAT,
        "start": recording.start.isoformat(),
        "days": recording.days,
        "devices": list(recording.device_ids),
    }
    files = {
        MANIFEST: json.dumps(manifest, indent=2) + "\n",
        MESSAGES: "".join(line + "\n" for line in message_lines),
        PLAN: json.dumps(
            tablet_payload(recording.plan, recording.plan.version, QUESTIONNAIRES),
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
    }
    if recording.episodes is not None:
        files[EPISODES] = "".join(
            json.dumps(
                {
                    "device_id": e.device_id,
                    "onset": e.onset.isoformat(),
                    "end": e.end.isoformat(),
                    **(
                        {}
                        if e.prodrome_from is None
                        else {"prodrome_from": e.prodrome_from.isoformat()}
                    ),
                }
            )
            + "\n"
            for e in recording.episodes
        )
    return CohortFiles(files)


__all__ = [
    "FORMAT",
    "CohortFiles",
    "CohortProblem",
    "InvalidCohortError",
    "LoadedCohort",
    "export_cohort",
    "parse_cohort",
    "plan_from_tablet_payload",
]
