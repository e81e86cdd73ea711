"""Timer sweeps: escalation of unacknowledged alerts, missed measurements, silent tablets,
and watches whose signal has gone (they close by themselves).

Timers are database state (``Alert.next_escalation_at``, ``expected_measurement`` rows,
``Device.last_seen_at``), so a restart loses nothing: the next sweep finds what fell due
while the service was down. Every sweep is idempotent and safe with two replicas: escalation
claims alerts with ``FOR UPDATE SKIP LOCKED``; the missed and silent sweeps take a
transaction-scoped advisory lock on PostgreSQL (a second replica skips that round), and
SQLite serialises writers anyway.
"""

from __future__ import annotations

import logging
import uuid
import zlib
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pust.db.alert_repository import Breach, auto_resolve, raise_or_repeat, routing_policy
from pust.db.alert_state_rows import save, state_of
from pust.db.engine import session_scope
from pust.db.missed_policy_repository import missed_policy
from pust.db.outbox import enqueue, enqueue_notice
from pust.db.tables.alerting import ExpectedMeasurement
from pust.db.tables.alerts import Alert
from pust.db.tables.citizens import Citizen, PausePeriod
from pust.db.tables.clinical import Plan
from pust.db.tables.devices import Device, DeviceAssignment
from pust.db.tables.readings import QuestionnaireResponse, Reading
from pust.domain.alert_aggregate import escalate, settle_watch
from pust.domain.alert_lifecycle import WATCH_SETTLES_AFTER, open_key
from pust.domain.clock import Clock
from pust.domain.missed_measurement_policy import (
    DecidedSlot,
    MissedMeasurementPolicy,
    MissedSlotDecision,
    RecentAlert,
    decide_missed_slot,
    reminded_text_da,
)
from pust.domain.missed_measurements import (
    MISSED_RULE,
    SILENT_RULE,
    Pause,
    SlotStatus,
    decide_slot,
    is_paused,
    is_silent,
    missed_reason,
    silent_reason,
    slots_between,
    submission_window,
)
from pust.domain.notices import missed_slot_notice
from pust.domain.plans import InvalidPlanError, MeasurementPlan, parse_plan
from pust.domain.severity import AlertKind, AlertStatus, Severity
from pust.messaging.topics import DeviceChannel, Topics
from services.alerts.notifications import alert_notification

log = logging.getLogger(__name__)


