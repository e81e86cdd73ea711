"""The earlier readings triage looks back on, for a whole batch at once.

What to load is asked of the rule set (:meth:`pust.domain.limits.RuleSet.history_needs`:
days per measurement type for a reading of a given type), never of the rule kinds by name.
One query covers every reading of the batch, all types; each reading then gets
the points inside its own windows (up to and including its own time, never itself: the
oximeter's SpO2 and pulse share a time, and a combination rule judges one with the other;
rules that look back only take what is strictly before).

A questionnaire response's rules may look back too (:meth:`RuleSet.response_history_needs`):
on readings (the same morning's SpO2) and on the citizen's earlier answer sheets, by item id
(a yes/no as 1/0): :meth:`ReadingHistory.load_responses` for a whole batch (one query for
the sheets of all its responses), then :meth:`ReadingHistory.of_response` per response.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from pust.db.lean import among, table_of
from pust.db.tables.readings import QuestionnaireResponse, Reading
from pust.domain.baselines import TimedValue
from pust.domain.measurement_types import MeasurementType

_MEASURED = {t.value for t in MeasurementType}

HistoryKey = tuple[uuid.UUID, str]
SheetKey = tuple[uuid.UUID, str]  # (citizen, questionnaire)
_R = table_of(Reading)
_Q = table_of(QuestionnaireResponse)


@dataclass(frozen=True, slots=True)
class HistoryWanted:
    """One reading's look-back: ``needs`` = days per measurement type."""

    citizen_id: uuid.UUID
    reading_id: int
    before: datetime
    needs: dict[str, int]


@dataclass(frozen=True, slots=True)
class ResponseWanted:
    """One response's look-back: ``needs`` = days per measurement type or item id."""

    citizen_id: uuid.UUID
    questionnaire: str
    answered_at: datetime
    needs: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Point:
    id: int
    timed: TimedValue  # immutable: handed to every reading whose window holds it


