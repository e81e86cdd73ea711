"""The FHIR outbox: which readings and responses are owed to the regional backend.

State lives in ``OutboxMessage`` rows of channel ``fhir``, one per reading or response,
keyed ``fhir:reading:<id>`` / ``fhir:response:<id>`` (``dedup_key`` is unique, so enqueueing
twice -- two bridges, a bridge and a backfill, a restart -- inserts once). Status:

- ``pending``: owed; ``available_at`` is when it may next be tried (back-off, or a claim's
  lease: a bridge that dies mid-send leaves it to be retried after the lease);
- ``sent``: the backend answered 2xx;
- ``merged``: a diastolic (or systolic) reading sent inside its partner's blood pressure;
- ``skipped``: the citizen has no ServiceRequest for this type (nothing to submit under);
- ``dead``: refused by the backend (4xx) or out of attempts -- shown to administrators.

A reading whose type has no FUT code (outside the IG's observation-codes) is ``skipped``
with the note ``no FUT code for <type>``: counted per type in :mod:`pust.fhir.bridge_status`.
A reading invalidated before it went out is ``skipped`` (``invalidated before sending``);
one invalidated after it went out gets a second row ``fhir:validity:<reading id>``
(destination ``ClinicalImpression/$set-measurement-validity``); a questionnaire response
likewise gets ``fhir:validity:response:<id>``.

Only the producing side lives here; leasing, back-off and completion are the one outbox's
(:mod:`pust.db.outbox`, channel ``fhir``), like every other channel's.

Why a database query and not a hint: the reading row is the truth, so a bridge that was
down, or killed, finds everything still owed on its next poll.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import String, cast, exists, literal
from sqlmodel import Session, col, select

from pust.db.outbox import FHIR, MERGED, PENDING, SENT, SKIPPED, Outgoing, enqueue_many
from pust.db.tables import (
    CareTeam,
    Citizen,
    OutboxMessage,
    QuestionnaireResponse,
    Reading,
    RegionalLink,
)
from pust.domain.measurement_types import MeasurementType
from pust.domain.questionnaires import QUESTIONNAIRES
from pust.fhir.codes import fut_code_for
from pust.fhir.regional import RegionalContext

CHANNEL = FHIR
DESTINATION = "$submit-measurement"
VALIDITY_DESTINATION = "ClinicalImpression/$set-measurement-validity"
READING_PREFIX = "fhir:reading:"
RESPONSE_PREFIX = "fhir:response:"
VALIDITY_PREFIX = "fhir:validity:"
RESPONSE_VALIDITY_PREFIX = "fhir:validity:response:"
NO_FUT_CODE = "no FUT code for "
BRIDGED_MODES = ("bridged", "both")
_BP = (MeasurementType.BP_SYSTOLIC.value, MeasurementType.BP_DIASTOLIC.value)


def reading_key(reading_id: int) -> str:
    return f"{READING_PREFIX}{reading_id}"


def response_key(response_id: int) -> str:
    return f"{RESPONSE_PREFIX}{response_id}"


@dataclass
class EnqueueResult:
    enqueued: int = 0
    skipped: int = 0
    waiting: int = 0  # blood pressure halves waiting for their partner

    def __iadd__(self, other: EnqueueResult) -> EnqueueResult:
        self.enqueued += other.enqueued
        self.skipped += other.skipped
        self.waiting += other.waiting
        return self


@dataclass(frozen=True, slots=True)
class Scope:
    """Which citizens' history to look at. The bridge: bridged teams, since the link. The
    backfill: the named citizens, whatever the mode, their whole history."""

    since: datetime | None = None
    citizen_ids: Collection[UUID] | None = None
    bridged_only: bool = True
    from_link_time: bool = True


def _row(
    key: str,
    payload: dict[str, Any],
    status: str = PENDING,
    note: str | None = None,
    destination: str = DESTINATION,
) -> Outgoing:
    return Outgoing(
        channel=CHANNEL,
        destination=destination,
        payload=payload,
        dedup_key=key,
        status=status,
        note=note,
    )


def _filtered(statement: Any, model: Any, time_column: Any, scope: Scope) -> Any:
    statement = statement.join(RegionalLink, col(RegionalLink.citizen_id) == model.citizen_id)
    if scope.bridged_only:
        statement = (
            statement.join(Citizen, col(Citizen.id) == model.citizen_id)
            .join(CareTeam, col(CareTeam.id) == col(Citizen.care_team_id))
            .where(col(CareTeam.operating_mode).in_(BRIDGED_MODES))
        )
    if scope.from_link_time:
        statement = statement.where(time_column >= col(RegionalLink.linked_at))
    if scope.since is not None:
        statement = statement.where(time_column >= scope.since)
    if scope.citizen_ids is not None:
        statement = statement.where(model.citizen_id.in_(list(scope.citizen_ids)))
    return statement


def enqueue_readings(
    session: Session,
    *,
    now: datetime,
    scope: Scope,
    limit: int,
    bp_grace: timedelta,
    session_window: timedelta = timedelta(0),
) -> EnqueueResult:
    owed = ~exists().where(
        col(OutboxMessage.dedup_key) == literal(READING_PREFIX) + cast(col(Reading.id), String)
    )
    statement = select(Reading, RegionalLink).where(col(Reading.valid), owed)
    statement = _filtered(statement, Reading, col(Reading.received_at), scope)
    found = session.exec(statement.order_by(col(Reading.id)).limit(limit)).all()
    result = EnqueueResult()
    rows: list[Outgoing] = []
    taken: set[int] = set()
    sessions: dict[tuple[Any, str, str], list[int]] = {}
    for reading, link in found:
        assert reading.id is not None
        if reading.id in taken:
            continue
        regional = RegionalContext.from_link(link)
        if fut_code_for(MeasurementType(reading.type)) is None:
            rows.append(
                _row(
                    reading_key(reading.id),
                    {"reading_ids": [reading.id]},
                    SKIPPED,
                    f"{NO_FUT_CODE}{reading.type}",
                )
            )
            result.skipped += 1
            taken.add(reading.id)
            continue
        if reading.type in _BP:
            partner = _partner(session, reading)
            if partner is None and reading.received_at > now - bp_grace:
                result.waiting += 1
                continue
            if (
                partner is not None
                and partner.id is not None
                and not _enqueued(session, reading_key(partner.id))
            ):
                systolic, diastolic = (
                    (reading, partner) if reading.type == _BP[0] else (partner, reading)
                )
                assert systolic.id is not None and diastolic.id is not None
                if not (regional.has(_BP[0]) or regional.has(_BP[1])):
                    rows += [
                        _row(
                            reading_key(r_id),
                            {"reading_ids": [r_id]},
                            SKIPPED,
                            "no ServiceRequest for bp",
                        )
                        for r_id in (systolic.id, diastolic.id)
                    ]
                    result.skipped += 2
                else:
                    rows.append(
                        _row(
                            reading_key(systolic.id),
                            {"reading_ids": [systolic.id, diastolic.id]},
                        )
                    )
                    rows.append(
                        _row(
                            reading_key(diastolic.id),
                            {"merged_into": reading_key(systolic.id)},
                            MERGED,
                        )
                    )
                    result.enqueued += 1
                taken.update((systolic.id, diastolic.id))
                continue
        key = reading.type
        if reading.type in _BP and not regional.has(key):
            key = _BP[0] if regional.has(_BP[0]) else _BP[1]
        if regional.has(key):
            rows.append(_row(reading_key(reading.id), {"reading_ids": [reading.id]}))
            sessions.setdefault(
                (reading.citizen_id, reading.device_id, reading.message_id), []
            ).append(len(rows) - 1)
            result.enqueued += 1
        else:
            rows.append(
                _row(
                    reading_key(reading.id),
                    {"reading_ids": [reading.id]},
                    SKIPPED,
                    f"no ServiceRequest for {reading.type}",
                )
            )
            result.skipped += 1
        taken.add(reading.id)
    if session_window > timedelta(0):
        rows, sessions, waiting, merged = _with_answers(
            session, rows, sessions, now, session_window
        )
        result.waiting += waiting
        result.enqueued -= waiting + merged
    rows = _one_submission_per_session(rows, sessions)
    result.enqueued -= sum(len(group) - 1 for group in sessions.values() if len(group) > 1)
    enqueue_many(session, rows, now=now)
    return result


def _with_answers(
    session: Session,
    rows: list[Outgoing],
    sessions: dict[tuple[Any, str, str], list[int]],
    now: datetime,
    window: timedelta,
) -> tuple[list[Outgoing], dict[tuple[Any, str, str], list[int]], int, int]:
    """One device session = the readings of one tablet message and the questionnaire the
    same citizen answered on the same tablet within ``window`` of them (the tablet sends
    them as two messages). The answer joins the session's submission (its row ``merged``);
    a session still inside its window with no answer yet waits for one (a row is only
    written once), as long as the citizen's link has a questionnaire to submit under."""
    out: list[Outgoing | None] = list(rows)
    kept: dict[tuple[Any, str, str], list[int]] = {}
    waiting = merged = 0
    claimed: set[int] = set()
    for key, indexes in sessions.items():
        citizen_id, device_id, _ = key
        ids = [int(r) for i in indexes for r in rows[i].payload["reading_ids"]]
        readings = session.exec(select(Reading).where(col(Reading.id).in_(ids))).all()
        if not readings:
            kept[key] = indexes
            continue
        measured = min(r.measured_at for r in readings)
        received = max(r.received_at for r in readings)
        answer = session.exec(
            select(QuestionnaireResponse)
            .where(
                col(QuestionnaireResponse.citizen_id) == citizen_id,
                col(QuestionnaireResponse.device_id) == device_id,
                col(QuestionnaireResponse.valid),
                col(QuestionnaireResponse.answered_at) >= measured - window,
                col(QuestionnaireResponse.answered_at) <= measured + window,
                ~exists().where(
                    col(OutboxMessage.dedup_key)
                    == literal(RESPONSE_PREFIX) + cast(col(QuestionnaireResponse.id), String)
                ),
            )
            .order_by(col(QuestionnaireResponse.answered_at))
        ).all()
        link = session.get(RegionalLink, citizen_id)
        regional = RegionalContext.from_link(link) if link is not None else None
        joined = next(
            (
                a
                for a in answer
                if a.id not in claimed
                and regional is not None
                and regional.has_questionnaire(a.questionnaire)
            ),
            None,
        )
        if joined is None:
            answers_owed = regional is not None and any(
                regional.has_questionnaire(q) for q in QUESTIONNAIRES
            )
            if answers_owed and received > now - window:
                for i in indexes:  # not written yet: looked at again on the next poll
                    out[i] = None
                waiting += len(indexes)
                continue
            kept[key] = indexes
            continue
        assert joined.id is not None
        claimed.add(joined.id)
        first = rows[indexes[0]]
        groups = [rows[i].payload["reading_ids"] for i in indexes]
        out[indexes[0]] = _row(first.dedup_key, {"sessions": groups, "response_id": joined.id})
        for i in indexes[1:]:
            out[i] = _row(rows[i].dedup_key, {"merged_into": first.dedup_key}, MERGED)
        out.append(_row(response_key(joined.id), {"merged_into": first.dedup_key}, MERGED))
        merged += len(indexes) - 1
    # indexes into the list without the waiting rows
    final: list[Outgoing] = []
    moved: dict[int, int] = {}
    for i, row in enumerate(out):
        if row is not None:
            moved[i] = len(final)
            final.append(row)
    return final, {k: [moved[i] for i in v] for k, v in kept.items()}, waiting, merged


