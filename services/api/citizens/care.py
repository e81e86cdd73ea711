"""Caring for a citizen: limits and plan (versioned, with a reason), pauses, messages to
the tablet, and the access report ("who looked at my data"). Thin: the work is in
``commands.py`` and ``queries.py``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from pust.db.tables import Citizen
from services.api.auth.current import CurrentStaff
from services.api.auth.principal import Role
from services.api.citizens import commands, queries
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
from services.api.deps import ClockDep
from services.api.in_scope import citizen_read
from services.api.pagination import Page, PageDep
from services.api.problems import problem_responses
from services.api.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/api/v1/citizens/{citizen_id}", tags=["citizen care"])

_READ = problem_responses(401, 404, 422)
_ACT = problem_responses(401, 403, 404, 409, 422)

LimitsRead = Annotated[Citizen, Depends(citizen_read("citizen.limits.read"))]
AccessReportRead = Annotated[
    Citizen,
    Depends(
        citizen_read(
            "citizen.access_report.read",
            roles=frozenset({Role.TEAM_LEAD, Role.ADMINISTRATOR}),
            refusal="Only a team lead or an administrator may see the access report.",
        )
    ),
]


@router.get(
    "/limits", response_model=LimitSetPublic, summary="The limits in force", responses=_READ
)
def read_limits(*, citizen: LimitsRead, uow: UnitOfWorkDep) -> LimitSetPublic:
    return queries.current_limits(uow.session, citizen.id)


@router.get(
    "/limits/versions",
    response_model=Page[LimitSetPublic],
    summary="Every version of the limits, newest first (who, when, why)",
    responses=_READ,
)
def limit_history(
    *, citizen: LimitsRead, uow: UnitOfWorkDep, page: PageDep
) -> Page[LimitSetPublic]:
    return queries.limit_versions(uow.session, citizen.id, page)


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
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> LimitSetPublic:
    saved = commands.change_limits(
        uow, actor=principal, citizen_id=citizen_id, command=body, now=clock.now()
    )
    return LimitSetPublic.model_validate(saved, from_attributes=True)


@router.get(
    "/plan", response_model=PlanPublic, summary="The measurement plan in force", responses=_READ
)
def read_plan(
    *,
    citizen: Annotated[Citizen, Depends(citizen_read("citizen.plan.read"))],
    uow: UnitOfWorkDep,
) -> PlanPublic:
    return queries.current_plan(uow.session, citizen.id)


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
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> PlanPublic:
    saved = commands.change_plan(
        uow, actor=principal, citizen_id=citizen_id, command=body, now=clock.now()
    )
    return PlanPublic.model_validate(saved, from_attributes=True)


@router.get(
    "/pauses", response_model=list[PausePublic], summary="Monitoring pauses", responses=_READ
)
def list_pauses(
    *,
    citizen: Annotated[Citizen, Depends(citizen_read("citizen.pauses.read"))],
    uow: UnitOfWorkDep,
) -> list[PausePublic]:
    return queries.pauses(uow.session, citizen.id)


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
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> PausePublic:
    period = commands.pause(
        uow, actor=principal, citizen_id=citizen_id, command=body, now=clock.now()
    )
    return PausePublic.model_validate(period, from_attributes=True)


@router.post(
    "/pauses/{pause_id}/end", response_model=PausePublic, summary="End a pause now", responses=_ACT
)
def end_pause(
    *,
    citizen_id: uuid.UUID,
    pause_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> PausePublic:
    period = commands.end_pause(
        uow, actor=principal, citizen_id=citizen_id, pause_id=pause_id, now=clock.now()
    )
    return PausePublic.model_validate(period, from_attributes=True)


@router.post(
    "/messages",
    response_model=MessagePublic,
    status_code=202,
    summary="Send the citizen a message (shown on the tablet)",
    responses=_ACT,
)
def send_message(
    *,
    citizen_id: uuid.UUID,
    body: MessageCreate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> MessagePublic:
    notice_id, device_id = commands.send_message(
        uow, actor=principal, citizen_id=citizen_id, command=body, now=clock.now()
    )
    return MessagePublic(notice_id=notice_id, device_id=device_id)


@router.get(
    "/access-report",
    response_model=Page[AccessEventPublic],
    summary="Who read or changed this citizen's data, newest first",
    responses=problem_responses(401, 403, 404, 422),
)
def access_report(
    *, citizen: AccessReportRead, uow: UnitOfWorkDep, page: PageDep
) -> Page[AccessEventPublic]:
    return queries.access_report(uow.session, citizen.id, page)
