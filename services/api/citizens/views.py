"""Citizens: list (scoped to the caller's teams), create, read, update."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import ColumnElement, func, or_
from sqlmodel import col, select

from pust.db.tables import Citizen
from services.api.audit.recorder import record, record_citizen_reads
from services.api.auth.current import CurrentStaff
from services.api.auth.principal import Role
from services.api.citizens.models import CitizenCreate, CitizenPublic, CitizenUpdate
from services.api.citizens.service import citizen_public, create_citizen
from services.api.deps import ClockDep, SessionDep, SettingsDep
from services.api.pagination import Page, PageDep
from services.api.problems import ConflictError, ForbiddenError, NotFoundError, problem_responses
from services.api.scoping import citizen_for, require_action

router = APIRouter(prefix="/api/v1/citizens", tags=["citizens"])


@router.get(
    "",
    response_model=Page[CitizenPublic],
    summary="Citizens of the caller's care teams",
    responses=problem_responses(401, 404, 422),
)
def list_citizens(
    *,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
    care_team_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains")] = None,
    status: Annotated[str | None, Query(pattern="^(active|ended)$")] = None,
) -> Page[CitizenPublic]:
    if care_team_id is not None and care_team_id not in principal.team_ids:
        raise NotFoundError("No such care team.")
    teams = [care_team_id] if care_team_id else list(principal.team_ids)
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
    total = session.exec(select(func.count()).select_from(Citizen).where(*conditions)).one()
    citizens = session.exec(
        select(Citizen)
        .where(*conditions)
        .order_by(col(Citizen.family_name), col(Citizen.given_name), col(Citizen.id))
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    now = clock.now()
    items = [citizen_public(session, c, now) for c in citizens]
    record_citizen_reads(
        session=session,
        principal=principal,
        now=now,
        action="citizen.list",
        citizens=[(c.id, c.care_team_id) for c in citizens],
    )
    session.commit()
    return Page[CitizenPublic](items=items, total=int(total), limit=page.limit, offset=page.offset)


@router.post(
    "",
    response_model=CitizenPublic,
    status_code=201,
    summary="Enrol a citizen",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def enrol_citizen(
    *,
    body: CitizenCreate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    settings: SettingsDep,
) -> CitizenPublic:
    if principal.role not in (Role.ADMINISTRATOR, Role.TEAM_LEAD):
        raise ForbiddenError("Only a team lead or an administrator may enrol citizens.")
    if body.care_team_id not in principal.team_ids:
        raise NotFoundError("No such care team.")
    now = clock.now()
    citizen = create_citizen(
        session=session,
        body=body,
        actor_id=principal.staff_id,
        now=now,
        timezone=settings.clinic_timezone,
    )
    record(
        session=session,
        principal=principal,
        now=now,
        action="citizen.create",
        resource_type="citizen",
        resource_id=str(citizen.id),
        citizen_id=citizen.id,
        care_team_id=citizen.care_team_id,
    )
    public = citizen_public(session, citizen, now)
    session.commit()
    return public


@router.get(
    "/{citizen_id}",
    response_model=CitizenPublic,
    summary="One citizen",
    responses=problem_responses(401, 404, 422),
)
def read_citizen(
    *, citizen_id: uuid.UUID, session: SessionDep, principal: CurrentStaff, clock: ClockDep
) -> CitizenPublic:
    citizen = citizen_for(session, principal, citizen_id)
    now = clock.now()
    record(
        session=session,
        principal=principal,
        now=now,
        action="citizen.read",
        resource_type="citizen",
        resource_id=str(citizen.id),
        citizen_id=citizen.id,
        care_team_id=citizen.care_team_id,
    )
    public = citizen_public(session, citizen, now)
    session.commit()
    return public


@router.patch(
    "/{citizen_id}",
    response_model=CitizenPublic,
    summary="Change a citizen's details",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_citizen(
    *,
    citizen_id: uuid.UUID,
    body: CitizenUpdate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> CitizenPublic:
    require_action(principal)
    citizen = citizen_for(session, principal, citizen_id)
    if citizen.lock_version != body.expected_version:
        raise ConflictError("Someone else changed this citizen meanwhile. Reload first.")
    if body.care_team_id is not None and body.care_team_id not in principal.team_ids:
        raise NotFoundError("No such care team.")
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    for name, value in changes.items():
        if value is not None:
            setattr(citizen, name, value)
    citizen.lock_version += 1
    session.add(citizen)
    now = clock.now()
    record(
        session=session,
        principal=principal,
        now=now,
        action="citizen.update",
        resource_type="citizen",
        resource_id=str(citizen.id),
        citizen_id=citizen.id,
        care_team_id=citizen.care_team_id,
    )
    session.flush()
    public = citizen_public(session, citizen, now)
    session.commit()
    return public