def _try_sweep_lock(session: Session, name: str) -> bool:
    """One replica per sweep round on PostgreSQL; always True on SQLite."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return True
    key = zlib.crc32(f"pust.alerts.{name}".encode())
    acquired = session.exec(text("SELECT pg_try_advisory_xact_lock(:key)").bindparams(key=key))  # type: ignore[call-overload]
    return bool(acquired.scalar())


# escalation ------------------------------------------------------------------------------


def sweep_escalations(*, engine: Engine, clock: Clock, limit: int = 200) -> int:
    """Fire every escalation step that fell due; returns how many fired."""
    now = clock.now()
    fired = 0
    with session_scope(engine) as session:
        due = session.exec(
            select(Alert)
            .where(Alert.status == AlertStatus.OPEN.value)
            .where(col(Alert.next_escalation_at) <= now)
            .order_by(col(Alert.next_escalation_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for alert in due:
            fired += _escalate(session, alert, now)
    return fired


def _escalate(session: Session, alert: Alert, now: datetime) -> int:
    policy = routing_policy(session, alert.care_team_id)
    before = state_of(alert)
    escalation = escalate(before, now=now, policy=policy)
    step = escalation.step
    if step is None or before.next_escalation_at is None:
        save(session, alert, escalation.transition)  # the policy changed: nothing to climb
        return 0
    level = before.escalation_level
    payload = alert_notification(
        alert, event="alert.escalated", now=now, step=step.name, level=level + 1
    )
    stamp = int(before.next_escalation_at.timestamp())
    for index, recipient in enumerate(step.recipients):
        enqueue(
            session,
            channel=recipient.channel,
            destination=recipient.address,
            payload=payload,
            now=now,
            dedup_key=f"esc:{alert.id}:{level}:{stamp}:{index}",
        )
    save(session, alert, escalation.transition)
    log.info("alerts.escalated alert_id=%s level=%d", alert.id, level + 1)
    return 1


# missed measurements ---------------------------------------------------------------------


def _current_plans(session: Session) -> list[tuple[uuid.UUID, Plan]]:
    rows = session.exec(
        select(Plan)
        .join(Citizen, col(Citizen.id) == col(Plan.citizen_id))
        .where(Citizen.status == "active")
        .order_by(col(Plan.citizen_id), col(Plan.version).desc())
    ).all()
    newest: dict[uuid.UUID, Plan] = {}
    for row in rows:
        newest.setdefault(row.citizen_id, row)
    return list(newest.items())


def _plan(row: Plan) -> MeasurementPlan | None:
    try:
        return parse_plan(row.schedule)
    except InvalidPlanError:
        log.warning("missed.plan_unreadable plan_id=%s", row.id)
        return None


def _pauses(session: Session, citizen_id: uuid.UUID) -> list[Pause]:
    rows = session.exec(select(PausePeriod).where(PausePeriod.citizen_id == citizen_id)).all()
    return [Pause(row.starts_at, row.ends_at) for row in rows]


def _submissions(
    session: Session, citizen_id: uuid.UUID, start: datetime, end: datetime
) -> list[datetime]:
    readings = session.exec(
        select(Reading.measured_at).where(
            Reading.citizen_id == citizen_id,
            col(Reading.valid).is_(True),
            Reading.measured_at >= start,
            Reading.measured_at <= end,
        )
    ).all()
    responses = session.exec(
        select(QuestionnaireResponse.answered_at).where(
            QuestionnaireResponse.citizen_id == citizen_id,
            col(QuestionnaireResponse.valid).is_(True),
            QuestionnaireResponse.answered_at >= start,
            QuestionnaireResponse.answered_at <= end,
        )
    ).all()
    return [*readings, *responses]


def _create_slots(
    session: Session,
    *,
    citizen_id: uuid.UUID,
    row: Plan,
    plan: MeasurementPlan,
    now: datetime,
    lookback: timedelta,
) -> None:
    wanted = slots_between(plan, now - lookback, now, not_before=row.created_at)
    if not wanted:
        return
    existing = set(
        session.exec(
            select(ExpectedMeasurement.due_at).where(
                ExpectedMeasurement.citizen_id == citizen_id,
                ExpectedMeasurement.due_at >= wanted[0],
                ExpectedMeasurement.due_at <= wanted[-1],
            )
        ).all()
    )
    for due_at in wanted:
        if due_at in existing:
            continue
        try:
            with session.begin_nested():
                session.add(
                    ExpectedMeasurement(
                        citizen_id=citizen_id, due_at=due_at, plan_version=row.version
                    )
                )
        except IntegrityError:
            continue  # created meanwhile by another sweep


def sweep_missed_measurements(
    *, engine: Engine, clock: Clock, lookback: timedelta, topics: Topics
) -> int:
    """Create due slots from each plan and decide those whose grace has passed; returns how
    many slots were found missed. A missed slot becomes what the care team's policy says
    (:func:`pust.domain.missed_measurement_policy.decide_missed_slot`): a reminder on the
    citizen's tablet (once per slot: the notice's key is the slot), and a blue task for the
    nurse only after enough missed slots or days in a row, or after a recent yellow/red."""
    now = clock.now()
    missed = 0
    policies: dict[uuid.UUID, MissedMeasurementPolicy] = {}
    with session_scope(engine) as session:
        if not _try_sweep_lock(session, "missed"):
            return 0
        for citizen_id, row in _current_plans(session):
            plan = _plan(row)
            if plan is None:
                continue
            _create_slots(
                session, citizen_id=citizen_id, row=row, plan=plan, now=now, lookback=lookback
            )
            session.flush()
            missed += _decide_slots(
                session, citizen_id, plan, now=now, topics=topics, policies=policies
            )
    return missed


# how far back the policy looks: the longest run it can be asked to count
_HISTORY = timedelta(days=15)


def _decided_history(session: Session, citizen_id: uuid.UUID, now: datetime) -> list[DecidedSlot]:
    rows = session.exec(
        select(ExpectedMeasurement.due_at, ExpectedMeasurement.status)
        .where(ExpectedMeasurement.citizen_id == citizen_id)
        .where(ExpectedMeasurement.status != SlotStatus.PENDING.value)
        .where(col(ExpectedMeasurement.due_at) >= now - _HISTORY)
    ).all()
    return [DecidedSlot(due_at, SlotStatus(status)) for due_at, status in rows]


def _last_submission(session: Session, citizen_id: uuid.UUID, now: datetime) -> datetime | None:
    found = _submissions(session, citizen_id, now - _HISTORY, now)
    return max(found, default=None)


def _recent_alerts(session: Session, citizen_id: uuid.UUID, since: datetime) -> list[RecentAlert]:
    rows = session.exec(
        select(Alert.last_seen_at, Alert.severity)
        .where(Alert.citizen_id == citizen_id)
        .where(Alert.kind == AlertKind.READING.value)
        .where(col(Alert.last_seen_at) >= since)
    ).all()
    return [RecentAlert(at, Severity(severity)) for at, severity in rows]


def _reminders_in_run(session: Session, citizen_id: uuid.UUID, run_start: datetime) -> int:
    rows = session.exec(
        select(ExpectedMeasurement.id)
        .where(ExpectedMeasurement.citizen_id == citizen_id)
        .where(col(ExpectedMeasurement.due_at) >= run_start)
        .where(col(ExpectedMeasurement.reminded_at).is_not(None))
    ).all()
    return len(rows)


def _current_device(session: Session, citizen_id: uuid.UUID) -> str | None:
    return session.exec(
        select(DeviceAssignment.device_id).where(
            DeviceAssignment.citizen_id == citizen_id, col(DeviceAssignment.valid_to).is_(None)
        )
    ).first()


def _decide_slots(
    session: Session,
    citizen_id: uuid.UUID,
    plan: MeasurementPlan,
    *,
    now: datetime,
    topics: Topics,
    policies: dict[uuid.UUID, MissedMeasurementPolicy],
) -> int:
    pending = session.exec(
        select(ExpectedMeasurement)
        .where(ExpectedMeasurement.citizen_id == citizen_id)
        .where(ExpectedMeasurement.status == SlotStatus.PENDING.value)
        .where(col(ExpectedMeasurement.due_at) <= now)
        .order_by(col(ExpectedMeasurement.due_at))
    ).all()
    if not pending:
        return 0
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        return 0
    team = citizen.care_team_id
    if team not in policies:
        policies[team] = missed_policy(session, team).policy
    policy = policies[team]
    pauses = _pauses(session, citizen_id)
    history = _decided_history(session, citizen_id, now)
    last_submission = _last_submission(session, citizen_id, now)
    recent = _recent_alerts(session, citizen_id, now - timedelta(hours=policy.recent_alert_hours))
    missed = 0
    for slot in pending:
        start, end = submission_window(slot.due_at, plan.grace)
        status = decide_slot(
            slot.due_at,
            grace=plan.grace,
            now=now,
            submissions=_submissions(session, citizen_id, start, end),
            pauses=pauses,
        )
        if status is SlotStatus.PENDING:
            continue
        slot.status, slot.decided_at = status.value, now
        decided = DecidedSlot(slot.due_at, status)
        history.append(decided)
        if status is not SlotStatus.MISSED:
            continue
        missed += 1
        decision = decide_missed_slot(
            decided,
            history=history,
            last_submission_at=last_submission,
            recent_alerts=recent,
            policy=policy,
            zone=plan.zone,
            now=now,
        )
        _act_on_missed(session, citizen, slot, plan, decision, now=now, topics=topics)
    return missed


def _act_on_missed(
    session: Session,
    citizen: Citizen,
    slot: ExpectedMeasurement,
    plan: MeasurementPlan,
    decision: MissedSlotDecision,
    *,
    now: datetime,
    topics: Topics,
) -> None:
    if decision.remind:
        device_id = _current_device(session, citizen.id)
        if device_id is not None:
            notice = missed_slot_notice(
                citizen_id=citizen.id, due_at=slot.due_at, now=now, zone=plan.zone
            )
            enqueue_notice(
                session,
                destination=topics.device(device_id, DeviceChannel.NOTICES),
                notice=notice,
                now=now,
            )
            slot.reminded_at = now
            session.flush()
            log.info("missed.reminded citizen_id=%s slot_id=%s", citizen.id, slot.id)
    if not decision.task:
        return
    run_start = _run_start(session, citizen.id, slot.due_at, decision.missed_slots)
    reason = missed_reason(slot.due_at, plan)
    reminded = reminded_text_da(_reminders_in_run(session, citizen.id, run_start))
    if reminded:
        reason = {**reason, "text_da": f"{reason['text_da']} · {reminded}"}
    reason = {
        **reason,
        "missed_slots": decision.missed_slots,
        "missed_days": decision.missed_days,
        "task_because": decision.task_because,
    }
    change = raise_or_repeat(
        session,
        now=now,
        breach=Breach(
            citizen_id=citizen.id,
            care_team_id=citizen.care_team_id,
            kind=AlertKind.MISSED_MEASUREMENT,
            rule_key=MISSED_RULE,
            severity=Severity.YELLOW,
            observed_at=slot.due_at,
            reasons=[reason],
        ),
    )
    slot.alert_id = change.alert.id


def _run_start(session: Session, citizen_id: uuid.UUID, due_at: datetime, slots: int) -> datetime:
    """The due time of the first slot of the run of ``slots`` missed slots ending at
    ``due_at``."""
    rows = session.exec(
        select(ExpectedMeasurement.due_at)
        .where(ExpectedMeasurement.citizen_id == citizen_id)
        .where(col(ExpectedMeasurement.due_at) <= due_at)
        .order_by(col(ExpectedMeasurement.due_at).desc())
        .limit(slots)
    ).all()
    return min(rows, default=due_at)


# silent tablets --------------------------------------------------------------------------


def sweep_silent_devices(*, engine: Engine, clock: Clock, threshold: timedelta) -> int:
    """Raise a device alert for every assigned tablet silent for ``threshold``, and close it
    when the tablet is heard from again. Returns how many alerts were raised."""
    now = clock.now()
    raised = 0
    with session_scope(engine) as session:
        if not _try_sweep_lock(session, "silent"):
            return 0
        rows = session.exec(
            select(DeviceAssignment, Device, Citizen)
            .join(Device, col(Device.id) == col(DeviceAssignment.device_id))
            .join(Citizen, col(Citizen.id) == col(DeviceAssignment.citizen_id))
            .where(col(DeviceAssignment.valid_to).is_(None))
            .where(Device.status == "active", Citizen.status == "active")
            .where(DeviceAssignment.valid_from <= now)
        ).all()
        for assignment, device, citizen in rows:
            existing = session.exec(
                select(Alert).where(Alert.open_key == open_key(citizen.id, SILENT_RULE))
            ).first()
            silent = is_silent(
                device.last_seen_at, since=assignment.valid_from, now=now, threshold=threshold
            )
            if silent and existing is None and not is_paused(now, _pauses(session, citizen.id)):
                raise_or_repeat(
                    session,
                    now=now,
                    breach=Breach(
                        citizen_id=citizen.id,
                        care_team_id=citizen.care_team_id,
                        kind=AlertKind.SILENT_DEVICE,
                        rule_key=SILENT_RULE,
                        severity=Severity.YELLOW,
                        observed_at=now,
                        reasons=[silent_reason(device.last_seen_at, threshold)],
                        device_id=device.id,
                    ),
                )
                raised += 1
            elif not silent and existing is not None:
                auto_resolve(
                    session,
                    citizen_id=citizen.id,
                    rule_key=SILENT_RULE,
                    now=now,
                    detail={"device_id": device.id},
                )
    return raised


# watches ---------------------------------------------------------------------------------


def sweep_settled_watches(
    *, engine: Engine, clock: Clock, quiet_for: timedelta = WATCH_SETTLES_AFTER, limit: int = 500
) -> int:
    """Close every watch ("Holdes øje med") whose signal has gone: no breach of it for
    ``quiet_for`` while the citizen has measured or answered since
    (:func:`pust.domain.alert_aggregate.settle_watch`, as ``pust evaluate`` does it).
    Returns how many closed."""
    now = clock.now()
    settled = 0
    with session_scope(engine) as session:
        due = session.exec(
            select(Alert)
            .where(Alert.kind == AlertKind.WATCH.value)
            .where(Alert.status != AlertStatus.RESOLVED.value)
            .where(col(Alert.last_seen_at) <= now - quiet_for)
            .order_by(col(Alert.last_seen_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        heard = _last_heard(session, {alert.citizen_id for alert in due}, now)
        for alert in due:
            transition = settle_watch(
                state_of(alert),
                now=now,
                heard_since=heard.get(alert.citizen_id),
                quiet_for=quiet_for,
            )
            if transition.events:
                save(session, alert, transition)
                settled += 1
                log.info("alerts.watch_settled alert_id=%s", alert.id)
    return settled


def _last_heard(
    session: Session, citizen_ids: set[uuid.UUID], now: datetime
) -> dict[uuid.UUID, datetime]:
    """Each citizen's latest valid reading or questionnaire sheet (two queries)."""
    if not citizen_ids:
        return {}
    ids = sorted(citizen_ids)
    readings = session.exec(
        select(Reading.citizen_id, func.max(Reading.measured_at))
        .where(col(Reading.citizen_id).in_(ids), col(Reading.valid).is_(True))
        .where(Reading.measured_at <= now)
        .group_by(col(Reading.citizen_id))
    ).all()
    sheets = session.exec(
        select(QuestionnaireResponse.citizen_id, func.max(QuestionnaireResponse.answered_at))
        .where(col(QuestionnaireResponse.citizen_id).in_(ids))
        .where(col(QuestionnaireResponse.valid).is_(True))
        .where(QuestionnaireResponse.answered_at <= now)
        .group_by(col(QuestionnaireResponse.citizen_id))
    ).all()
    found: dict[uuid.UUID, datetime] = {}
    for citizen_id, latest in [*readings, *sheets]:
        if latest is not None and (citizen_id not in found or latest > found[citizen_id]):
            found[citizen_id] = latest
    return found
