"""The nurses' actions on one alert: claim, acknowledge, resolve, reopen. Each checks that the
caller may act and may see the alert, applies the aggregate's transition
(:mod:`pust.domain.alert_aggregate`, through ``uow.alerts.change``; its errors pass through to
:func:`services.api.problems.as_api_error`) and audits, in the caller's unit of
work. The JSON routes and the web forms both call these."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from pust.db.tables import Alert
from pust.domain import alert_aggregate
from pust.domain.notices import ACKNOWLEDGED_TEXT_DA
from pust.domain.severity import Severity
from services.api.alerts.models import (
    AlertAcknowledgeCreate,
    AlertClaimCreate,
    AlertReopenCreate,
    AlertResolveCreate,
)
from services.api.alerts.repository import Action
from services.api.auth.principal import Principal
from services.api.problems import DocumentationMissingError
from services.api.scoping import ensure_visible, require_action
from services.api.unit_of_work import UnitOfWork


def alert_to_change(uow: UnitOfWork, *, actor: Principal, alert_id: uuid.UUID) -> Alert:
    require_action(actor)
    alert = uow.alerts.get(alert_id)
    ensure_visible(actor, alert.care_team_id if alert else None, "No such alert.")
    assert alert is not None
    return alert


def audit_alert(
    uow: UnitOfWork, *, actor: Principal, alert: Alert, action: str, now: datetime
) -> None:
    uow.audit.record(
        actor=actor,
        now=now,
        action=action,
        resource_type="alert",
        resource_id=str(alert.id),
        citizen_id=alert.citizen_id,
        care_team_id=alert.care_team_id,
    )


def _transition(
    decide: Action,
    uow: UnitOfWork,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    expected_version: int | None,
    audited_as: str,
    now: datetime,
    check: Callable[[Alert], None] | None = None,
) -> Alert:
    """May the actor act on the alert (and ``check`` it), then the aggregate's decision,
    stored, and audited."""
    found = alert_to_change(uow, actor=actor, alert_id=alert_id)
    if check is not None:
        check(found)
    alert = uow.alerts.change(alert_id, expected_version, decide)
    audit_alert(uow, actor=actor, alert=alert, action=audited_as, now=now)
    return alert


def claim(
    uow: UnitOfWork,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    command: AlertClaimCreate,
    now: datetime,
) -> Alert:
    return _transition(
        lambda s: alert_aggregate.claim(
            s, actor_id=actor.staff_id, now=now, take_over=command.take_over
        ),
        uow,
        actor=actor,
        alert_id=alert_id,
        expected_version=command.expected_version,
        audited_as="alert.claim",
        now=now,
    )


def acknowledge(
    uow: UnitOfWork,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    command: AlertAcknowledgeCreate,
    now: datetime,
) -> Alert:
    alert = _transition(
        lambda s: alert_aggregate.acknowledge(
            s, actor_id=actor.staff_id, now=now, note=command.note or None
        ),
        uow,
        actor=actor,
        alert_id=alert_id,
        expected_version=command.expected_version,
        audited_as="alert.acknowledge",
        now=now,
        check=lambda found: require_acknowledge_documentation(found, command.note),
    )
    if command.notify_citizen:
        uow.tablets.notify(
            citizen_id=alert.citizen_id, kind="acknowledged", text=ACKNOWLEDGED_TEXT_DA, now=now
        )
    return alert


def require_acknowledge_documentation(alert: Alert, note: str | None) -> None:
    """A red alert is acknowledged only with a note saying what the nurse saw or did: an
    empty acknowledgement of a red documents nothing. Never a default filled in."""
    if alert.severity == Severity.RED.value and not (note or "").strip():
        raise DocumentationMissingError(
            "A note is required to acknowledge a red alert.",
            field="note",
            message_key="note_required_red_ack",
            message_da="En rød alarm kvitteres kun med en note",
        )


def require_resolve_documentation(alert: Alert, note: str | None) -> None:
    """A red alert is closed only with a note saying what was done (the outcome alone is a
    category, not documentation). Never a default filled in."""
    if alert.severity == Severity.RED.value and not (note or "").strip():
        raise DocumentationMissingError(
            "A note is required to resolve a red alert.",
            field="note",
            message_key="note_required_red",
            message_da="En rød alarm afsluttes kun med en note",
        )


def resolve(
    uow: UnitOfWork,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    command: AlertResolveCreate,
    now: datetime,
) -> Alert:
    note = command.note or None
    return _transition(
        lambda s: alert_aggregate.resolve(
            s, actor_id=actor.staff_id, now=now, outcome=command.outcome, note=note
        ),
        uow,
        actor=actor,
        alert_id=alert_id,
        expected_version=command.expected_version,
        audited_as="alert.resolve",
        now=now,
        check=lambda found: require_resolve_documentation(found, command.note),
    )


def reopen(
    uow: UnitOfWork,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    command: AlertReopenCreate,
    now: datetime,
) -> Alert:
    return _transition(
        lambda s: alert_aggregate.reopen(
            s,
            actor_id=actor.staff_id,
            now=now,
            reason=command.reason,
            policy=uow.alerts.routing_policy(s.care_team_id),
            another_is_open=uow.alerts.another_is_open(s),
        ),
        uow,
        actor=actor,
        alert_id=alert_id,
        expected_version=command.expected_version,
        audited_as="alert.reopen",
        now=now,
    )
