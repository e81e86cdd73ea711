"""What triage needs to know about a citizen: care team, the limits in force, baselines.

Loaded for all citizens of a batch at once (a handful of queries, not a handful per
reading). Two things are remembered between batches because they cannot go stale: a parsed
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

from sqlmodel import Session, col, select

from pust.db.baseline_repository import (
    RunInWanted,
    current_baselines_of,
    fill_run_in_baselines_of,
)
from pust.db.tables.citizens import Citizen
from pust.db.tables.clinical import LimitSet
from pust.domain.baselines import run_in_complete
from pust.domain.limits import InvalidRuleSetError, RuleSet, default_rule_set, parse_rule_set

log = logging.getLogger(__name__)

RUN_IN_RECHECK = timedelta(minutes=10)


@dataclass
class CitizenContext:
    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    monitoring_started_at: datetime
    rules: RuleSet | None  # None: the stored limits cannot be read (technical alert)
    limit_set_id: uuid.UUID | None
    baselines: dict[str, float] = field(default_factory=dict)


class ContextLoader:
    def __init__(self) -> None:
        self._rules: dict[uuid.UUID, RuleSet | None] = {}
        self._too_few: dict[tuple[uuid.UUID, str, datetime], datetime] = {}
        self._default: RuleSet | None = None

    def load(
        self, session: Session, citizen_ids: Iterable[uuid.UUID], *, now: datetime
    ) -> dict[uuid.UUID, CitizenContext]:
        ids = list(set(citizen_ids))
        if not ids:
            return {}
        citizens = session.exec(select(Citizen).where(col(Citizen.id).in_(ids))).all()
        limit_sets = newest_limit_sets(session, citizens)
        baselines = current_baselines_of(session, ids)
        rules_of = {c.id: self._parse(limit_sets.get(c.id)) for c in citizens}
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
            limit_set = limit_sets.get(citizen.id)
            known = baselines.get(citizen.id, {}) | filled.get(citizen.id, ({}, set()))[0]
            contexts[citizen.id] = CitizenContext(
                citizen_id=citizen.id,
                care_team_id=citizen.care_team_id,
                monitoring_started_at=citizen.monitoring_started_at,
                rules=rules_of[citizen.id],
                limit_set_id=limit_set.id if limit_set is not None else None,
                baselines=known,
            )
        return contexts

    def rules_of(self, limit_set: LimitSet | None) -> RuleSet | None:
        """The parsed rule set of a limit set (remembered: limit sets are never edited)."""
        return self._parse(limit_set)

    def _parse(self, limit_set: LimitSet | None) -> RuleSet | None:
        if limit_set is None:  # no limits stored at all: the starting configuration
            if self._default is None:
                self._default = default_rule_set()
            return self._default
        if limit_set.id not in self._rules:
            try:
                self._rules[limit_set.id] = parse_rule_set(limit_set.rules)
            except InvalidRuleSetError:
                log.warning("triage.limit_set_unreadable limit_set_id=%s", limit_set.id)
                self._rules[limit_set.id] = None
        return self._rules[limit_set.id]

    def _run_in_wanted(
        self, citizen: Citizen, rules: RuleSet, known: dict[str, float], now: datetime
    ) -> RunInWanted | None:
        """The run-in baselines still to take for this citizen (None: none, or all of them
        checked within :data:`RUN_IN_RECHECK` and found short of values)."""
        if not run_in_complete(citizen.monitoring_started_at, now):
            return None
        missing = set()
        for type_ in rules.baseline_types() - known.keys():
            checked = self._too_few.get((citizen.id, type_, citizen.monitoring_started_at))
            if checked is None or now - checked >= RUN_IN_RECHECK:
                missing.add(type_)
        if not missing:
            return None
        return RunInWanted(citizen.id, citizen.monitoring_started_at, frozenset(missing))


def newest_limit_sets(session: Session, citizens: Iterable[Citizen]) -> dict[uuid.UUID, LimitSet]:
    """Each citizen's own newest limit set, else the care team's newest group default."""
    citizen_list = list(citizens)
    ids = [c.id for c in citizen_list]
    teams = list({c.care_team_id for c in citizen_list})
    own: dict[uuid.UUID, LimitSet] = {}
    for row in session.exec(
        select(LimitSet).where(col(LimitSet.citizen_id).in_(ids)).order_by(col(LimitSet.version))
    ).all():
        if row.citizen_id is not None:
            own[row.citizen_id] = row  # ascending: the newest wins
    defaults: dict[uuid.UUID, LimitSet] = {}
    for row in session.exec(
        select(LimitSet)
        .where(col(LimitSet.care_team_id).in_(teams), col(LimitSet.citizen_id).is_(None))
        .order_by(col(LimitSet.version))
    ).all():
        if row.care_team_id is not None:
            defaults[row.care_team_id] = row
    chosen: dict[uuid.UUID, LimitSet] = {}
    for citizen in citizen_list:
        found = own.get(citizen.id) or defaults.get(citizen.care_team_id)
        if found is not None:
            chosen[citizen.id] = found
    return chosen
