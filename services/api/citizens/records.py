"""A citizen's records: readings (and marking one invalid), questionnaire answers, alert
history and notes. Every read is audited in the same transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func
from sqlmodel import Session, col, select

from pust.db.tables import Alert, Citizen, CitizenNote, QuestionnaireResponse, Reading, TriageResult
from services.api.alerts.models import AlertPublic
from services.api.audit.recorder import record
from services.api.auth.current import CurrentStaff
from services.api.auth.principal import Principal
from services.api.citizens.models import (
    NoteCreate,
    NotePublic,
    QuestionnaireResponsePublic,
    ReadingInvalidate,
    ReadingPublic,
)
from services.api.deps import ClockDep, SessionDep
from services.api.ids import BigIdPath
from services.api.pagination import Page, PageDep
from services.api.problems import ConflictError, problem_responses
from services.api.scoping import citizen_for, note_for, reading_for, require_action

router = APIRouter(prefix="/api/v1", tags=["citizen records"])

_READ = problem_responses(401, 404, 422)
_ACT = problem_responses(401, 403, 404, 409, 422)


def audit_citizen(
    session: Session,
    principal: Principal,
    citizen: Citizen,
    *,
    action: str,
    now: datetime,
    resource_type: str = "citizen",
    resource_id: str | None = None,
) -> None:
    record(
        session=session,
        principal=principal,
        now=now,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id or str(citizen.id),
        citizen_id=citizen.id,
        care_team_id=citizen.care_team_id,
    )


def reading_public(reading: Reading, triage: TriageResult | None) -> ReadingPublic:
    public = ReadingPublic.model_validate(reading, from_attributes=True)
    if triage is not None:
        public.reasons = list(triage.reasons or [])
    return public


def query_readings(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    type_: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[ReadingPublic], int]:
    conditions = [col(Reading.citizen_id) == citizen_id]
    if type_:
        conditions.append(col(Reading.type) == type_)
    if since:
        conditions.append(col(Reading.measured_at) >= since)
    if until:
        conditions.append(col(Reading.measured_at) < until)
    total = session.exec(select(func.count()).select_from(Reading).where(*conditions)).one()
    rows = session.exec(
        select(Reading, TriageResult)
        .outerjoin(TriageResult, col(TriageResult.reading_id) == col(Reading.id))
        .where(*conditions)
        .order_by(col(Reading.measured_at).desc(), col(Reading.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [reading_public(r, t) for r, t in rows], int(total)


@router.get(
    "/citizens/{citizen_id}/readings",
    response_model=Page[ReadingPublic],
    summary="A citizen's readings, newest first",
    responses=_READ,
)
def list_readings(
    *,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
    type: Annotated[str | None, Query(max_length=32)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[ReadingPublic]:
    citizen = citizen_for(session, principal, citizen_id)
    items, total = query_readings(
        session,
        citizen_id=citizen.id,
        type_=type,
        since=since,
        until=until,
        limit=page.limit,
        offset=page.offset,
    )
    audit_citizen(session, principal, citizen, action="citizen.readings.read", now=clock.now())
    session.commit()
    return Page[ReadingPublic](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/readings/{reading_id}", response_model=ReadingPublic, summary="One reading", responses=_READ
)
def read_reading(
    *, reading_id: BigIdPath, session: SessionDep, principal: CurrentStaff, clock: ClockDep
) -> ReadingPublic:
    reading, citizen = reading_for(session, principal, reading_id)
    triage = session.exec(select(TriageResult).where(TriageResult.reading_id == reading.id)).first()
    audit_citizen(
        session,
        principal,
        citizen,
        action="reading.read",
        now=clock.now(),
        resource_type="reading",
        resource_id=str(reading.id),
    )
    session.commit()
    return reading_public(reading, triage)


@router.post(
    "/readings/{reading_id}/invalidate",
    response_model=ReadingPublic,
    summary="Mark a reading invalid with a reason (it is never deleted)",
    responses=_ACT,
)
def invalidate_reading(
    *,
    reading_id: BigIdPath,
    body: ReadingInvalidate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> ReadingPublic:
    require_action(principal)
    reading, citizen = reading_for(session, principal, reading_id)
    if not reading.valid:
        raise ConflictError("This reading is marked invalid already.")
    now = clock.now()
    reading.valid = False
    reading.invalid_reason = body.reason
    reading.invalidated_by = principal.staff_id
    reading.invalidated_at = now
    session.add(reading)
    audit_citizen(
        session,
        principal,
        citizen,
        action="reading.invalidate",
        now=now,
        resource_type="reading",
        resource_id=str(reading.id),
    )
    triage = session.exec(select(TriageResult).where(TriageResult.reading_id == reading.id)).first()
    session.commit()
    return reading_public(reading, triage)


@router.get(
    "/citizens/{citizen_id}/questionnaire-responses",
    response_model=Page[QuestionnaireResponsePublic],
    summary="A citizen's questionnaire answers, newest first",
    responses=_READ,
)
def list_responses(
    *,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
) -> Page[QuestionnaireResponsePublic]:
    citizen = citizen_for(session, principal, citizen_id)
    condition = col(QuestionnaireResponse.citizen_id) == citizen.id
    total = session.exec(
        select(func.count()).select_from(QuestionnaireResponse).where(condition)
    ).one()
    rows = session.exec(
        select(QuestionnaireResponse)
        .where(condition)
        .order_by(col(QuestionnaireResponse.answered_at).desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    audit_citizen(session, principal, citizen, action="citizen.responses.read", now=clock.now())
    session.commit()
    return Page[QuestionnaireResponsePublic](
        items=[QuestionnaireResponsePublic.model_validate(r, from_attributes=True) for r in rows],
        total=int(total),
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/citizens/{citizen_id}/alerts",
    response_model=Page[AlertPublic],
    summary="A citizen's alerts (open and past), newest first",
    responses=_READ,
)
def list_citizen_alerts(
    *,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(open|acknowledged|resolved)$")] = None,
) -> Page[AlertPublic]:
    citizen = citizen_for(session, principal, citizen_id)
    conditions = [col(Alert.citizen_id) == citizen.id]
    if status:
        conditions.append(col(Alert.status) == status)
    total = session.exec(select(func.count()).select_from(Alert).where(*conditions)).one()
    rows = session.exec(
        select(Alert)
        .where(*conditions)
        .order_by(col(Alert.first_seen_at).desc(), col(Alert.id))
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    audit_citizen(session, principal, citizen, action="citizen.alerts.read", now=clock.now())
    session.commit()
    return Page[AlertPublic](
        items=[AlertPublic.model_validate(a, from_attributes=True) for a in rows],
        total=int(total),
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/citizens/{citizen_id}/notes",
    response_model=Page[NotePublic],
    summary="Notes about a citizen, newest first",
    responses=_READ,
)
def list_notes(
    *,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
) -> Page[NotePublic]:
    citizen = citizen_for(session, principal, citizen_id)
    condition = col(CitizenNote.citizen_id) == citizen.id
    total = session.exec(select(func.count()).select_from(CitizenNote).where(condition)).one()
    rows = session.exec(
        select(CitizenNote)
        .where(condition)
        .order_by(col(CitizenNote.created_at).desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    audit_citizen(session, principal, citizen, action="citizen.notes.read", now=clock.now())
    session.commit()
    return Page[NotePublic](
        items=[NotePublic.model_validate(n, from_attributes=True) for n in rows],
        total=int(total),
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/citizens/{citizen_id}/notes",
    response_model=NotePublic,
    status_code=201,
    summary="Write a note about a citizen",
    responses=_ACT,
)
def create_note(
    *,
    citizen_id: uuid.UUID,
    body: NoteCreate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> NotePublic:
    require_action(principal)
    citizen = citizen_for(session, principal, citizen_id)
    now = clock.now()
    note = CitizenNote(
        citizen_id=citizen.id,
        author_id=principal.staff_id,
        text=body.text,
        remind_at=body.remind_at,
        created_at=now,
    )
    session.add(note)
    session.flush()
    audit_citizen(
        session,
        principal,
        citizen,
        action="note.create",
        now=now,
        resource_type="note",
        resource_id=str(note.id),
    )
    session.commit()
    return NotePublic.model_validate(note, from_attributes=True)


@router.get(
    "/citizens/{citizen_id}/notes/{note_id}",
    response_model=NotePublic,
    summary="One note",
    responses=_READ,
)
def read_note(
    *,
    citizen_id: uuid.UUID,
    note_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> NotePublic:
    citizen = citizen_for(session, principal, citizen_id)
    note = note_for(session, principal, citizen, note_id)
    audit_citizen(
        session,
        principal,
        citizen,
        action="note.read",
        now=clock.now(),
        resource_type="note",
        resource_id=str(note.id),
    )
    session.commit()
    return NotePublic.model_validate(note, from_attributes=True)
