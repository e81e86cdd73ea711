"""The earlier readings triage looks back on, for a whole batch at once.

What to load is asked of the rule set (:meth:`pust.domain.limits.RuleSet.history_needs`:
days per measurement type for a reading of a given type), never of the rule kinds by name.
One query per measurement type covers every reading of the batch; each reading then gets
the points inside its own windows (up to and including its own time, never itself: the
oximeter's SpO2 and pulse share a time, and a combination rule judges one with the other;
rules that look back only take what is strictly before).

A questionnaire response's rules may look back too (:meth:`RuleSet.response_history_needs`):
on readings (the same morning's SpO2) and on the citizen's earlier answer sheets, by item id
(a yes/no as 1/0): :meth:`ReadingHistory.of_response`, one query per response.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from pust.db.tables.readings import QuestionnaireResponse, Reading
from pust.domain.baselines import TimedValue
from pust.domain.measurement_types import MeasurementType

_MEASURED = {t.value for t in MeasurementType}

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

    def of_response(
        self,
        citizen_id: uuid.UUID,
        questionnaire: str,
        answered_at: datetime,
        needs: dict[str, int],
    ) -> dict[str, list[TimedValue]]:
        """What a response's rules look back on: readings by type (up to and including the
        sheet's time) and the answers of the citizen's earlier valid sheets of
        ``questionnaire`` by item id (strictly before it)."""
        readings = {t: d for t, d in needs.items() if t in _MEASURED}
        items = {t: d for t, d in needs.items() if t not in _MEASURED}
        found: dict[str, list[TimedValue]] = {}
        if readings:
            found |= self.of(HistoryWanted(citizen_id, -1, answered_at, readings))
        if not items:
            return found
        since = answered_at - timedelta(days=max(items.values()))
        rows = self._session.exec(
            select(QuestionnaireResponse.answered_at, QuestionnaireResponse.answers).where(
                QuestionnaireResponse.citizen_id == citizen_id,
                QuestionnaireResponse.questionnaire == questionnaire,
                col(QuestionnaireResponse.valid).is_(True),
                QuestionnaireResponse.answered_at >= since,
                QuestionnaireResponse.answered_at < answered_at,
            )
        ).all()
        for item in items:
            found[item] = []
        for at, answers in sorted(rows, key=lambda row: row[0]):
            for answer in answers or []:
                item, value = answer.get("item"), answer.get("value")
                known = item in items and isinstance(value, (bool, int, float))
                if known and at >= answered_at - timedelta(days=items[item]):
                    found[item].append(TimedValue(at, float(value)))
        return found
