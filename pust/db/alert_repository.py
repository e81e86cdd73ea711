"""Persisting alert transitions. Every function writes one :class:`AlertEvent` per transition.

The caller owns the transaction (``with session_scope(engine) as session``); nothing here
commits. Nurses' actions take ``expected_version`` (the ``lock_version`` the nurse's screen
showed): if someone else changed the alert meanwhile, :class:`StaleAlertError` is raised and
nothing is written. The row is locked (``FOR UPDATE`` on PostgreSQL; SQLite transactions
begin IMMEDIATE) so two concurrent acknowledgements are serialised and the second is stale.

Raising alerts lives in :mod:`pust.db.alert_raising`; its names are re-exported here so that
callers find every alert transition in one place.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from pust.db.alert_raising import AlertChange, Breach, raise_or_repeat
from pust.db.alert_rows import (
    close_alert,
    find_open,
    remember_open,
    routing_policy,
    schedule_escalation,
    snapshot,
    touch,
    write_event,
)
from pust.db.outbox import enqueue_notice
from pust.db.tables.alerts import Alert
from pust.domain.alert_lifecycle import (
    AlertNotFoundError,
    AlreadyOpenError,
    EventKind,
    Outcome,
    StaleAlertError,
    check_acknowledge,
    check_claim,
    check_reopen,
    check_resolve,
    open_key,
)
from pust.domain.notices import ACKNOWLEDGED_TEXT_DA, acknowledged_notice
from pust.domain.severity import AlertStatus

__all__ = [
    "ACKNOWLEDGED_NOTICE_DA",
    "AlertChange",
    "Breach",
    "acknowledge_alert",
    "auto_resolve",
    "claim_alert",
    "raise_or_repeat",
    "record_event",
    "reopen_alert",
    "resolve_alert",
    "routing_policy",
]

ACKNOWLEDGED_NOTICE_DA = ACKNOWLEDGED_TEXT_DA


def _load(session: Session, alert_id: uuid.UUID, expected_version: int | None) -> Alert:
    statement = (
        select(Alert)
        .where(Alert.id == alert_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    alert = session.exec(statement).first()
    if alert is None:
        raise AlertNotFoundError(alert_id)
    if expected_version is not None and alert.lock_version != expected_version:
        raise StaleAlertError(alert_id, expected_version, alert.lock_version)
    return alert


def claim_alert(
    session: Session,
    *,
    alert_id: uuid.UUID,
    actor_id: uuid.UUID,
    now: datetime,
    expected_version: int | None = None,
    take_over: bool = False,
) -> Alert:
    """A nurse takes an open alert ("I am on it"). Claiming someone else's claim needs
    ``take_over``; claiming one's own again changes nothing."""
    alert = _load(session, alert_id, expected_version)
    check_claim(snapshot(alert), actor_id=actor_id, take_over=take_over)
    if alert.claimed_by == actor_id:
        return alert
    previous = alert.claimed_by
    alert.claimed_by = actor_id
    alert.claimed_at = now
    touch(alert, now)
    detail = {"taken_over_from": str(previous)} if previous else {}
    write_event(session, alert, EventKind.CLAIMED, now=now, actor_id=actor_id, detail=detail)
    return alert


def acknowledge_alert(
    session: Session,
    *,
    alert_id: uuid.UUID,
    actor_id: uuid.UUID,
    now: datetime,
    expected_version: int | None = None,
    note: str | None = None,
    receipt_topic: str | None = None,
    receipt_text_da: str = ACKNOWLEDGED_NOTICE_DA,
) -> Alert:
    """The nurse has reviewed the alert ("kvitteret"); escalation stops. With
    ``receipt_topic`` (the citizen's tablet ``notices`` topic), the citizen gets a receipt
    through the outbox, in the same transaction."""
    alert = _load(session, alert_id, expected_version)
    check_acknowledge(snapshot(alert))
    alert.status = AlertStatus.ACKNOWLEDGED.value
    alert.acknowledged_by = actor_id
    alert.acknowledged_at = now
    alert.acknowledge_note = note
    if alert.claimed_by is None:
        alert.claimed_by, alert.claimed_at = actor_id, now
    alert.next_escalation_at = None
    touch(alert, now)
    write_event(
        session,
        alert,
        EventKind.ACKNOWLEDGED,
        now=now,
        actor_id=actor_id,
        detail={
            "severity": alert.severity,
            "with_note": note is not None,
            "receipt": receipt_topic is not None,
        },
    )
    if receipt_topic is not None:
        enqueue_notice(
            session,
            destination=receipt_topic,
            notice=acknowledged_notice(
                event_key=f"ack:{alert.id}:{alert.lock_version}", text=receipt_text_da
            ),
            now=now,
        )
    return alert


def resolve_alert(
    session: Session,
    *,
    alert_id: uuid.UUID,
    actor_id: uuid.UUID,
    now: datetime,
    outcome: Outcome,
    expected_version: int | None = None,
    note: str | None = None,
) -> Alert:
    """Close the alert with an outcome (an open alert is acknowledged by the same act)."""
    alert = _load(session, alert_id, expected_version)
    check_resolve(snapshot(alert), outcome=outcome)
    if alert.status == AlertStatus.OPEN.value:
        alert.acknowledged_by, alert.acknowledged_at = actor_id, now
    close_alert(alert, outcome=outcome, actor_id=actor_id, note=note, now=now)
    write_event(
        session,
        alert,
        EventKind.RESOLVED,
        now=now,
        actor_id=actor_id,
        detail={"outcome": outcome.value, "with_note": note is not None},
    )
    return alert


def reopen_alert(
    session: Session,
    *,
    alert_id: uuid.UUID,
    actor_id: uuid.UUID,
    now: datetime,
    reason: str,
    expected_version: int | None = None,
) -> Alert:
    """A nurse re-opens a resolved alert (refused while another one for the same citizen and
    rule is open)."""
    alert = _load(session, alert_id, expected_version)
    check_reopen(snapshot(alert))
    if find_open(session, alert.citizen_id, alert.rule_key) is not None:
        raise AlreadyOpenError(
            f"another alert for rule {alert.rule_key} is open for this citizen; use that one"
        )
    alert.status = AlertStatus.OPEN.value
    alert.open_key = open_key(alert.citizen_id, alert.rule_key)
    alert.resolved_at = alert.resolved_by = alert.outcome = alert.resolve_note = None
    alert.acknowledged_at = alert.acknowledged_by = alert.acknowledge_note = None
    schedule_escalation(session, alert, start=now)
    touch(alert, now)
    remember_open(session, alert)
    write_event(
        session, alert, EventKind.REOPENED, now=now, actor_id=actor_id, detail={"reason": reason}
    )
    return alert


def auto_resolve(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    rule_key: str,
    now: datetime,
    observed_at: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> Alert | None:
    """The system closes the not-resolved alert for this citizen and rule (readings back to
    normal, tablet heard from again); None when there is none. With ``observed_at``, a normal
    value older than the alert's last breach resolves nothing."""
    alert = find_open(session, citizen_id, rule_key)
    if alert is None:
        return None
    if observed_at is not None and observed_at < alert.last_seen_at:
        return None
    close_alert(alert, outcome=Outcome.AUTO_RESOLVED, actor_id=None, note=None, now=now)
    write_event(session, alert, EventKind.AUTO_RESOLVED, now=now, detail=detail)
    return alert


def record_event(
    session: Session,
    alert: Alert,
    kind: EventKind,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """A system event on an alert that is not a state change (escalated, routed)."""
    write_event(session, alert, kind, now=now, detail=detail)
