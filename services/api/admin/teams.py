"""Care teams and staff (administrators). Thin: the work is in ``commands.py``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlmodel import col, select

from pust.db.tables import CareTeam
from services.api.admin import commands
from services.api.admin.models import (
    CareTeamCreate,
    CareTeamPublic,
    CareTeamUpdate,
    StaffCreate,
    StaffPublic,
    StaffUpdate,
)
from services.api.admin.queries import staff_page, staff_public
from services.api.auth.current import CurrentStaff
from services.api.deps import ClockDep
from services.api.pagination import Page, PageDep
from services.api.problems import problem_responses
from services.api.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/api/v1", tags=["administration"])


@router.get(
    "/care-teams",
    response_model=list[CareTeamPublic],
    summary="Care teams (administrators: all; others: their own)",
    responses=problem_responses(401),
)
def list_teams(*, uow: UnitOfWorkDep, principal: CurrentStaff) -> list[CareTeamPublic]:
    statement = select(CareTeam).order_by(col(CareTeam.name))
    if not principal.is_administrator:
        statement = statement.where(col(CareTeam.id).in_(list(principal.team_ids)))
    return [
        CareTeamPublic.model_validate(t, from_attributes=True)
        for t in uow.session.exec(statement).all()
    ]


@router.post(
    "/care-teams",
    response_model=CareTeamPublic,
    status_code=201,
    summary="Create a care team",
    responses=problem_responses(401, 403, 409, 422),
)
def create_team(
    *, body: CareTeamCreate, uow: UnitOfWorkDep, principal: CurrentStaff, clock: ClockDep
) -> CareTeamPublic:
    team = commands.create_team(uow, actor=principal, command=body, now=clock.now())
    return CareTeamPublic.model_validate(team, from_attributes=True)


@router.patch(
    "/care-teams/{team_id}",
    response_model=CareTeamPublic,
    summary="Rename a care team or change its time zone",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_team(
    *,
    team_id: uuid.UUID,
    body: CareTeamUpdate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> CareTeamPublic:
    team = commands.update_team(
        uow, actor=principal, team_id=team_id, command=body, now=clock.now()
    )
    return CareTeamPublic.model_validate(team, from_attributes=True)


@router.get(
    "/staff",
    response_model=Page[StaffPublic],
    summary="Staff accounts",
    responses=problem_responses(401, 403, 422),
)
def list_staff(*, uow: UnitOfWorkDep, principal: CurrentStaff, page: PageDep) -> Page[StaffPublic]:
    return staff_page(uow.session, principal, page)


@router.post(
    "/staff",
    response_model=StaffPublic,
    status_code=201,
    summary="Create a staff account",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_staff(
    *, body: StaffCreate, uow: UnitOfWorkDep, principal: CurrentStaff, clock: ClockDep
) -> StaffPublic:
    user = commands.create_staff(uow, actor=principal, command=body, now=clock.now())
    return staff_public(uow.session, user)


@router.patch(
    "/staff/{staff_id}",
    response_model=StaffPublic,
    summary="Change a staff account",
    responses=problem_responses(401, 403, 404, 422),
)
def update_staff(
    *,
    staff_id: uuid.UUID,
    body: StaffUpdate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> StaffPublic:
    user = commands.update_staff(
        uow, actor=principal, staff_id=staff_id, command=body, now=clock.now()
    )
    return staff_public(uow.session, user)
