"""What the citizen endpoints do to the database (the caller owns the transaction)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from pust.db.tables import (
    Citizen,
    DeviceAssignment,
    LimitSet,
    OutboxMessage,
    PausePeriod,
    Plan,
)
from pust.domain.cpr import Cpr
from pust.domain.limits import default_rule_set
from pust.domain.plans import MeasurementPlan, default_plan, tablet_payload
from pust.domain.questionnaires import QUESTIONNAIRES
from pust.messaging.topics import DeviceChannel, Topics
from services.api.citizens.models import CitizenCreate, CitizenPublic
from services.api.problems import ConflictError
from services.api.scoping import current_device_id


def is_paused(session: Session, citizen_id: uuid.UUID, now: datetime) -> bool:
    return (
        session.exec(
            select(PausePeriod.id).where(
                PausePeriod.citizen_id == citizen_id,
                col(PausePeriod.starts_at) <= now,
                or_(col(PausePeriod.ends_at).is_(None), col(PausePeriod.ends_at) > now),
            )
        ).first()
        is not None
    )


def citizen_public(session: Session, citizen: Citizen, now: datetime) -> CitizenPublic:
    return CitizenPublic(
        id=citizen.id,
        care_team_id=citizen.care_team_id,
        cpr=citizen.cpr.formatted,
        given_name=citizen.given_name,
        family_name=citizen.family_name,
        phone=citizen.phone,
        status=citizen.status,
        monitoring_started_at=citizen.monitoring_started_at,
        lock_version=citizen.lock_version,
        device_id=current_device_id(session, citizen.id),
        paused=is_paused(session, citizen.id, now),
    )


def lock_citizen(session: Session, citizen_id: uuid.UUID) -> Citizen:
    """Serialise writers of one citizen's versioned records (limits, plan): a row lock on
    PostgreSQL; SQLite transactions begin IMMEDIATE and are serialised already."""
    citizen = session.exec(select(Citizen).where(Citizen.id == citizen_id).with_for_update()).one()
    return citizen


def current_limit_set(session: Session, citizen_id: uuid.UUID) -> LimitSet | None:
    return session.exec(
        select(LimitSet)
        .where(LimitSet.citizen_id == citizen_id)
        .order_by(col(LimitSet.version).desc())
    ).first()


def team_default_rules(session: Session, care_team_id: uuid.UUID) -> dict[str, object]:
    group = session.exec(
        select(LimitSet)
        .where(LimitSet.care_team_id == care_team_id, col(LimitSet.citizen_id).is_(None))
        .order_by(col(LimitSet.version).desc())
    ).first()
    return dict(group.rules) if group is not None else default_rule_set().to_json()


def current_plan(session: Session, citizen_id: uuid.UUID) -> Plan | None:
    return session.exec(
        select(Plan).where(Plan.citizen_id == citizen_id).order_by(col(Plan.version).desc())
    ).first()


def queue_plan(
    *,
    session: Session,
    topic_root: str,
    device_id: str,
    plan: MeasurementPlan,
    version: int,
    now: datetime,
) -> None:
    """The plan goes to the tablet's retained ``plan`` topic through the outbox."""
    session.add(
        OutboxMessage(
            channel="mqtt",
            destination=Topics(topic_root).device(device_id, DeviceChannel.PLAN),
            payload=tablet_payload(plan, version, QUESTIONNAIRES),
            retain=True,
            dedup_key=f"plan:{device_id}:{version}:{uuid.uuid4().hex[:8]}",
            created_at=now,
            available_at=now,
        )
    )


def save_limits(
    *,
    session: Session,
    citizen: Citizen,
    expected_version: int,
    rules: dict[str, object],
    reason: str,
    actor_id: uuid.UUID,
    now: datetime,
) -> LimitSet:
    lock_citizen(session, citizen.id)
    current = current_limit_set(session, citizen.id)
    version = current.version if current is not None else 0
    if version != expected_version:
        raise ConflictError(
            f"The limits were changed by someone else (now version {version}). Reload first."
        )
    saved = LimitSet(
        citizen_id=citizen.id,
        version=version + 1,
        rules=rules,
        reason=reason,
        created_by=actor_id,
        created_at=now,
    )
    session.add(saved)
    session.flush()
    return saved


def save_plan(
    *,
    session: Session,
    citizen: Citizen,
    expected_version: int,
    plan: MeasurementPlan,
    reason: str,
    actor_id: uuid.UUID,
    now: datetime,
    topic_root: str,
) -> Plan:
    lock_citizen(session, citizen.id)
    current = current_plan(session, citizen.id)
    version = current.version if current is not None else 0
    if version != expected_version:
        raise ConflictError(
            f"The plan was changed by someone else (now version {version}). Reload first."
        )
    stored = plan.model_copy(update={"version": version + 1})
    saved = Plan(
        citizen_id=citizen.id,
        version=version + 1,
        schedule=stored.to_json(),
        reason=reason,
        created_by=actor_id,
        created_at=now,
    )
    session.add(saved)
    session.flush()
    device_id = current_device_id(session, citizen.id)
    if device_id is not None:
        queue_plan(
            session=session,
            topic_root=topic_root,
            device_id=device_id,
            plan=stored,
            version=saved.version,
            now=now,
        )
    return saved


def create_citizen(
    *,
    session: Session,
    body: CitizenCreate,
    actor_id: uuid.UUID,
    now: datetime,
    timezone: str,
) -> Citizen:
    cpr = Cpr(body.cpr)
    if session.exec(select(Citizen.id).where(Citizen.cpr == cpr)).first() is not None:
        raise ConflictError("A citizen with this CPR number exists already.")
    citizen = Citizen(
        care_team_id=body.care_team_id,
        cpr=cpr,
        given_name=body.given_name,
        family_name=body.family_name,
        phone=body.phone,
        monitoring_started_at=now,
        created_at=now,
    )
    session.add(citizen)
    session.flush()
    session.add(
        LimitSet(
            citizen_id=citizen.id,
            version=1,
            rules=team_default_rules(session, body.care_team_id),
            reason="Gruppens standardgrænser",
            created_by=actor_id,
            created_at=now,
        )
    )
    plan = default_plan(starts_on=now.date(), timezone=timezone)
    session.add(
        Plan(
            citizen_id=citizen.id,
            version=1,
            schedule=plan.to_json(),
            reason="Standardplan",
            created_by=actor_id,
            created_at=now,
        )
    )
    session.flush()
    return citizen


def active_assignment(session: Session, device_id: str) -> DeviceAssignment | None:
    return session.exec(
        select(DeviceAssignment).where(
            DeviceAssignment.device_id == device_id, col(DeviceAssignment.valid_to).is_(None)
        )
    ).first()
