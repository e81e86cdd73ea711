"""Small queries about one citizen that several parts need (the caller owns the transaction)."""

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
from pust.domain.limits import default_rule_set
from pust.domain.plans import MeasurementPlan, tablet_payload
from pust.domain.questionnaires import QUESTIONNAIRES
from pust.messaging.topics import DeviceChannel, Topics


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


def active_assignment(session: Session, device_id: str) -> DeviceAssignment | None:
    return session.exec(
        select(DeviceAssignment).where(
            DeviceAssignment.device_id == device_id, col(DeviceAssignment.valid_to).is_(None)
        )
    ).first()