class ReadingHistory:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._points: dict[HistoryKey, list[_Point]] = {}
        self._covered: dict[HistoryKey, tuple[datetime, datetime]] = {}
        self._sheets: dict[SheetKey, list[tuple[datetime, Any]]] = {}  # (answered_at, answers)
        self._sheets_covered: dict[SheetKey, tuple[datetime, datetime]] = {}

    def load(self, wanted: Iterable[HistoryWanted]) -> None:
        """Load what every reading of ``wanted`` needs: one query for all its measurement
        types and citizens (each type from the earliest start its readings need)."""
        ranges: dict[str, tuple[set[uuid.UUID], datetime, datetime]] = {}
        for want in wanted:
            for type_, days in want.needs.items():
                since = want.before - timedelta(days=days)
                found = ranges.get(type_)
                if found is None:
                    ranges[type_] = ({want.citizen_id}, since, want.before)
                    continue
                citizens, low, high = found
                citizens.add(want.citizen_id)
                if since < low or want.before > high:
                    ranges[type_] = (citizens, min(low, since), max(high, want.before))
        if not ranges:
            return
        everyone = sorted({c for citizens, _low, _high in ranges.values() for c in citizens})
        since = min(low for _citizens, low, _high in ranges.values())
        until = max(high for _citizens, _low, high in ranges.values())
        rows = self._session.execute(
            select(_R.c.id, _R.c.citizen_id, _R.c.type, _R.c.measured_at, _R.c.value).where(
                among(self._session, _R.c.citizen_id, everyone),
                among(self._session, _R.c.type, sorted(ranges)),
                _R.c.valid.is_(True),
                _R.c.measured_at >= since,
                _R.c.measured_at <= until,
            )
        ).all()
        loaded: dict[HistoryKey, list[_Point]] = {}  # only what this load asked for
        for type_, (citizens, low, high) in ranges.items():
            for citizen_id in citizens:
                loaded[(citizen_id, type_)] = []
                self._covered[(citizen_id, type_)] = (low, high)
        for row_id, citizen_id, type_, at, value in rows:
            points = loaded.get((citizen_id, type_))
            if points is not None and row_id is not None:
                points.append(_Point(row_id, TimedValue(at, value)))
        self._points.update(loaded)

    def of(self, want: HistoryWanted) -> dict[str, list[TimedValue]]:
        """The earlier valid readings of each needed type within its window (loaded now if
        the batch did not ask for them)."""
        if not all(self._covers(want, type_, days) for type_, days in want.needs.items()):
            self.load([want])
        found: dict[str, list[TimedValue]] = {}
        for type_, days in want.needs.items():
            since = want.before - timedelta(days=days)
            found[type_] = [
                p.timed
                for p in self._points[(want.citizen_id, type_)]
                if since <= p.timed.at <= want.before and p.id != want.reading_id
            ]
        return found

    def _covers(self, want: HistoryWanted, type_: str, days: int) -> bool:
        covered = self._covered.get((want.citizen_id, type_))
        if covered is None:
            return False
        low, high = covered
        return low <= want.before - timedelta(days=days) and want.before <= high

    def load_responses(self, wanted: Iterable[ResponseWanted]) -> None:
        """Load what every response of ``wanted`` looks back on: the readings (with
        :meth:`load`) and the earlier sheets of all of them in one query."""
        responses = list(wanted)
        self.load(
            HistoryWanted(w.citizen_id, -1, w.answered_at, readings)
            for w in responses
            if (readings := {t: d for t, d in w.needs.items() if t in _MEASURED})
        )
        ranges: dict[SheetKey, tuple[datetime, datetime]] = {}
        for want in responses:
            items = [d for t, d in want.needs.items() if t not in _MEASURED]
            if not items:
                continue
            since = want.answered_at - timedelta(days=max(items))
            key = (want.citizen_id, want.questionnaire)
            low, high = ranges.get(key, (since, want.answered_at))
            ranges[key] = (min(low, since), max(high, want.answered_at))
        if not ranges:
            return
        rows = self._session.execute(
            select(_Q.c.citizen_id, _Q.c.questionnaire, _Q.c.answered_at, _Q.c.answers).where(
                among(self._session, _Q.c.citizen_id, sorted({c for c, _q in ranges})),
                among(self._session, _Q.c.questionnaire, sorted({q for _c, q in ranges})),
                _Q.c.valid.is_(True),
                _Q.c.answered_at >= min(low for low, _high in ranges.values()),
                _Q.c.answered_at <= max(high for _low, high in ranges.values()),
            )
        ).all()
        loaded: dict[SheetKey, list[tuple[datetime, Any]]] = {key: [] for key in ranges}
        for citizen_id, questionnaire, at, answers in rows:
            sheets = loaded.get((citizen_id, questionnaire))
            if sheets is not None:
                sheets.append((at, answers))
        for sheets in loaded.values():
            sheets.sort(key=lambda sheet: sheet[0])
        self._sheets.update(loaded)
        self._sheets_covered.update(ranges)

    def of_response(
        self,
        citizen_id: uuid.UUID,
        questionnaire: str,
        answered_at: datetime,
        needs: dict[str, int],
    ) -> dict[str, list[TimedValue]]:
        """What a response's rules look back on: readings by type (up to and including the
        sheet's time) and the answers of the citizen's earlier valid sheets of
        ``questionnaire`` by item id (strictly before it); loaded now if
        :meth:`load_responses` did not."""
        readings = {t: d for t, d in needs.items() if t in _MEASURED}
        items = {t: d for t, d in needs.items() if t not in _MEASURED}
        found: dict[str, list[TimedValue]] = {}
        if readings:
            found |= self.of(HistoryWanted(citizen_id, -1, answered_at, readings))
        if not items:
            return found
        since = answered_at - timedelta(days=max(items.values()))
        key = (citizen_id, questionnaire)
        covered = self._sheets_covered.get(key)
        if covered is None or not (covered[0] <= since and answered_at <= covered[1]):
            self.load_responses([ResponseWanted(citizen_id, questionnaire, answered_at, items)])
        rows = [s for s in self._sheets[key] if since <= s[0] < answered_at]
        for item in items:
            found[item] = []
        for at, answers in rows:
            for answer in answers or []:
                item, value = answer.get("item"), answer.get("value")
                known = item in items and isinstance(value, (bool, int, float))
                if known and at >= answered_at - timedelta(days=items[item]):
                    found[item].append(TimedValue(at, float(value)))
        return found