def _one_submission_per_session(
    rows: list[Outgoing], sessions: dict[tuple[Any, str, str], list[int]]
) -> list[Outgoing]:
    """Readings of one tablet message (one device session: SpO2 and pulse of one oximeter
    measurement) go in one ``$submit-measurement``: the first row carries every reading as
    ``{"sessions": [[id], [id]]}``, the others are ``merged`` into it."""
    out = list(rows)
    for indexes in sessions.values():
        if len(indexes) < 2:
            continue
        first = rows[indexes[0]]
        groups = [rows[i].payload["reading_ids"] for i in indexes]
        out[indexes[0]] = _row(first.dedup_key, {"sessions": groups})
        for i in indexes[1:]:
            out[i] = _row(rows[i].dedup_key, {"merged_into": first.dedup_key}, MERGED)
    return out


def enqueue_responses(
    session: Session,
    *,
    now: datetime,
    scope: Scope,
    limit: int,
    session_window: timedelta = timedelta(0),
) -> EnqueueResult:
    model = QuestionnaireResponse
    owed = ~exists().where(
        col(OutboxMessage.dedup_key) == literal(RESPONSE_PREFIX) + cast(col(model.id), String)
    )
    statement = select(model, RegionalLink).where(col(model.valid), owed)
    statement = _filtered(statement, model, col(model.received_at), scope)
    found = session.exec(statement.order_by(col(model.id)).limit(limit)).all()
    result = EnqueueResult()
    rows: list[Outgoing] = []
    for response, link in found:
        assert response.id is not None
        payload = {"response_id": response.id}
        if session_window > timedelta(0) and _may_join_a_session(
            session, response, now, session_window
        ):
            result.waiting += 1
            continue
        if RegionalContext.from_link(link).has_questionnaire(response.questionnaire):
            rows.append(_row(response_key(response.id), payload))
            result.enqueued += 1
        else:
            rows.append(
                _row(
                    response_key(response.id),
                    payload,
                    SKIPPED,
                    f"no ServiceRequest for {response.questionnaire}",
                )
            )
            result.skipped += 1
    enqueue_many(session, rows, now=now)
    return result


