"""Alerts: read one, its history, and the nurses' actions (claim, acknowledge, resolve,
reopen). Thin: the work is in ``commands.py`` and ``queries.py``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from pust.db.tables import Alert
from services.api.alerts import commands, queries
from services.api.alerts.models import (
    AlertAcknowledgeCreate,
    AlertClaimCreate,
    AlertEventPublic,
    AlertPublic,
    AlertReopenCreate,
    AlertResolveCreate,
)
from services.api.auth.current import CurrentStaff
from services.api.deps import ClockDep
from services.api.in_scope import alert_read
from services.api.problems import problem_responses
from services.api.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

_READ = problem_responses(401, 404, 422)
_ACT = problem_responses(401, 403, 404, 409, 422)


@router.get("/{alert_id}", response_model=AlertPublic, summary="One alert", responses=_READ)
def read_alert(*, alert: Annotated[Alert, Depends(alert_read("alert.read"))]) -> AlertPublic:
    return queries.alert_public(alert)


@router.get(
    "/{alert_id}/events",
    response_model=list[AlertEventPublic],
    summary="The history of one alert",
    responses=_READ,
)
def read_alert_events(
    *, alert: Annotated[Alert, Depends(alert_read("alert.read_events"))], uow: UnitOfWorkDep
) -> list[AlertEventPublic]:
    return queries.alert_events(uow.session, alert.id)


@router.post(
    "/{alert_id}/claim", response_model=AlertPublic, summary="Take an alert", responses=_ACT
)
def claim(
    *,
    alert_id: uuid.UUID,
    body: AlertClaimCreate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> AlertPublic:
    alert = commands.claim(uow, actor=principal, alert_id=alert_id, command=body, now=clock.now())
    return queries.alert_public(alert)


@router.post(
    "/{alert_id}/acknowledge",
    response_model=AlertPublic,
    summary="Acknowledge an alert with an optional note and notice",
    responses=_ACT,
)
def acknowledge(
    *,
    alert_id: uuid.UUID,
    body: AlertAcknowledgeCreate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> AlertPublic:
    alert = commands.acknowledge(
        uow, actor=principal, alert_id=alert_id, command=body, now=clock.now()
    )
    return queries.alert_public(alert)


@router.post(
    "/{alert_id}/resolve",
    response_model=AlertPublic,
    summary="Resolve an alert with an outcome",
    responses=_ACT,
)
def resolve(
    *,
    alert_id: uuid.UUID,
    body: AlertResolveCreate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> AlertPublic:
    alert = commands.resolve(uow, actor=principal, alert_id=alert_id, command=body, now=clock.now())
    return queries.alert_public(alert)


@router.post(
    "/{alert_id}/reopen",
    response_model=AlertPublic,
    summary="Re-open a resolved alert (refused while another is open for the same rule)",
    responses=_ACT,
)
def reopen(
    *,
    alert_id: uuid.UUID,
    body: AlertReopenCreate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> AlertPublic:
    alert = commands.reopen(uow, actor=principal, alert_id=alert_id, command=body, now=clock.now())
    return queries.alert_public(alert)
