"""How far triage is behind: the committed readings and responses not yet triaged, and the
age of the oldest (the partial ``triaged_at IS NULL`` indexes keep this cheap)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func
from sqlmodel import col, select

from pust.db.engine import session_scope
from pust.db.tables.readings import QuestionnaireResponse, Reading
from services.alerts.metrics import AlertsMetrics


@dataclass(frozen=True, slots=True)
class TriageBacklog:
    rows: int
    oldest_received_at: datetime | None

    def lag_seconds(self, now: datetime) -> float:
        if self.oldest_received_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_received_at).total_seconds())


def triage_backlog(engine: Engine) -> TriageBacklog:
    with session_scope(engine) as session:
        rows = 0
        oldest: datetime | None = None
        for table in (Reading, QuestionnaireResponse):
            count, first = session.exec(
                select(func.count(), func.min(col(table.received_at))).where(
                    col(table.triaged_at).is_(None)
                )
            ).one()
            rows += int(count)
            if first is not None and (oldest is None or first < oldest):
                oldest = first
    return TriageBacklog(rows, oldest)


def measure_backlog(engine: Engine, metrics: AlertsMetrics, now: datetime) -> TriageBacklog:
    backlog = triage_backlog(engine)
    metrics.triage_backlog.set(backlog.rows)
    metrics.triage_lag_seconds.set(backlog.lag_seconds(now))
    return backlog
