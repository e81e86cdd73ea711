"""Persisting alert transitions. Every function writes one :class:`AlertEvent` per transition.

The caller owns the transaction (``with session_scope(engine) as session``); nothing here
commits. Nurses' actions take ``expected_version`` (the ``lock_version`` the nurse's screen
showed): if someone else changed the alert meanwhile, :class:`StaleAlertError` is raised and
nothing is written. The row is locked (``FOR UPDATE`` on PostgreSQL; SQLite transactions
begin IMMEDIATE) so two concurrent acknowledgements are serialised and the second is stale.

One open alert per citizen and rule is a database fact (``Alert.open_key`` is unique); a
race between two triage workers inserting the same alert is resolved by retrying as a
repeat.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pust.db.tables.alerts import Alert, AlertEvent
from pust.db.tables.care import CareTeamRouting
from pust.domain.alert_lifecycle import (
    AlertNotFoundError,
    AlertSnapshot,
    AlreadyOpenError,
    EventKind,
    Outcome,
    StaleAlertError,
    check_acknowledge,
    check_claim,
    check_reopen,
    check_resolve,
    on_repeat,
    open_key,
    reopens_after_resolution,
)
from pust.domain.routing import (
    InvalidRoutingPolicyError,
    RoutingPolicy,
    default_routing_policy,
    first_escalation_at,
    ladder_key,
    parse_routing_policy,
)
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


def snapshot(alert: Alert) -> AlertSnapshot:
    return AlertSnapshot(
        status=AlertStatus(alert.status),
        severity=Severity(alert.severity),
        claimed_by=alert.claimed_by,
        resolved_at=alert.resolved_at,
        outcome=alert.outcome,
    )


def routing_policy(session: Session, care_team_id: uuid.UUID) -> RoutingPolicy:
    """The care team's routing policy; the default when none (or an unreadable one) is
    stored — an alert must never fail to be written because routing is misconfigured."""
    cache: dict[uuid.UUID, RoutingPolicy] = session.info.setdefault("pust.routing_policies", {})
    cached = cache.get(care_team_id)
    if cached is not None:  # one read per team and transaction
        return cached
    row = session.get(CareTeamRouting, care_team_id)
    policy = default_routing_policy()
    if row is not None:
        with contextlib.suppress(InvalidRoutingPolicyError):
            policy = parse_routing_policy(row.policy)
    cache[care_team_id] = policy
    return policy


def _event(
    session: Session,
    alert: Alert,
    kind: EventKind,
    *,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AlertEvent(
            alert_id=alert.id, at=now, actor_id=actor_id, kind=kind.value, detail=detail or {}
        )
    )


def _schedule_escalation(session: Session, alert: Alert, *, start: datetime) -> None:
    policy = routing_policy(session, alert.care_team_id)
    ladder = ladder_key(AlertKind(alert.kind), Severity(alert.severity))
    alert.escalation_level = 0
    alert.next_escalation_at = first_escalation_at(policy, ladder=ladder, opened_at=start)


def _find_open(session: Session, citizen_id: uuid.UUID, rule_key: str) -> Alert | None:
    # pending changes first: ``populate_existing`` must not overwrite an unflushed repeat
    session.flush()
    statement = (
        select(Alert)
        .where(Alert.open_key == open_key(citizen_id, rule_key))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(statement).first()


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
        _schedule_escalation(session, alert, start=now)
    elif worse and alert.status == AlertStatus.OPEN.value and alert.escalation_level == 0:
        # a worse severity may have a faster ladder (red after yellow)
        _schedule_escalation(session, alert, start=alert.first_seen_at)
    alert.lock_version += 1
    detail = _breach_detail(breach) | {"count": alert.count}
    _event(session, alert, kind, now=now, detail=detail)
    return AlertChange(alert, kind)


def _reopen_resolved(session: Session, alert: Alert, breach: Breach, now: datetime) -> AlertChange:
    alert.status = AlertStatus.OPEN.value
    alert.open_key = open_key(alert.citizen_id, alert.rule_key)
    alert.count += 1
    alert.resolved_at = None
    alert.resolved_by = None
    alert.outcome = None
    _apply_breach(alert, breach, breach.severity, now)
    _schedule_escalation(session, alert, start=now)
    alert.lock_version += 1
    _event(session, alert, EventKind.REOPENED, now=now, detail=_breach_detail(breach))
    return AlertChange(alert, EventKind.REOPENED)


def raise_or_repeat(session: Session, *, breach: Breach, now: datetime) -> AlertChange:
    """Open an alert for the breach, or update the open one for the same citizen and rule.

    Idempotent per reading/response: the same breach seen twice changes nothing."""
    for _ in range(3):
        existing = _find_open(session, breach.citizen_id, breach.rule_key)
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
        _schedule_escalation(session, alert, start=now)
        try:
            with session.begin_nested():
                session.add(alert)
                session.flush()
        except IntegrityError:
            # another worker opened it first: this breach is a repeat of that alert
            if alert in session:
                session.expunge(alert)
            continue
        _event(session, alert, EventKind.OPENED, now=now, detail=_breach_detail(breach))
        return AlertChange(alert, EventKind.OPENED)
    raise RuntimeError("could not open or update the alert after concurrent inserts")


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


def _touch(alert: Alert, now: datetime) -> None:
    alert.lock_version += 1
    alert.updated_at = now


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
    _touch(alert, now)
    detail = {"taken_over_from": str(previous)} if previous else {}
    _event(session, alert, EventKind.CLAIMED, now=now, actor_id=actor_id, detail=detail)
    return alert


def acknowledge_alert(
    session: Session,
    *,
    alert_id: uuid.UUID,
    actor_id: uuid.UUID,
    now: datetime,
    expected_version: int | None = None,
    note: str | None = None,
) -> Alert:
    """The nurse has reviewed the alert ("kvitteret"); escalation stops."""
    alert = _load(session, alert_id, expected_version)
    check_acknowledge(snapshot(alert))
    alert.status = AlertStatus.ACKNOWLEDGED.value
    alert.acknowledged_by = actor_id
    alert.acknowledged_at = now
    alert.acknowledge_note = note
    if alert.claimed_by is None:
        alert.claimed_by, alert.claimed_at = actor_id, now
    alert.next_escalation_at = None
    _touch(alert, now)
    _event(
        session,
        alert,
        EventKind.ACKNOWLEDGED,
        now=now,
        actor_id=actor_id,
        detail={"severity": alert.severity, "with_note": note is not None},
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
    _close(alert, outcome=outcome, actor_id=actor_id, note=note, now=now)
    _event(
        session,
        alert,
        EventKind.RESOLVED,
        now=now,
        actor_id=actor_id,
        detail={"outcome": outcome.value, "with_note": note is not None},
    )
    return alert


def _close(
    alert: Alert, *, outcome: Outcome, actor_id: uuid.UUID | None, note: str | None, now: datetime
) -> None:
    alert.status = AlertStatus.RESOLVED.value
    alert.open_key = None
    alert.resolved_by = actor_id
    alert.resolved_at = now
    alert.outcome = outcome.value
    alert.resolve_note = note
    alert.next_escalation_at = None
    _touch(alert, now)


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
    if _find_open(session, alert.citizen_id, alert.rule_key) is not None:
        raise AlreadyOpenError(
            f"another alert for rule {alert.rule_key} is open for this citizen; use that one"
        )
    alert.status = AlertStatus.OPEN.value
    alert.open_key = open_key(alert.citizen_id, alert.rule_key)
    alert.resolved_at = alert.resolved_by = alert.outcome = alert.resolve_note = None
    alert.acknowledged_at = alert.acknowledged_by = alert.acknowledge_note = None
    _schedule_escalation(session, alert, start=now)
    _touch(alert, now)
    _event(
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
    alert = _find_open(session, citizen_id, rule_key)
    if alert is None:
        return None
    if observed_at is not None and observed_at < alert.last_seen_at:
        return None
    _close(alert, outcome=Outcome.AUTO_RESOLVED, actor_id=None, note=None, now=now)
    _event(session, alert, EventKind.AUTO_RESOLVED, now=now, detail=detail)
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
    _event(session, alert, kind, now=now, detail=detail)
