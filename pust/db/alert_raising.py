"""Raising alerts: open one for a breach, or repeat/re-open the one for the same citizen
and rule (see the re-open policy in :mod:`pust.domain.alert_lifecycle`). The caller owns the
transaction.

One open alert per citizen and rule is a database fact (``Alert.open_key`` is unique); a race
between two triage workers inserting the same alert is resolved by retrying as a repeat."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pust.db.alert_rows import (
    find_open,
    forget_open,
    remember_open,
    schedule_escalation,
    snapshot,
    write_event,
)
from pust.db.tables.alerts import Alert
from pust.domain.alert_lifecycle import EventKind, on_repeat, open_key, reopens_after_resolution
from pust.domain.severity import AlertKind, AlertStatus, Severity, band_for


@dataclass(frozen=True, slots=True)
class Breach:
    """A reason to raise (or repeat) an alert for one citizen and rule."""

    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    kind: AlertKind
    rule_key: str
    severity: Severity
    observed_at: datetime
    reasons: list[dict[str, Any]] = field(default_factory=list)
    value: float | None = None
    reading_id: int | None = None
    response_id: int | None = None
    limit_set_id: uuid.UUID | None = None
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class AlertChange:
    alert: Alert
    event: EventKind | None  # None: nothing changed (the same reading seen again)


def _last_resolved(session: Session, citizen_id: uuid.UUID, rule_key: str) -> Alert | None:
    statement = (
        select(Alert)
        .where(Alert.citizen_id == citizen_id, Alert.rule_key == rule_key)
        .where(Alert.status == AlertStatus.RESOLVED.value)
        .order_by(col(Alert.resolved_at).desc())
        .limit(1)
        .with_for_update()
    )
    return session.exec(statement).first()


def _apply_breach(alert: Alert, breach: Breach, severity: Severity, now: datetime) -> None:
    alert.severity = severity.value
    alert.band_order = band_for(AlertKind(alert.kind), severity).order
    if breach.observed_at >= alert.last_seen_at:
        alert.last_seen_at = breach.observed_at
        alert.last_value = breach.value
        alert.last_reading_id = breach.reading_id
        alert.last_response_id = breach.response_id
        alert.reasons = breach.reasons
        alert.limit_set_id = breach.limit_set_id
    alert.updated_at = now


def _breach_detail(breach: Breach) -> dict[str, Any]:
    detail: dict[str, Any] = {"severity": breach.severity.value}
    if breach.reading_id is not None:
        detail["reading_id"] = breach.reading_id
    if breach.response_id is not None:
        detail["response_id"] = breach.response_id
    return detail


def _already_counted(alert: Alert, breach: Breach) -> bool:
    if breach.reading_id is not None:
        return alert.last_reading_id == breach.reading_id
    if breach.response_id is not None:
        return alert.last_response_id == breach.response_id
    return False


def _repeat(session: Session, alert: Alert, breach: Breach, now: datetime) -> AlertChange:
    if _already_counted(alert, breach):
        return AlertChange(alert, None)
    decision = on_repeat(snapshot(alert), breach.severity)
    worse = Severity(alert.severity).rank < decision.severity.rank
    alert.count += 1
    _apply_breach(alert, breach, decision.severity, now)
    kind = EventKind.REPEATED
    if decision.back_to_open:
        alert.status = AlertStatus.OPEN.value
        alert.acknowledged_at = alert.acknowledged_by = alert.acknowledge_note = None
        kind = EventKind.REOPENED
        schedule_escalation(session, alert, start=now)
    elif worse and alert.status == AlertStatus.OPEN.value and alert.escalation_level == 0:
        # a worse severity may have a faster ladder (red after yellow)
        schedule_escalation(session, alert, start=alert.first_seen_at)
    alert.lock_version += 1
    detail = _breach_detail(breach) | {"count": alert.count}
    write_event(session, alert, kind, now=now, detail=detail)
    return AlertChange(alert, kind)


def _reopen_resolved(session: Session, alert: Alert, breach: Breach, now: datetime) -> AlertChange:
    alert.status = AlertStatus.OPEN.value
    alert.open_key = open_key(alert.citizen_id, alert.rule_key)
    alert.count += 1
    alert.resolved_at = None
    alert.resolved_by = None
    alert.outcome = None
    _apply_breach(alert, breach, breach.severity, now)
    schedule_escalation(session, alert, start=now)
    alert.lock_version += 1
    remember_open(session, alert)
    write_event(session, alert, EventKind.REOPENED, now=now, detail=_breach_detail(breach))
    return AlertChange(alert, EventKind.REOPENED)


def raise_or_repeat(session: Session, *, breach: Breach, now: datetime) -> AlertChange:
    """Open an alert for the breach, or update the open one for the same citizen and rule.

    Idempotent per reading/response: the same breach seen twice changes nothing."""
    for _ in range(3):
        existing = find_open(session, breach.citizen_id, breach.rule_key)
        if existing is not None:
            return _repeat(session, existing, breach, now)
        resolved = _last_resolved(session, breach.citizen_id, breach.rule_key)
        if resolved is not None and reopens_after_resolution(snapshot(resolved), now=now):
            return _reopen_resolved(session, resolved, breach, now)
        alert = Alert(
            citizen_id=breach.citizen_id,
            care_team_id=breach.care_team_id,
            device_id=breach.device_id,
            kind=breach.kind.value,
            rule_key=breach.rule_key,
            severity=breach.severity.value,
            band_order=band_for(breach.kind, breach.severity).order,
            open_key=open_key(breach.citizen_id, breach.rule_key),
            first_seen_at=breach.observed_at,
            last_seen_at=breach.observed_at,
            last_value=breach.value,
            last_reading_id=breach.reading_id,
            last_response_id=breach.response_id,
            reasons=breach.reasons,
            limit_set_id=breach.limit_set_id,
            created_at=now,
            updated_at=now,
        )
        schedule_escalation(session, alert, start=now)
        try:
            with session.begin_nested():
                session.add(alert)
                session.flush()
        except IntegrityError:
            # another worker opened it first: this breach is a repeat of that alert
            if alert in session:
                session.expunge(alert)
            forget_open(session, breach.citizen_id, breach.rule_key)
            continue
        remember_open(session, alert)
        write_event(session, alert, EventKind.OPENED, now=now, detail=_breach_detail(breach))
        return AlertChange(alert, EventKind.OPENED)
    raise RuntimeError("could not open or update the alert after concurrent inserts")
