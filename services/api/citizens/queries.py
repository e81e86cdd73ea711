"""Read models of citizens and their records (the session directly, tested against a
database). The citizen is already loaded in scope and its read audited by the route's
dependency (:func:`services.api.in_scope.citizen_read`); lists audit each citizen shown."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from pust.db.tables import (
    Alert,
    AuditEvent,
    Citizen,
    CitizenNote,
    LimitSet,
    PausePeriod,
    Plan,
    QuestionnaireResponse,
    Reading,
    TriageResult,
)
from services.api.alerts.models import AlertPublic
from services.api.auth.principal import Principal
from services.api.citizens.models import (
    AccessEventPublic,
    CitizenPublic,
    LimitSetPublic,
    NotePublic,
    PausePublic,
    PlanPublic,
    QuestionnaireResponsePublic,
    ReadingPublic,
)
from services.api.citizens.service import is_paused
from services.api.pagination import Page, PageParams, paged
from services.api.problems import NotFoundError
from services.api.scoping import current_device_id
from services.api.unit_of_work import SqlUnitOfWork


def citizen_public(session: Session, citizen: Citizen, now: datetime) -> CitizenPublic:
    return CitizenPublic(
        id=citizen.id,
        care_team_id=citizen.care_team_id,
        cpr=citizen.cpr.formatted,
        given_name=citizen.given_name,
        family_name=citizen.family_name,
        phone=citizen.phone,
        status=citizen.status,
        monitoring_started_at=citizen.monitoring_started_at,
        lock_version=citizen.lock_version,
        device_id=current_device_id(session, citizen.id),
        paused=is_paused(session, citizen.id, now),
    )


def list_citizens(
    uow: SqlUnitOfWork,
    *,
    actor: Principal,
    now: datetime,
    page: PageParams,
    care_team_id: uuid.UUID | None,
    q: str | None,
    status: str | None,
) -> Page[CitizenPublic]:
    """The caller's teams' citizens by name, with one audit event per citizen shown."""
    if care_team_id is not None and care_team_id not in actor.team_ids:
        raise NotFoundError("No such care team.")
    teams = [care_team_id] if care_team_id else list(actor.team_ids)
    conditions: list[ColumnElement[bool]] = [col(Citizen.care_team_id).in_(teams)]
    if q:
        like = f"%{q.lower()}%"
        conditions.append(
            or_(
                func.lower(col(Citizen.given_name)).like(like),
                func.lower(col(Citizen.family_name)).like(like),
            )
        )
    if status:
        conditions.append(col(Citizen.status) == status)
    statement = (
        select(Citizen)
        .where(*conditions)
        .order_by(col(Citizen.family_name), col(Citizen.given_name), col(Citizen.id))
    )
    shown: Page[Citizen] = paged(uow.session, statement, page, lambda c: c)
    uow.audit.citizens_shown(
        actor=actor,
        now=now,
        action="citizen.list",
        citizens=[(c.id, c.care_team_id) for c in shown.items],
    )
    return Page[CitizenPublic](
        items=[citizen_public(uow.session, c, now) for c in shown.items],
        total=shown.total,
        limit=shown.limit,
        offset=shown.offset,
    )


def reading_public(reading: Reading, triage: TriageResult | None) -> ReadingPublic:
    public = ReadingPublic.model_validate(reading, from_attributes=True)
    if triage is not None:
        public.reasons = list(triage.reasons or [])
    return public


def readings(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    type_: str | None,
    since: datetime | None,
    until: datetime | None,
    page: PageParams,
) -> Page[ReadingPublic]:
    """Newest first, each with the reasons of its triage."""
    conditions = [col(Reading.citizen_id) == citizen_id]
    if type_:
        conditions.append(col(Reading.type) == type_)
    if since:
        conditions.append(col(Reading.measured_at) >= since)
    if until:
        conditions.append(col(Reading.measured_at) < until)
    statement = (
        select(Reading, TriageResult)
        .outerjoin(TriageResult, col(TriageResult.reading_id) == col(Reading.id))
        .where(*conditions)
        .order_by(col(Reading.measured_at).desc(), col(Reading.id).desc())
    )
    return paged(session, statement, page, lambda row: reading_public(row[0], row[1]))


def reading(session: Session, reading_row: Reading) -> ReadingPublic:
    triage = session.exec(
        select(TriageResult).where(TriageResult.reading_id == reading_row.id)
    ).first()
    return reading_public(reading_row, triage)


def responses(
    session: Session, citizen_id: uuid.UUID, page: PageParams
) -> Page[QuestionnaireResponsePublic]:
    statement = (
        select(QuestionnaireResponse)
        .where(QuestionnaireResponse.citizen_id == citizen_id)
        .order_by(col(QuestionnaireResponse.answered_at).desc())
    )
    return paged(
        session,
        statement,
        page,
        lambda r: QuestionnaireResponsePublic.model_validate(r, from_attributes=True),
    )


def alerts(
    session: Session, citizen_id: uuid.UUID, status: str | None, page: PageParams
) -> Page[AlertPublic]:
    conditions = [col(Alert.citizen_id) == citizen_id]
    if status:
        conditions.append(col(Alert.status) == status)
    statement = (
        select(Alert).where(*conditions).order_by(col(Alert.first_seen_at).desc(), col(Alert.id))
    )
    return paged(
        session, statement, page, lambda a: AlertPublic.model_validate(a, from_attributes=True)
    )


def notes(session: Session, citizen_id: uuid.UUID, page: PageParams) -> Page[NotePublic]:
    statement = (
        select(CitizenNote)
        .where(CitizenNote.citizen_id == citizen_id)
        .order_by(col(CitizenNote.created_at).desc())
    )
    return paged(
        session, statement, page, lambda n: NotePublic.model_validate(n, from_attributes=True)
    )


def note(session: Session, citizen: Citizen, note_id: uuid.UUID) -> NotePublic:
    found = session.get(CitizenNote, note_id)
    if found is None or found.citizen_id != citizen.id:
        raise NotFoundError("No such note.")
    return NotePublic.model_validate(found, from_attributes=True)


def current_limits(session: Session, citizen_id: uuid.UUID) -> LimitSetPublic:
    statement = (
        select(LimitSet)
        .where(LimitSet.citizen_id == citizen_id)
        .order_by(col(LimitSet.version).desc())
    )
    found = session.exec(statement).first()
    if found is None:
        raise NotFoundError("This citizen has no limits yet.")
    return LimitSetPublic.model_validate(found, from_attributes=True)


def limit_versions(
    session: Session, citizen_id: uuid.UUID, page: PageParams
) -> Page[LimitSetPublic]:
    statement = (
        select(LimitSet)
        .where(LimitSet.citizen_id == citizen_id)
        .order_by(col(LimitSet.version).desc())
    )
    return paged(
        session, statement, page, lambda r: LimitSetPublic.model_validate(r, from_attributes=True)
    )


def current_plan(session: Session, citizen_id: uuid.UUID) -> PlanPublic:
    found = session.exec(
        select(Plan).where(Plan.citizen_id == citizen_id).order_by(col(Plan.version).desc())
    ).first()
    if found is None:
        raise NotFoundError("This citizen has no plan yet.")
    return PlanPublic.model_validate(found, from_attributes=True)


def pauses(session: Session, citizen_id: uuid.UUID) -> list[PausePublic]:
    rows: Sequence[PausePeriod] = session.exec(
        select(PausePeriod)
        .where(PausePeriod.citizen_id == citizen_id)
        .order_by(col(PausePeriod.starts_at).desc())
        .limit(200)
    ).all()
    return [PausePublic.model_validate(p, from_attributes=True) for p in rows]


def access_report(
    session: Session, citizen_id: uuid.UUID, page: PageParams
) -> Page[AccessEventPublic]:
    """Who read or changed the citizen's data, newest first."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.citizen_id == citizen_id)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    )
    return paged(
        session,
        statement,
        page,
        lambda r: AccessEventPublic.model_validate(r, from_attributes=True),
    )
