"""Each care team's missed-measurement policy: the newest version is in force, every older
one stays (who changed what, when and why). No version yet: the default policy."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from pust.db.tables.alerting import MissedMeasurementPolicyVersion
from pust.domain.missed_measurement_policy import (
    DEFAULT_POLICY,
    InvalidPolicyError,
    MissedMeasurementPolicy,
    parse_policy,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PolicyInForce:
    policy: MissedMeasurementPolicy
    version: int  # 0: the default, never saved


def missed_policy(session: Session, care_team_id: uuid.UUID) -> PolicyInForce:
    row = session.exec(
        select(MissedMeasurementPolicyVersion)
        .where(MissedMeasurementPolicyVersion.care_team_id == care_team_id)
        .order_by(col(MissedMeasurementPolicyVersion.version).desc())
        .limit(1)
    ).first()
    if row is None:
        return PolicyInForce(DEFAULT_POLICY, 0)
    try:
        return PolicyInForce(parse_policy(row.policy), row.version)
    except InvalidPolicyError:
        # written through save_missed_policy, so never; the default is the safe reading
        log.warning(
            "missed.policy_unreadable care_team_id=%s version=%d", care_team_id, row.version
        )
        return PolicyInForce(DEFAULT_POLICY, row.version)


def save_missed_policy(
    session: Session,
    *,
    care_team_id: uuid.UUID,
    policy: MissedMeasurementPolicy,
    reason: str,
    actor_id: uuid.UUID | None,
    now: datetime,
) -> int:
    """Write the next version; returns its number. Raises :class:`InvalidPolicyError` for a
    policy that contradicts itself. Two administrators saving at once: one wins the number,
    the other raises IntegrityError (the caller reports a conflict)."""
    parse_policy(policy.to_document())  # every problem, by field
    current = missed_policy(session, care_team_id)
    version = current.version + 1
    row = MissedMeasurementPolicyVersion(
        care_team_id=care_team_id,
        version=version,
        policy=policy.to_document(),
        reason=reason[:1000],
        created_by=actor_id,
        created_at=now,
    )
    with session.begin_nested():
        session.add(row)
        session.flush()
    log.info("missed.policy_saved care_team_id=%s version=%d", care_team_id, version)
    return version


def policy_history(
    session: Session, care_team_id: uuid.UUID
) -> list[MissedMeasurementPolicyVersion]:
    return list(
        session.exec(
            select(MissedMeasurementPolicyVersion)
            .where(MissedMeasurementPolicyVersion.care_team_id == care_team_id)
            .order_by(col(MissedMeasurementPolicyVersion.version).desc())
        ).all()
    )
