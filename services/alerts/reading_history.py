"""The earlier readings triage looks back on, for a whole batch at once.

What to load is asked of the rule set (:meth:`pust.domain.limits.RuleSet.history_needs`:
days per measurement type for a reading of a given type), never of the rule kinds by name.
One query per measurement type covers every reading of the batch; each reading then gets
the points inside its own windows (up to and including its own time, never itself: the
oximeter's SpO2 and pulse share a time, and a combination rule judges one with the other;
rules that look back only take what is strictly before).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from pust.db.tables.readings import Reading
from pust.domain.baselines import TimedValue

HistoryKey = tuple[uuid.UUID, str]


@dataclass(frozen=True, slots=True)
class HistoryWanted:
    """One reading's look-back: ``needs`` = days per measurement type."""

    citizen_id: uuid.UUID
    reading_id: int
    before: datetime
    needs: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Point:
    id: int
    at: datetime
    value: float


class ReadingHistory:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._points: dict[HistoryKey, list[_Point]] = {}
        self._covered: dict[HistoryKey, tuple[datetime, datetime]] = {}

    def load(self, wanted: Iterable[HistoryWanted]) -> None:
        """Load what every reading of ``wanted`` needs, one query per measurement type."""
        ranges: dict[str, tuple[set[uuid.UUID], datetime, datetime]] = {}
        for want in wanted:
            for type_, days in want.needs.items():
                since = want.before - timedelta(days=days)
                citizens, low, high = ranges.get(type_, (set(), since, want.before))
                citizens.add(want.citizen_id)
                ranges[type_] = (citizens, min(low, since), max(high, want.before))
        for type_, (citizens, since, until) in ranges.items():
            ids = sorted(citizens)
            rows = self._session.exec(
                select(Reading.id, Reading.citizen_id, Reading.measured_at, Reading.value).where(
                    col(Reading.citizen_id).in_(ids),
                    Reading.type == type_,
                    col(Reading.valid).is_(True),
                    Reading.measured_at >= since,
                    Reading.measured_at <= until,
                )
            ).all()
            for citizen_id in ids:
                self._points[(citizen_id, type_)] = []
                self._covered[(citizen_id, type_)] = (since, until)
            for row_id, citizen_id, at, value in rows:
                if row_id is not None:
                    self._points[(citizen_id, type_)].append(_Point(row_id, at, value))

    def of(self, want: HistoryWanted) -> dict[str, list[TimedValue]]:
        """The earlier valid readings of each needed type within its window (loaded now if
        the batch did not ask for them)."""
        if not all(self._covers(want, type_, days) for type_, days in want.needs.items()):
            self.load([want])
        found: dict[str, list[TimedValue]] = {}
        for type_, days in want.needs.items():
            since = want.before - timedelta(days=days)
            found[type_] = [
                TimedValue(p.at, p.value)
                for p in self._points[(want.citizen_id, type_)]
                if since <= p.at <= want.before and p.id != want.reading_id
            ]
        return found

    def _covers(self, want: HistoryWanted, type_: str, days: int) -> bool:
        covered = self._covered.get((want.citizen_id, type_))
        if covered is None:
            return False
        low, high = covered
        return low <= want.before - timedelta(days=days) and want.before <= high