def _may_join_a_session(
    session: Session, response: QuestionnaireResponse, now: datetime, window: timedelta
) -> bool:
    """Still inside its window and no reading of that window has left alone yet: the
    measurement of the same session may still arrive (enqueue_readings joins them)."""
    if response.received_at <= now - window:
        return False
    left = session.exec(
        select(Reading.id)
        .where(
            col(Reading.citizen_id) == response.citizen_id,
            col(Reading.device_id) == response.device_id,
            col(Reading.measured_at) >= response.answered_at - window,
            col(Reading.measured_at) <= response.answered_at + window,
            exists().where(
                col(OutboxMessage.dedup_key)
                == literal(READING_PREFIX) + cast(col(Reading.id), String)
            ),
        )
        .limit(1)
    ).first()
    return left is None


def enqueue_invalidations(session: Session, *, now: datetime, limit: int) -> int:
    """A ``$set-measurement-validity`` row for each reading invalidated after its
    measurement was sent (or merged into a sent blood pressure). Returns rows enqueued."""
    sent = exists().where(
        col(OutboxMessage.dedup_key) == literal(READING_PREFIX) + cast(col(Reading.id), String),
        col(OutboxMessage.status).in_([SENT, MERGED]),
    )
    owed = ~exists().where(
        col(OutboxMessage.dedup_key) == literal(VALIDITY_PREFIX) + cast(col(Reading.id), String)
    )
    found = session.exec(
        select(Reading)
        .where(~col(Reading.valid), sent, owed)
        .order_by(col(Reading.id))
        .limit(limit)
    ).all()
    rows: list[Outgoing] = []
    for reading in found:
        assert reading.id is not None
        row = _sent_row(session, reading_key(reading.id))
        if row is None:
            continue  # the partner's submission is still pending or was withdrawn
        ids = _measurement_of(row.payload or {}, reading.id)
        others = [i for i in ids if i != reading.id]
        status = PENDING
        if any(_enqueued(session, f"{VALIDITY_PREFIX}{i}") for i in others) or any(
            r.dedup_key == f"{VALIDITY_PREFIX}{i}" for r in rows for i in others
        ):
            status = MERGED  # the blood pressure's other half already invalidates it
        rows.append(
            _row(
                f"{VALIDITY_PREFIX}{reading.id}",
                {"invalidate": ids},
                status,
                destination=VALIDITY_DESTINATION,
            )
        )
    return enqueue_many(session, rows, now=now)


