"""Switch-over: send a citizen's or a team's whole history to the regional backend.

Resumable because all state is in the outbox: enqueueing is idempotent (unique dedup keys)
and a row already ``sent`` is never claimed again, so an interrupted backfill simply runs
again. It shares the claim protocol with a running bridge, so both may run at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import ColumnElement, Engine, String, cast, literal, or_
from sqlmodel import Session, col, select

from pust.db.engine import session_scope
from pust.db.tables import (
    CareTeam,
    Citizen,
    OutboxMessage,
    QuestionnaireResponse,
    Reading,
    RegionalLink,
)
from pust.domain.clock import Clock
from pust.fhir.outbox import (
    CHANNEL,
    READING_PREFIX,
    RESPONSE_PREFIX,
    Scope,
    enqueue_readings,
    enqueue_responses,
)
from services.bridge.worker import BridgeWorker


class UnknownTarget(LookupError):
    """No such citizen or team."""


@dataclass
class BackfillSummary:
    citizens: int = 0
    not_linked: int = 0
    enqueued: int = 0
    skipped: int = 0
    sent: int = 0
    already_sent: int = 0
    dead: list[int] = field(default_factory=list)
    remaining: int = 0
    seconds: float = 0.0


def resolve_citizens(
    session: Session, *, citizen_id: uuid.UUID | None, team: str | None
) -> tuple[list[uuid.UUID], int]:
    """(linked citizens, number of citizens without a regional link)."""
    if citizen_id is not None:
        citizen = session.get(Citizen, citizen_id)
        if citizen is None:
            raise UnknownTarget("no such citizen")
        ids = [citizen.id]
    else:
        found = session.exec(select(CareTeam).where(CareTeam.name == team)).first()
        if found is None:
            raise UnknownTarget("no such care team")
        ids = list(session.exec(select(Citizen.id).where(Citizen.care_team_id == found.id)).all())
    linked = list(
        session.exec(
            select(RegionalLink.citizen_id).where(col(RegionalLink.citizen_id).in_(ids))
        ).all()
    )
    return linked, len(ids) - len(linked)


def _owned(citizen_ids: list[uuid.UUID]) -> ColumnElement[bool]:
    readings = select(literal(READING_PREFIX) + cast(col(Reading.id), String)).where(
        col(Reading.citizen_id).in_(citizen_ids)
    )
    responses = select(
        literal(RESPONSE_PREFIX) + cast(col(QuestionnaireResponse.id), String)
    ).where(col(QuestionnaireResponse.citizen_id).in_(citizen_ids))
    return or_(
        col(OutboxMessage.dedup_key).in_(readings), col(OutboxMessage.dedup_key).in_(responses)
    )


def run_backfill(
    *,
    engine: Engine,
    worker: BridgeWorker,
    clock: Clock,
    citizen_ids: list[uuid.UUID],
    progress: Callable[[int, int], None] = lambda done, total: None,
    chunk: int = 500,
    max_idle_seconds: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    per_second: float | None = None,
) -> BackfillSummary:
    """``per_second``: pace the sending (FUT's IG names no bulk route for history and calls
    ``$submit-measurement`` "single measurements, not bulk", so a backfill must not flood it);
    None sends as fast as the bridge's concurrency allows."""
    started = time.monotonic()
    step = chunk if per_second is None else max(1, int(per_second))
    summary = BackfillSummary(citizens=len(citizen_ids))
    if not citizen_ids:
        return summary
    scope = Scope(citizen_ids=citizen_ids, bridged_only=False, from_link_time=False)
    while True:  # enqueue the whole history, chunk by chunk
        with session_scope(engine) as s:
            now = clock.now()
            window = timedelta(seconds=worker.settings.session_window_seconds)
            result = enqueue_readings(
                s, now=now, scope=scope, limit=chunk, bp_grace=timedelta(0), session_window=window
            )
            result += enqueue_responses(s, now=now, scope=scope, limit=chunk, session_window=window)
        summary.enqueued += result.enqueued
        summary.skipped += result.skipped
        if result.enqueued + result.skipped == 0:
            break
    owned = _owned(citizen_ids)
    with Session(engine) as s:
        found = s.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.channel == CHANNEL, OutboxMessage.status == "pending", owned
            )
        ).all()
        pending = [i for i in found if i is not None]
        summary.already_sent = len(
            s.exec(
                select(OutboxMessage.id).where(
                    OutboxMessage.channel == CHANNEL, OutboxMessage.status == "sent", owned
                )
            ).all()
        )
    total = len(pending)
    done: dict[int, str] = {}
    idle_since: float | None = None
    while pending:
        cycle_started = time.monotonic()
        cycle = worker.send_due(ids=pending[:step])
        if per_second is not None and cycle.busy:
            sleep(max(0.0, step / per_second - (time.monotonic() - cycle_started)))
        with Session(engine) as s:
            rows = s.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(pending))).all()
        done.update({r.id: r.status for r in rows if r.id is not None and r.status != "pending"})
        pending = [r.id for r in rows if r.status == "pending" and r.id is not None]
        progress(total - len(pending), total)
        if cycle.busy:
            idle_since = None
            continue
        idle_since = idle_since or time.monotonic()
        if time.monotonic() - idle_since > max_idle_seconds:
            break  # everything left is backing off; run again later to resume
        sleep(0.5)
    summary.sent = sum(1 for status in done.values() if status == "sent")
    summary.dead = sorted(i for i, status in done.items() if status == "dead")
    summary.remaining = len(pending)
    summary.seconds = time.monotonic() - started
    return summary
