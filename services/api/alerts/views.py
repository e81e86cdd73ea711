"""Alerts: read one, its history, and the nurses' actions (claim, acknowledge, resolve)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter
from sqlmodel import Session, col, select

from pust.db import alert_repository
from pust.db.tables import Alert, AlertEvent
from pust.domain.alert_lifecycle import (
    AlertError,
    AlertNotFoundError,
    AlreadyClaimedError,
    StaleAlertError,
)
from services.api.alerts.models import (
    AlertAcknowledgeCreate,
    AlertClaimCreate,
    AlertEventPublic,
    AlertPublic,
    AlertReopenCreate,
    AlertResolveCreate,
)
from services.api.alerts.notices import ACKNOWLEDGED_TEXT, queue_notice
from services.api.audit.recorder import record
from services.api.auth.current import CurrentStaff
from services.api.auth.principal import Principal
from services.api.deps import ClockDep, SessionDep, SettingsDep
from services.api.problems import ApiError, ConflictError, NotFoundError, problem_responses
from services.api.scoping import alert_for, require_action

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

_READ = problem_responses(401, 404, 422)
_ACT = problem_responses(401, 403, 404, 409, 422)


def translate(exc: AlertError) -> ApiError:
    """The alert lifecycle's errors as HTTP problems."""
    if isinstance(exc, AlertNotFoundError):
        return NotFoundError("No such alert.")
    if isinstance(exc, StaleAlertError):
        return ConflictError(
            "Someone else changed this alert since you loaded it. Reload and decide again."
        )
    if isinstance(exc, AlreadyClaimedError):
        return ConflictError("Another nurse has taken this alert.")
    return ConflictError(str(exc))


def to_public(alert: Alert) -> AlertPublic:
    return AlertPublic.model_validate(alert, from_attributes=True)


def _audit(
    session: Session, principal: Principal, alert: Alert, action: str, now: datetime
) -> None:
    record(
        session=session,
        principal=principal,
        now=now,
        action=action,
        resource_type="alert",
        resource_id=str(alert.id),
        citizen_id=alert.citizen_id,
        care_team_id=alert.care_team_id,
    )


def _act(
    *,
    session: Session,
    principal: Principal,
    alert_id: uuid.UUID,
    now: datetime,
    action: str,
    transition: Callable[[], Alert],
) -> Alert:
    """A nurse's action on an alert: may act, may see it, the transition (lifecycle errors
    as problems), the audit event, all in the caller's transaction."""
    require_action(principal)
    alert_for(session, principal, alert_id)
    try:
        alert = transition()
    except AlertError as exc:
        raise translate(exc) from exc
    _audit(session, principal, alert, action, now)
    return alert


@router.get("/{alert_id}", response_model=AlertPublic, summary="One alert", responses=_READ)
def read_alert(
    *, alert_id: uuid.UUID, session: SessionDep, principal: CurrentStaff, clock: ClockDep
) -> AlertPublic:
    alert = alert_for(session, principal, alert_id)
    _audit(session, principal, alert, "alert.read", clock.now())
    session.commit()
    return to_public(alert)


@router.get(
    "/{alert_id}/events",
    response_model=list[AlertEventPublic],
    summary="The history of one alert",
    responses=_READ,
)
def read_alert_events(
    *, alert_id: uuid.UUID, session: SessionDep, principal: CurrentStaff, clock: ClockDep
) -> list[AlertEventPublic]:
    alert = alert_for(session, principal, alert_id)
    events = session.exec(
        select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(col(AlertEvent.id))
    ).all()
    _audit(session, principal, alert, "alert.read_events", clock.now())
    session.commit()
    return [AlertEventPublic.model_validate(e, from_attributes=True) for e in events]


@router.post(
    "/{alert_id}/claim", response_model=AlertPublic, summary="Take an alert", responses=_ACT
)
def claim(
    *,
    alert_id: uuid.UUID,
    body: AlertClaimCreate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> AlertPublic:
    now = clock.now()
    alert = _act(
        session=session,
        principal=principal,
        alert_id=alert_id,
        now=now,
        action="alert.claim",
        transition=lambda: alert_repository.claim_alert(
            session,
            alert_id=alert_id,
            actor_id=principal.staff_id,
            now=now,
            expected_version=body.expected_version,
            take_over=body.take_over,
        ),
    )
    session.commit()
    return to_public(alert)


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
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    settings: SettingsDep,
) -> AlertPublic:
    now = clock.now()
    alert = _act(
        session=session,
        principal=principal,
        alert_id=alert_id,
        now=now,
        action="alert.acknowledge",
        transition=lambda: alert_repository.acknowledge_alert(
            session,
            alert_id=alert_id,
            actor_id=principal.staff_id,
            now=now,
            expected_version=body.expected_version,
            note=body.note or None,
        ),
    )
    if body.notify_citizen:
        queue_notice(
            session=session,
            topic_root=settings.topic_root,
            citizen_id=alert.citizen_id,
            now=now,
            kind="acknowledged",
            text=ACKNOWLEDGED_TEXT,
        )
    session.commit()
    return to_public(alert)


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
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> AlertPublic:
    now = clock.now()
    alert = _act(
        session=session,
        principal=principal,
        alert_id=alert_id,
        now=now,
        action="alert.resolve",
        transition=lambda: alert_repository.resolve_alert(
            session,
            alert_id=alert_id,
            actor_id=principal.staff_id,
            now=now,
            outcome=body.outcome,
            expected_version=body.expected_version,
            note=body.note or None,
        ),
    )
    session.commit()
    return to_public(alert)


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
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> AlertPublic:
    now = clock.now()
    alert = _act(
        session=session,
        principal=principal,
        alert_id=alert_id,
        now=now,
        action="alert.reopen",
        transition=lambda: alert_repository.reopen_alert(
            session,
            alert_id=alert_id,
            actor_id=principal.staff_id,
            now=now,
            reason=body.reason,
            expected_version=body.expected_version,
        ),
    )
    session.commit()
    return to_public(alert)