def enqueue_response_invalidations(session: Session, *, now: datetime, limit: int) -> int:
    """A ``$set-measurement-validity`` row (``fhir:validity:response:<id>``) for each
    questionnaire response invalidated after it was sent (alone or in a device session):
    FUT submits answers as measurements, and ehealth-clinicalimpression's
    ``investigation.item`` allows an ehealth-questionnaireresponse."""
    model = QuestionnaireResponse
    sent = exists().where(
        col(OutboxMessage.dedup_key) == literal(RESPONSE_PREFIX) + cast(col(model.id), String),
        col(OutboxMessage.status).in_([SENT, MERGED]),
    )
    owed = ~exists().where(
        col(OutboxMessage.dedup_key)
        == literal(RESPONSE_VALIDITY_PREFIX) + cast(col(model.id), String)
    )
    found = session.exec(
        select(model).where(~col(model.valid), sent, owed).order_by(col(model.id)).limit(limit)
    ).all()
    rows: list[Outgoing] = []
    for response in found:
        assert response.id is not None
        if _sent_row(session, response_key(response.id)) is None:
            continue  # its session's submission is still pending or was withdrawn
        rows.append(
            _row(
                f"{RESPONSE_VALIDITY_PREFIX}{response.id}",
                {"invalidate_response": response.id},
                destination=VALIDITY_DESTINATION,
            )
        )
    return enqueue_many(session, rows, now=now)


def _measurement_of(payload: dict[str, Any], reading_id: int) -> list[int]:
    """The reading ids of the measurement (one Observation) that carries ``reading_id``."""
    groups = payload.get("sessions") or [payload.get("reading_ids", [])]
    for group in groups:
        ids = [int(i) for i in group]
        if reading_id in ids:
            return ids
    return [reading_id]


def _sent_row(session: Session, key: str) -> OutboxMessage | None:
    row = session.exec(select(OutboxMessage).where(OutboxMessage.dedup_key == key)).first()
    if row is not None and row.status == MERGED:
        into = (row.payload or {}).get("merged_into")
        row = (
            session.exec(select(OutboxMessage).where(OutboxMessage.dedup_key == into)).first()
            if isinstance(into, str)
            else None
        )
    return row if row is not None and row.status == SENT else None


def _partner(session: Session, reading: Reading) -> Reading | None:
    other = _BP[1] if reading.type == _BP[0] else _BP[0]
    return session.exec(
        select(Reading)
        .where(
            col(Reading.citizen_id) == reading.citizen_id,
            col(Reading.device_id) == reading.device_id,
            col(Reading.measured_at) == reading.measured_at,
            col(Reading.type) == other,
            col(Reading.valid),
        )
        .order_by(col(Reading.id))
        .limit(1)
    ).first()


def _enqueued(session: Session, key: str) -> bool:
    found = session.exec(select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)).first()
    return found is not None
