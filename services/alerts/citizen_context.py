"""What triage needs to know about a citizen: care team, the limits in force, baselines.

Loaded for all citizens of a batch at once, afresh for every batch (two lean queries, not a
handful per reading: a changed limit or baseline applies to the next reading). Two things
are remembered between batches because they cannot go stale: a parsed
rule set per ``LimitSet`` id (limit sets are never edited; a change is a new row), and
which run-in baselines could not be taken for lack of values (re-checked every
:data:`RUN_IN_RECHECK`, since a late reading may still fill the run-in).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col
from sqlmodel import select as select_model

from pust.db.baseline_repository import (
    RunInWanted,
    current_baselines_of,
    fill_run_in_baselines_of,
)
from pust.db.lean import among, table_of
from pust.db.tables.citizens import Citizen
from pust.db.tables.clinical import LimitSet
from pust.domain.baselines import run_in_complete
from pust.domain.limits import InvalidRuleSetError, RuleSet, default_rule_set, parse_rule_set

log = logging.getLogger(__name__)

RUN_IN_RECHECK = timedelta(minutes=10)
_C = table_of(Citizen)
_L = table_of(LimitSet)


@dataclass
class CitizenContext:
    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    monitoring_started_at: datetime
    rules: RuleSet | None  # None: the stored limits cannot be read (technical alert)
    limit_set_id: uuid.UUID | None
    baselines: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Citizen:
    """What triage reads of a citizen row (lean: no ORM object, no CPR)."""

    id: uuid.UUID
    care_team_id: uuid.UUID
    monitoring_started_at: datetime
    limit_set_id: uuid.UUID | None  # the limit set in force (None: the starting one)


class ContextLoader:
    def __init__(self) -> None:
        self._rules: dict[uuid.UUID, RuleSet | None] = {}
        self._too_few: dict[tuple[uuid.UUID, str, datetime], datetime] = {}
        self._default: RuleSet | None = None
        self._baseline_types: dict[int, tuple[RuleSet, frozenset[str]]] = {}

    def load(
        self, session: Session, citizen_ids: Iterable[uuid.UUID], *, now: datetime
    ) -> dict[uuid.UUID, CitizenContext]:
        """The contexts of the citizens, read afresh (a limit set or baseline changed a
        moment ago applies to this batch): one query for the citizens with the id of the
        limit set in force, one for their current baselines; the rules of a limit set not
        seen before (parsed once: a limit set is never edited) and any run-in baselines
        still to take cost more only when there are some."""
        ids = list(set(citizen_ids))
        if not ids:
            return {}
        citizens = _citizens_with_limits(session, ids)
        self._read_rules(session, {c.limit_set_id for c in citizens} - self._rules.keys())
        baselines = current_baselines_of(session, ids)
        rules_of = {c.id: self._rules_in_force(c.limit_set_id) for c in citizens}
        filled = fill_run_in_baselines_of(
            session,
            [
                want
                for c in citizens
                if (rules := rules_of[c.id]) is not None
                and (want := self._run_in_wanted(c, rules, baselines.get(c.id, {}), now))
            ],
            now=now,
        )
        started = {c.id: c.monitoring_started_at for c in citizens}
        for citizen_id, (_set_now, too_few) in filled.items():
            for type_ in too_few:
                self._too_few[(citizen_id, type_, started[citizen_id])] = now
        contexts: dict[uuid.UUID, CitizenContext] = {}
        for citizen in citizens:
            known = baselines.get(citizen.id, {})
            if citizen.id in filled:
                known = known | filled[citizen.id][0]
            contexts[citizen.id] = CitizenContext(
                citizen_id=citizen.id,
                care_team_id=citizen.care_team_id,
                monitoring_started_at=citizen.monitoring_started_at,
                rules=rules_of[citizen.id],
                limit_set_id=citizen.limit_set_id,
                baselines=known,
            )
        return contexts

    def rules_of(self, limit_set: LimitSet | None) -> RuleSet | None:
        """The parsed rule set of a limit set (remembered: limit sets are never edited)."""
        if limit_set is not None and limit_set.id not in self._rules:
            self._parse(limit_set.id, limit_set.rules)
        return self._rules_in_force(limit_set.id if limit_set is not None else None)

    def _rules_in_force(self, limit_set_id: uuid.UUID | None) -> RuleSet | None:
        if limit_set_id is None:  # no limits stored at all: the starting configuration
            if self._default is None:
                self._default = default_rule_set()
            return self._default
        return self._rules[limit_set_id]

    def _read_rules(self, session: Session, limit_set_ids: set[uuid.UUID | None]) -> None:
        """Parse the limit sets not seen before (one query for all of them)."""
        wanted = sorted(i for i in limit_set_ids if i is not None)
        if not wanted:
            return
        for limit_set_id, document in session.execute(
            select(_L.c.id, _L.c.rules).where(among(session, _L.c.id, wanted))
        ).all():
            self._parse(limit_set_id, document)

    def _parse(self, limit_set_id: uuid.UUID, document: Any) -> None:
        try:
            self._rules[limit_set_id] = parse_rule_set(document)
        except InvalidRuleSetError:
            log.warning("triage.limit_set_unreadable limit_set_id=%s", limit_set_id)
            self._rules[limit_set_id] = None

    def _baseline_types_of(self, rules: RuleSet) -> frozenset[str]:
        """:meth:`RuleSet.baseline_types`, remembered per parsed rule set (kept for good)."""
        found = self._baseline_types.get(id(rules))
        if found is None or found[0] is not rules:
            found = (rules, frozenset(rules.baseline_types()))
            self._baseline_types[id(rules)] = found
        return found[1]

    def _run_in_wanted(
        self, citizen: _Citizen, rules: RuleSet, known: dict[str, float], now: datetime
    ) -> RunInWanted | None:
        """The run-in baselines still to take for this citizen (None: none, or all of them
        checked within :data:`RUN_IN_RECHECK` and found short of values)."""
        if not run_in_complete(citizen.monitoring_started_at, now):
            return None
        missing = set()
        for type_ in self._baseline_types_of(rules) - known.keys():
            checked = self._too_few.get((citizen.id, type_, citizen.monitoring_started_at))
            if checked is None or now - checked >= RUN_IN_RECHECK:
                missing.add(type_)
        if not missing:
            return None
        return RunInWanted(citizen.id, citizen.monitoring_started_at, frozenset(missing))


def _newest(*where: Any) -> Any:
    """The id of the newest limit set matching ``where`` (a correlated subquery)."""
    return (
        select(_L.c.id)
        .where(*where)
        .order_by(_L.c.version.desc())
        .limit(1)
        .correlate(_C)
        .scalar_subquery()
    )


def _citizens_with_limits(session: Session, ids: list[uuid.UUID]) -> list[_Citizen]:
    """The citizens and the id of each one's limit set in force: the citizen's own newest,
    else the care team's newest group default."""
    own = _newest(_L.c.citizen_id == _C.c.id)
    team = _newest(_L.c.care_team_id == _C.c.care_team_id, _L.c.citizen_id.is_(None))
    rows = session.execute(
        select(
            _C.c.id, _C.c.care_team_id, _C.c.monitoring_started_at, func.coalesce(own, team)
        ).where(among(session, _C.c.id, ids))
    ).all()
    return [_Citizen(*row) for row in rows]


def newest_limit_sets(session: Session, citizens: Iterable[Citizen]) -> dict[uuid.UUID, LimitSet]:
    """Each citizen's limit set in force: its own newest, else the care team's newest group
    default (the rule is :func:`_citizens_with_limits`'s; then the rows, one query)."""
    ids = [c.id for c in citizens]
    if not ids:
        return {}
    in_force = {
        c.id: c.limit_set_id
        for c in _citizens_with_limits(session, ids)
        if c.limit_set_id is not None
    }
    rows = {
        row.id: row
        for row in session.exec(
            select_model(LimitSet).where(
                among(session, col(LimitSet.id), sorted(set(in_force.values())))
            )
        ).all()
    }
    return {c: rows[i] for c, i in in_force.items() if i in rows}
