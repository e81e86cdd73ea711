"""Citizens: list (scoped to the caller's teams), enrol, read, update. Thin: the work is in
``commands.py`` and ``queries.py``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pust.db.tables import Citizen
from services.api.auth.current import CurrentStaff
from services.api.citizens import commands, queries
from services.api.citizens.models import CitizenCreate, CitizenPublic, CitizenUpdate
from services.api.deps import ClockDep, SettingsDep
from services.api.in_scope import citizen_read
from services.api.pagination import Page, PageDep
from services.api.problems import problem_responses
from services.api.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/api/v1/citizens", tags=["citizens"])


@router.get(
    "",
    response_model=Page[CitizenPublic],
    summary="Citizens of the caller's care teams",
    responses=problem_responses(401, 404, 422),
)
def list_citizens(
    *,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
    care_team_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains")] = None,
    status: Annotated[str | None, Query(pattern="^(active|ended)$")] = None,
) -> Page[CitizenPublic]:
    return queries.list_citizens(
        uow,
        actor=principal,
        now=clock.now(),
        page=page,
        care_team_id=care_team_id,
        q=q,
        status=status,
    )


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
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
    settings: SettingsDep,
) -> CitizenPublic:
    now = clock.now()
    citizen = commands.enrol(
        uow, actor=principal, command=body, now=now, timezone=settings.clinic_timezone
    )
    return queries.citizen_public(uow.session, citizen, now)


@router.get(
    "/{citizen_id}",
    response_model=CitizenPublic,
    summary="One citizen",
    responses=problem_responses(401, 404, 422),
)
def read_citizen(
    *,
    citizen: Annotated[Citizen, Depends(citizen_read("citizen.read"))],
    uow: UnitOfWorkDep,
    clock: ClockDep,
) -> CitizenPublic:
    return queries.citizen_public(uow.session, citizen, clock.now())


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
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> CitizenPublic:
    now = clock.now()
    citizen = commands.update(uow, actor=principal, citizen_id=citizen_id, command=body, now=now)
    return queries.citizen_public(uow.session, citizen, now)
