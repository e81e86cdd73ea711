"""Caring for a citizen: limits and plan (versioned, with a reason), pauses, messages to
the tablet, and the access report ("who looked at my data")."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy import func
from sqlmodel import col, select

from pust.db.tables import AuditEvent, LimitSet, PausePeriod
from pust.domain.limits import InvalidRuleSetError, parse_rule_set
from pust.domain.plans import InvalidPlanError, parse_plan
from services.api.alerts.notices import queue_notice
from services.api.auth.current import CurrentStaff
from services.api.auth.principal import Role
from services.api.citizens.models import (
    AccessEventPublic,
    LimitSetPublic,
    LimitSetUpdate,
    MessageCreate,
    MessagePublic,
    PauseCreate,
    PausePublic,
    PlanPublic,
    PlanUpdate,
)
from services.api.citizens.records import audit_citizen
from services.api.citizens.service import current_limit_set, current_plan, save_limits, save_plan
from services.api.deps import ClockDep, SessionDep, SettingsDep
from services.api.pagination import Page, PageDep
from services.api.problems import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    problem_responses,
)
from services.api.scoping import citizen_for, current_device_id, require_action

router = APIRouter(prefix="/api/v1/citizens/{citizen_id}", tags=["citizen care"])

_READ = problem_responses(401, 404, 422)
_ACT = problem_responses(401, 403, 404, 409, 422)


@router.get(
    "/limits", response_model=LimitSetPublic, summary="The limits in force", responses=_READ
)
def read_limits(
    *, citizen_id: uuid.UUID, session: SessionDep, principal: CurrentStaff, clock: ClockDep
) -> LimitSetPublic:
    citizen = citizen_for(session, principal, citizen_id)
    limits = current_limit_set(session, citizen.id)
    if limits is None:
        raise NotFoundError("This citizen has no limits yet.")
    audit_citizen(session, principal, citizen, action="citizen.limits.read", now=clock.now())
    session.commit()
    return LimitSetPublic.model_validate(limits, from_attributes=True)


@router.get(
    "/limits/versions",
    response_model=Page[LimitSetPublic],
    summary="Every version of the limits, newest first (who, when, why)",
    responses=_READ,
)
def limit_history(
    *,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
) -> Page[LimitSetPublic]:
    citizen = citizen_for(session, principal, citizen_id)
    condition = col(LimitSet.citizen_id) == citizen.id
    total = session.exec(select(func.count()).select_from(LimitSet).where(condition)).one()
    rows = session.exec(
        select(LimitSet)
        .where(condition)
        .order_by(col(LimitSet.version).desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    audit_citizen(session, principal, citizen, action="citizen.limits.read", now=clock.now())
    session.commit()
    return Page[LimitSetPublic](
        items=[LimitSetPublic.model_validate(r, from_attributes=True) for r in rows],
        total=int(total),
        limit=page.limit,
        offset=page.offset,
    )


@router.put(
    "/limits",
    response_model=LimitSetPublic,
    summary="Change the limits (writes the next version with the reason)",
    responses=_ACT,
)
def change_limits(
    *,
    citizen_id: uuid.UUID,
    body: LimitSetUpdate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> LimitSetPublic:
    require_action(principal)
    citizen = citizen_for(session, principal, citizen_id)
    try:
        rules = parse_rule_set(body.rules)
    except InvalidRuleSetError as exc:
        raise InvalidInputError("; ".join(exc.problems)) from exc
    now = clock.now()
    saved = save_limits(
        session=session,
        citizen=citizen,
        expected_version=body.expected_version,
        rules=rules.to_json(),
        reason=body.reason,
        actor_id=principal.staff_id,
        now=now,
    )
    audit_citizen(
        session,
        principal,
        citizen,
        action="citizen.limits.change",
        now=now,
        resource_type="limit_set",
        resource_id=str(saved.id),
    )
    session.commit()
    return LimitSetPublic.model_validate(saved, from_attributes=True)


@router.get(
    "/plan", response_model=PlanPublic, summary="The measurement plan in force", responses=_READ
)
def read_plan(
    *, citizen_id: uuid.UUID, session: SessionDep, principal: CurrentStaff, clock: ClockDep
) -> PlanPublic:
    citizen = citizen_for(session, principal, citizen_id)
    plan = current_plan(session, citizen.id)
    if plan is None:
        raise NotFoundError("This citizen has no plan yet.")
    audit_citizen(session, principal, citizen, action="citizen.plan.read", now=clock.now())
    session.commit()
    return PlanPublic.model_validate(plan, from_attributes=True)


@router.put(
    "/plan",
    response_model=PlanPublic,
    summary="Change the plan (next version; the tablet gets it on its plan topic)",
    responses=_ACT,
)
def change_plan(
    *,
    citizen_id: uuid.UUID,
    body: PlanUpdate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    settings: SettingsDep,
) -> PlanPublic:
    require_action(principal)
    citizen = citizen_for(session, principal, citizen_id)
    try:
        plan = parse_plan(body.plan)
    except InvalidPlanError as exc:
        raise InvalidInputError("; ".join(exc.problems)) from exc
    now = clock.now()
    saved = save_plan(
        session=session,
        citizen=citizen,
        expected_version=body.expected_version,
        plan=plan,
        reason=body.reason,
        actor_id=principal.staff_id,
        now=now,
        topic_root=settings.topic_root,
    )
    audit_citizen(
        session,
        principal,
        citizen,
        action="citizen.plan.change",
        now=now,
        resource_type="plan",
        resource_id=str(saved.id),
    )
    session.commit()
    return PlanPublic.model_validate(saved, from_attributes=True)


@router.get(
    "/pauses", response_model=list[PausePublic], summary="Monitoring pauses", responses=_READ
)
def list_pauses(
    *, citizen_id: uuid.UUID, session: SessionDep, principal: CurrentStaff, clock: ClockDep
) -> list[PausePublic]:
    citizen = citizen_for(session, principal, citizen_id)
    rows = session.exec(
        select(PausePeriod)
        .where(PausePeriod.citizen_id == citizen.id)
        .order_by(col(PausePeriod.starts_at).desc())
        .limit(200)
    ).all()
    audit_citizen(session, principal, citizen, action="citizen.pauses.read", now=clock.now())
    session.commit()
    return [PausePublic.model_validate(p, from_attributes=True) for p in rows]


@router.post(
    "/pauses",
    response_model=PausePublic,
    status_code=201,
    summary="Pause monitoring (admission, holiday): no missed-measurement alarms",
    responses=_ACT,
)
def pause_monitoring(
    *,
    citizen_id: uuid.UUID,
    body: PauseCreate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> PausePublic:
    require_action(principal)
    citizen = citizen_for(session, principal, citizen_id)
    if body.starts_at.tzinfo is None or (body.ends_at is not None and body.ends_at.tzinfo is None):
        raise InvalidInputError("Times need a time zone offset.")
    if body.ends_at is not None and body.ends_at <= body.starts_at:
        raise InvalidInputError("A pause must end after it starts.")
    now = clock.now()
    pause = PausePeriod(
        citizen_id=citizen.id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
        created_by=principal.staff_id,
        created_at=now,
    )
    session.add(pause)
    session.flush()
    audit_citizen(
        session,
        principal,
        citizen,
        action="citizen.pause",
        now=now,
        resource_type="pause",
        resource_id=str(pause.id),
    )
    session.commit()
    return PausePublic.model_validate(pause, from_attributes=True)


@router.post(
    "/pauses/{pause_id}/end", response_model=PausePublic, summary="End a pause now", responses=_ACT
)
def end_pause(
    *,
    citizen_id: uuid.UUID,
    pause_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> PausePublic:
    require_action(principal)
    citizen = citizen_for(session, principal, citizen_id)
    pause = session.get(PausePeriod, pause_id)
    if pause is None or pause.citizen_id != citizen.id:
        raise NotFoundError("No such pause.")
    now = clock.now()
    if pause.ends_at is not None and pause.ends_at <= now:
        raise ConflictError("This pause has ended already.")
    pause.ends_at = max(now, pause.starts_at)
    session.add(pause)
    audit_citizen(
        session,
        principal,
        citizen,
        action="citizen.pause_end",
        now=now,
        resource_type="pause",
        resource_id=str(pause.id),
    )
    session.commit()
    return PausePublic.model_validate(pause, from_attributes=True)


@router.post(
    "/messages",
    response_model=MessagePublic,
    status_code=202,
    summary="Send the citizen a message (shown on the tablet)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def send_message(
    *,
    citizen_id: uuid.UUID,
    body: MessageCreate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    settings: SettingsDep,
) -> MessagePublic:
    require_action(principal)
    citizen = citizen_for(session, principal, citizen_id)
    now = clock.now()
    notice_id = queue_notice(
        session=session,
        topic_root=settings.topic_root,
        citizen_id=citizen.id,
        now=now,
        kind=body.kind,
        text=body.text,
    )
    device_id = current_device_id(session, citizen.id)
    if notice_id is None or device_id is None:
        raise ConflictError("The citizen has no tablet assigned.")
    audit_citizen(
        session,
        principal,
        citizen,
        action="citizen.message",
        now=now,
        resource_type="notice",
        resource_id=str(notice_id),
    )
    session.commit()
    return MessagePublic(notice_id=notice_id, device_id=device_id)


@router.get(
    "/access-report",
    response_model=Page[AccessEventPublic],
    summary="Who read or changed this citizen's data, newest first",
    responses=problem_responses(401, 403, 404, 422),
)
def access_report(
    *,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
) -> Page[AccessEventPublic]:
    if principal.role not in (Role.TEAM_LEAD, Role.ADMINISTRATOR):
        raise ForbiddenError("Only a team lead or an administrator may see the access report.")
    citizen = citizen_for(session, principal, citizen_id)
    condition = col(AuditEvent.citizen_id) == citizen.id
    total = session.exec(select(func.count()).select_from(AuditEvent).where(condition)).one()
    rows = session.exec(
        select(AuditEvent)
        .where(condition)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    audit_citizen(session, principal, citizen, action="citizen.access_report.read", now=clock.now())
    session.commit()
    return Page[AccessEventPublic](
        items=[AccessEventPublic.model_validate(r, from_attributes=True) for r in rows],
        total=int(total),
        limit=page.limit,
        offset=page.offset,
    )
