"""The nurses' actions on one alert: claim, acknowledge, resolve, reopen. Each goes through
:func:`_act`: the caller may act and may see the alert, the transition (the alert aggregate,
:mod:`pust.domain.alert_aggregate`, behind ``uow.alerts``; its errors pass through to
:func:`services.api.problems.as_api_error`) and the audit entry, in the caller's unit of
work. The JSON routes and the web forms both call these."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from pust.db.tables import Alert
from pust.domain.notices import ACKNOWLEDGED_TEXT_DA
from services.api.alerts.models import (
    AlertAcknowledgeCreate,
    AlertClaimCreate,
    AlertReopenCreate,
    AlertResolveCreate,
)
from services.api.auth.principal import Principal
from services.api.scoping import ensure_visible, require_action
from services.api.unit_of_work import UnitOfWork


def _act(
    uow: UnitOfWork,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    action: str,
    now: datetime,
    change: Callable[[], Alert],
) -> Alert:
    """The one path of a nurse's action on an alert: may act, may see, change, audit."""
    require_action(actor)
    found = uow.alerts.get(alert_id)
    ensure_visible(actor, found.care_team_id if found else None, "No such alert.")
    alert = change()
    uow.audit.record(
        actor=actor,
        now=now,
        action=action,
        resource_type="alert",
        resource_id=str(alert.id),
        citizen_id=alert.citizen_id,
        care_team_id=alert.care_team_id,
    )
    return alert


def claim(
    uow: UnitOfWork,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    command: AlertClaimCreate,
    now: datetime,
) -> Alert:
    return _act(
        uow,
        actor=actor,
        alert_id=alert_id,
        action="alert.claim",
        now=now,
        change=lambda: uow.alerts.claim(
            alert_id=alert_id,
            actor_id=actor.staff_id,
            now=now,
            expected_version=command.expected_version,
            take_over=command.take_over,
        ),
    )


def acknowledge(
    uow: UnitOfWork,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    command: AlertAcknowledgeCreate,
    now: datetime,
) -> Alert:
    alert = _act(
        uow,
        actor=actor,
        alert_id=alert_id,
        action="alert.acknowledge",
        now=now,
        change=lambda: uow.alerts.acknowledge(
            alert_id=alert_id,
            actor_id=actor.staff_id,
            now=now,
            expected_version=command.expected_version,
            note=command.note or None,
        ),
    )
    if command.notify_citizen:
        uow.tablets.notify(
            citizen_id=alert.citizen_id, kind="acknowledged", text=ACKNOWLEDGED_TEXT_DA, now=now
        )
    return alert


def resolve(
    uow: UnitOfWork,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    command: AlertResolveCreate,
    now: datetime,
) -> Alert:
    return _act(
        uow,
        actor=actor,
        alert_id=alert_id,
        action="alert.resolve",
        now=now,
        change=lambda: uow.alerts.resolve(
            alert_id=alert_id,
            actor_id=actor.staff_id,
            now=now,
            outcome=command.outcome,
            expected_version=command.expected_version,
            note=command.note or None,
        ),
    )


def reopen(
    uow: UnitOfWork,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    command: AlertReopenCreate,
    now: datetime,
) -> Alert:
    return _act(
        uow,
        actor=actor,
        alert_id=alert_id,
        action="alert.reopen",
        now=now,
        change=lambda: uow.alerts.reopen(
            alert_id=alert_id,
            actor_id=actor.staff_id,
            now=now,
            reason=command.reason,
            expected_version=command.expected_version,
        ),
    )
