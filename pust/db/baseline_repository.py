"""Personal baselines in the database: the run-in median (set once the run-in is over) and a
clinician's re-set. The caller owns the transaction.

A baseline row is never edited: a new one supersedes the old (``superseded_at``), so the
history of who set what and why stays."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from pust.db.lean import among, table_of
from pust.db.tables.clinical import Baseline
from pust.db.tables.readings import QuestionnaireResponse, Reading
from pust.domain.baselines import (
    BaselineMethod,
    TimedValue,
    run_in_baseline,
    run_in_complete,
    run_in_window,
    validate_clinician_baseline,
)
from pust.domain.measurement_types import MeasurementType

_B = table_of(Baseline)


def current_baselines(session: Session, citizen_id: uuid.UUID) -> dict[str, float]:
    return current_baselines_of(session, [citizen_id]).get(citizen_id, {})


def current_baselines_of(
    session: Session, citizen_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, float]]:
    """The current baselines of several citizens in one query."""
    rows = session.execute(
        select(_B.c.citizen_id, _B.c.type, _B.c.value)
        .where(among(session, _B.c.citizen_id, citizen_ids), _B.c.superseded_at.is_(None))
        .order_by(_B.c.set_at)
    ).all()
    found: dict[uuid.UUID, dict[str, float]] = {}
    for citizen_id, type_, value in rows:  # the newest wins if two were ever written
        found.setdefault(citizen_id, {})[type_] = value
    return found


def _run_in_values(
    session: Session, citizen_id: uuid.UUID, type_: str, started_at: datetime
) -> list[TimedValue]:
    start, end = run_in_window(started_at)
    if type_ in {t.value for t in MeasurementType}:
        readings = session.exec(
            select(Reading.measured_at, Reading.value).where(
                Reading.citizen_id == citizen_id,
                Reading.type == type_,
                col(Reading.valid).is_(True),
                Reading.measured_at >= start,
                Reading.measured_at < end,
            )
        ).all()
        return [TimedValue(at, value) for at, value in readings]
    responses = session.exec(
        select(QuestionnaireResponse.answered_at, QuestionnaireResponse.answers).where(
            QuestionnaireResponse.citizen_id == citizen_id,
            col(QuestionnaireResponse.valid).is_(True),
            QuestionnaireResponse.answered_at >= start,
            QuestionnaireResponse.answered_at < end,
        )
    ).all()
    values = []
    for answered_at, answers in responses:
        for answer in answers:
            if answer.get("item") == type_ and isinstance(answer.get("value"), int | float):
                values.append(TimedValue(answered_at, float(answer["value"])))
    return values


def ensure_run_in_baselines(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    monitoring_started_at: datetime,
    types: Iterable[str],
    now: datetime,
) -> dict[str, float]:
    """The citizen's baselines, first setting the run-in median of each wanted type that has
    none yet when the run-in is over and has enough values."""
    baselines = current_baselines(session, citizen_id)
    set_now, _ = fill_run_in_baselines(
        session,
        citizen_id=citizen_id,
        monitoring_started_at=monitoring_started_at,
        missing=set(types) - baselines.keys(),
        now=now,
    )
    return baselines | set_now


def fill_run_in_baselines(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    monitoring_started_at: datetime,
    missing: Iterable[str],
    now: datetime,
) -> tuple[dict[str, float], set[str]]:
    """Set the run-in median of each ``missing`` type once the run-in is over. Returns the
    baselines set and the types whose run-in had too few values (no baseline possible)."""
    if not run_in_complete(monitoring_started_at, now):
        return {}, set()
    set_now: dict[str, float] = {}
    too_few: set[str] = set()
    for type_ in sorted(missing):
        values = _run_in_values(session, citizen_id, type_, monitoring_started_at)
        value = run_in_baseline(type_, values, monitoring_started_at=monitoring_started_at)
        if value is None:
            too_few.add(type_)
            continue
        session.add(
            Baseline(
                citizen_id=citizen_id,
                type=type_,
                value=value,
                method=BaselineMethod.RUN_IN_MEDIAN.value,
                set_at=now,
            )
        )
        set_now[type_] = value
    if set_now:
        session.flush()
    return set_now, too_few


@dataclass(frozen=True, slots=True)
class RunInWanted:
    """One citizen's baselines to take from the run-in (``missing``: types or scored items)."""

    citizen_id: uuid.UUID
    monitoring_started_at: datetime
    missing: frozenset[str]


