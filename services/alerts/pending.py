"""Untriaged readings and responses: claimed, and marked triaged, with lean Core statements
(only the columns triage needs; one executemany for all results of a batch) because this is
the hot path at a thousand readings a second."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import insert, select, text, update
from sqlmodel import Session

from pust.db.lean import among, table_of
from pust.db.tables.readings import QuestionnaireResponse, Reading, TriageResult


class Kind(StrEnum):
    READING = "reading"
    RESPONSE = "response"


@dataclass(frozen=True, slots=True)
class Pending:
    kind: Kind
    id: int
    citizen_id: uuid.UUID
    device_id: str
    observed_at: datetime
    late: bool
    valid: bool
    type: str = ""  # readings
    value: float = 0.0
    questionnaire: str = ""  # responses
    answers: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to write for one triaged row (``severity`` None: excluded, no triage result)."""

    pending: Pending
    severity: str | None
    reasons: list[dict[str, Any]]
    limit_set_id: uuid.UUID | None


_READINGS = table_of(Reading)
_RESPONSES = table_of(QuestionnaireResponse)
_READING_COLUMNS = tuple(
    _READINGS.c[name]
    for name in ("id", "citizen_id", "device_id", "measured_at", "late", "valid", "type", "value")
)
_RESPONSE_COLUMNS = tuple(
    _RESPONSES.c[name]
    for name in (
        "id",
        "citizen_id",
        "device_id",
        "answered_at",
        "late",
        "valid",
        "questionnaire",
        "answers",
    )
)


def _reading(row: Any) -> Pending:
    return Pending(
        Kind.READING, row[0], row[1], row[2], row[3], row[4], row[5], type=row[6], value=row[7]
    )


def _response(row: Any) -> Pending:
    answers = tuple(
        (str(a.get("item")), a.get("value")) for a in (row[7] or []) if isinstance(a, dict)
    )
    return Pending(
        Kind.RESPONSE,
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        questionnaire=row[6],
        answers=answers,
    )


def claim(
    session: Session,
    kind: Kind,
    *,
    limit: int,
    only_id: int | None = None,
    first_ids: Sequence[int] = (),
    only_first: bool = False,
) -> list[Pending]:
    """Lock up to ``limit`` untriaged rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: another
    worker takes the next ones): those of ``first_ids`` that are still untriaged first, then
    (unless ``only_first``) the oldest in id order."""
    table = _READINGS if kind is Kind.READING else _RESPONSES
    columns = _READING_COLUMNS if kind is Kind.READING else _RESPONSE_COLUMNS
    convert = _reading if kind is Kind.READING else _response
    base = select(*columns).where(table.c.triaged_at.is_(None))
    if only_id is not None:
        base = base.where(table.c.id == only_id)
    first: list[Any] = []
    if first_ids and only_id is None:
        first = list(
            session.execute(
                base.where(among(session, table.c.id, sorted(first_ids)))
                .order_by(table.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
        )
    rest: list[Any] = []
    if len(first) < limit and not (only_first and only_id is None):
        statement = base
        if first:
            statement = statement.where(~among(session, table.c.id, [row[0] for row in first]))
        rest = list(
            session.execute(
                statement.order_by(table.c.id)
                .limit(limit - len(first))
                .with_for_update(skip_locked=True)
            ).all()
        )
    return [convert(row) for row in first + rest]


def write(session: Session, outcomes: list[Outcome], *, now: datetime) -> None:
    """Triage results and ``triaged_at`` for a batch: on PostgreSQL one statement per kind
    (an ``UPDATE … FROM unnest`` inside the ``INSERT … SELECT FROM unnest`` of the
    results), elsewhere an executemany per table."""
    if outcomes and session.get_bind().dialect.name == "postgresql":
        for kind in Kind:
            mine = [o for o in outcomes if o.pending.kind is kind]
            if mine:
                _write_postgresql(session, kind, mine, now=now)
        return
    results = [
        {
            "citizen_id": o.pending.citizen_id,
            "reading_id": o.pending.id if o.pending.kind is Kind.READING else None,
            "questionnaire_response_id": o.pending.id if o.pending.kind is Kind.RESPONSE else None,
            "severity": o.severity,
            "reasons": o.reasons,
            "limit_set_id": o.limit_set_id,
            "late": o.pending.late,
            "evaluated_at": now,
        }
        for o in outcomes
        if o.severity is not None
    ]
    if results:
        session.execute(insert(TriageResult), results)
    for kind, table in ((Kind.READING, Reading), (Kind.RESPONSE, QuestionnaireResponse)):
        marks = [
            {"id": o.pending.id, "severity": o.severity, "triaged_at": now}
            for o in outcomes
            if o.pending.kind is kind
        ]
        if marks:
            session.execute(update(table), marks)  # ORM bulk UPDATE by primary key


_WRITE = """
WITH marked AS (
    UPDATE {table} AS t SET severity = m.severity, triaged_at = :now
    FROM unnest(CAST(:ids AS bigint[]), CAST(:severities AS text[])) AS m(id, severity)
    WHERE t.id = m.id
)
INSERT INTO triage_result
    (citizen_id, {column}, severity, reasons, limit_set_id, late, evaluated_at)
SELECT r.citizen_id, r.id, r.severity, r.reasons, r.limit_set_id, r.late, :now
FROM unnest(
    CAST(:r_citizens AS uuid[]), CAST(:r_ids AS bigint[]), CAST(:r_severities AS text[]),
    CAST(:r_reasons AS jsonb[]), CAST(:r_limit_sets AS uuid[]), CAST(:r_late AS boolean[])
) AS r(citizen_id, id, severity, reasons, limit_set_id, late)
"""
_WRITES = {
    Kind.READING: text(_WRITE.format(table="reading", column="reading_id")),
    Kind.RESPONSE: text(
        _WRITE.format(table="questionnaire_response", column="questionnaire_response_id")
    ),
}


def _write_postgresql(
    session: Session, kind: Kind, outcomes: list[Outcome], *, now: datetime
) -> None:
    results = [o for o in outcomes if o.severity is not None]
    session.execute(
        _WRITES[kind],
        {
            "now": now,
            "ids": [o.pending.id for o in outcomes],
            "severities": [o.severity for o in outcomes],
            "r_citizens": [o.pending.citizen_id for o in results],
            "r_ids": [o.pending.id for o in results],
            "r_severities": [o.severity for o in results],
            "r_reasons": [Jsonb(o.reasons) for o in results],
            "r_limit_sets": [o.limit_set_id for o in results],
            "r_late": [o.pending.late for o in results],
        },
    )
