"""What administrators see of the push bridge: backlog, failures, dead submissions.

The API shows :func:`bridge_status`; the numbers are the same the bridge exports to
Prometheus. Ids, counts, ages and HTTP status codes only -- never a payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from pust.db.outbox import SKIPPED
from pust.db.tables import OutboxMessage
from pust.fhir.outbox import CHANNEL, NO_FUT_CODE


@dataclass(frozen=True, slots=True)
class FailedSubmission:
    outbox_id: int
    dedup_key: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class BridgeStatus:
    counts: dict[str, int]
    oldest_pending_at: datetime | None
    failing: list[FailedSubmission] = field(default_factory=list)  # pending, failed before
    dead: list[FailedSubmission] = field(default_factory=list)
    # readings not sent because their type has no FUT code (observation-codes), per type
    not_sendable: dict[str, int] = field(default_factory=dict)

    @property
    def backlog(self) -> int:
        return self.counts.get("pending", 0)


def bridge_status(session: Session, *, limit: int = 50) -> BridgeStatus:
    counts = {
        status: int(n)
        for status, n in session.exec(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.channel == CHANNEL)
            .group_by(col(OutboxMessage.status))
        ).all()
    }
    oldest = session.exec(
        select(OutboxMessage.created_at)
        .where(OutboxMessage.channel == CHANNEL, OutboxMessage.status == "pending")
        .order_by(col(OutboxMessage.created_at))
        .limit(1)
    ).first()
    failing = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == CHANNEL,
            OutboxMessage.status == "pending",
            col(OutboxMessage.last_error).is_not(None),
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    ).all()
    dead = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.channel == CHANNEL, OutboxMessage.status == "dead")
        .order_by(col(OutboxMessage.id).desc())
        .limit(limit)
    ).all()
    not_sendable = {
        str(note).removeprefix(NO_FUT_CODE): int(n)
        for note, n in session.exec(
            select(OutboxMessage.last_error, func.count())
            .where(
                OutboxMessage.channel == CHANNEL,
                OutboxMessage.status == SKIPPED,
                col(OutboxMessage.last_error).startswith(NO_FUT_CODE),
            )
            .group_by(col(OutboxMessage.last_error))
        ).all()
    }
    return BridgeStatus(
        not_sendable=not_sendable,
        counts=counts,
        oldest_pending_at=oldest,
        failing=[_failed(m, pending=True) for m in failing],
        dead=[_failed(m, pending=False) for m in dead],
    )


def _failed(message: OutboxMessage, *, pending: bool) -> FailedSubmission:
    assert message.id is not None
    return FailedSubmission(
        outbox_id=message.id,
        dedup_key=message.dedup_key,
        attempts=message.attempts,
        last_error=message.last_error,
        created_at=message.created_at,
        next_attempt_at=message.available_at if pending else None,
    )