def fill_run_in_baselines_of(
    session: Session, wanted: Iterable[RunInWanted], *, now: datetime
) -> dict[uuid.UUID, tuple[dict[str, float], set[str]]]:
    """:func:`fill_run_in_baselines` for many citizens at once: one query for the run-in
    readings of all of them (citizens that started on the same day share one condition),
    one for the run-in questionnaire answers when a scored item is missing, one flush.
    Returns per citizen the baselines set and the types that had too few values."""
    due = [w for w in wanted if w.missing and run_in_complete(w.monitoring_started_at, now)]
    if not due:
        return {}
    measured = {t.value for t in MeasurementType}
    values: dict[tuple[uuid.UUID, str], list[TimedValue]] = {}
    by_start: dict[datetime, set[uuid.UUID]] = {}
    for want in due:
        by_start.setdefault(want.monitoring_started_at, set()).add(want.citizen_id)
    reading_types = sorted({t for w in due for t in w.missing if t in measured})
    if reading_types:
        windows = []
        for started_at, citizens in by_start.items():
            start, end = run_in_window(started_at)
            windows.append(
                and_(
                    col(Reading.citizen_id).in_(sorted(citizens)),
                    col(Reading.measured_at) >= start,
                    col(Reading.measured_at) < end,
                )
            )
        for citizen_id, type_, at, value in session.exec(
            select(Reading.citizen_id, Reading.type, Reading.measured_at, Reading.value).where(
                col(Reading.type).in_(reading_types), col(Reading.valid).is_(True), or_(*windows)
            )
        ).all():
            values.setdefault((citizen_id, type_), []).append(TimedValue(at, value))
    if any(t not in measured for w in due for t in w.missing):
        windows = []
        for started_at, citizens in by_start.items():
            start, end = run_in_window(started_at)
            windows.append(
                and_(
                    col(QuestionnaireResponse.citizen_id).in_(sorted(citizens)),
                    col(QuestionnaireResponse.answered_at) >= start,
                    col(QuestionnaireResponse.answered_at) < end,
                )
            )
        for citizen_id, answered_at, answers in session.exec(
            select(
                QuestionnaireResponse.citizen_id,
                QuestionnaireResponse.answered_at,
                QuestionnaireResponse.answers,
            ).where(col(QuestionnaireResponse.valid).is_(True), or_(*windows))
        ).all():
            for answer in answers:
                item, value = answer.get("item"), answer.get("value")
                if isinstance(value, int | float):
                    values.setdefault((citizen_id, str(item)), []).append(
                        TimedValue(answered_at, float(value))
                    )
    found: dict[uuid.UUID, tuple[dict[str, float], set[str]]] = {}
    added = False
    for want in due:
        set_now: dict[str, float] = {}
        too_few: set[str] = set()
        for type_ in sorted(want.missing):
            median = run_in_baseline(
                type_,
                values.get((want.citizen_id, type_), []),
                monitoring_started_at=want.monitoring_started_at,
            )
            if median is None:
                too_few.add(type_)
                continue
            session.add(
                Baseline(
                    citizen_id=want.citizen_id,
                    type=type_,
                    value=median,
                    method=BaselineMethod.RUN_IN_MEDIAN.value,
                    set_at=now,
                )
            )
            added = True
            set_now[type_] = median
        found[want.citizen_id] = (set_now, too_few)
    if added:
        session.flush()
    return found


def _supersede(session: Session, citizen_id: uuid.UUID, type_: str, now: datetime) -> None:
    for row in session.exec(
        select(Baseline).where(
            Baseline.citizen_id == citizen_id,
            Baseline.type == type_,
            col(Baseline.superseded_at).is_(None),
        )
    ).all():
        row.superseded_at = now


def set_clinician_baseline(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    type_: str,
    value: float,
    reason: str,
    set_by: uuid.UUID,
    now: datetime,
) -> Baseline:
    """A clinician re-sets a baseline (with a reason); the old one is kept, superseded."""
    validate_clinician_baseline(value, reason)
    _supersede(session, citizen_id, type_, now)
    row = Baseline(
        citizen_id=citizen_id,
        type=type_,
        value=value,
        method=BaselineMethod.CLINICIAN.value,
        reason=reason,
        set_by=set_by,
        set_at=now,
    )
    session.add(row)
    session.flush()
    return row


def clear_baseline(session: Session, *, citizen_id: uuid.UUID, type_: str, now: datetime) -> None:
    """Drop the current baseline so that a new run-in median is taken (the caller restarts
    the run-in by moving ``Citizen.monitoring_started_at``)."""
    _supersede(session, citizen_id, type_, now)
