"""What triage needs to know about a citizen: care team, the limits in force, baselines.

Loaded once per citizen per batch (readings of one citizen often arrive together)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from pust.db.baseline_repository import ensure_run_in_baselines
from pust.db.tables.citizens import Citizen
from pust.db.tables.clinical import LimitSet
from pust.db.tables.readings import Reading
from pust.domain.baselines import TimedValue, baseline_types
from pust.domain.limits import InvalidRuleSetError, RuleSet, default_rule_set, parse_rule_set

log = logging.getLogger(__name__)


class CitizenUnknownError(LookupError):
    pass


@dataclass
class CitizenContext:
    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    monitoring_started_at: datetime
    rules: RuleSet | None  # None: the stored limits cannot be read (technical alert)
    limit_set_id: uuid.UUID | None
    baselines: dict[str, float] = field(default_factory=dict)


def _limit_set(session: Session, citizen: Citizen) -> LimitSet | None:
    own = session.exec(
        select(LimitSet)
        .where(LimitSet.citizen_id == citizen.id)
        .order_by(col(LimitSet.version).desc())
        .limit(1)
    ).first()
    if own is not None:
        return own
    return session.exec(
        select(LimitSet)
        .where(LimitSet.care_team_id == citizen.care_team_id, col(LimitSet.citizen_id).is_(None))
        .order_by(col(LimitSet.version).desc())
        .limit(1)
    ).first()


def load_context(session: Session, citizen_id: uuid.UUID, *, now: datetime) -> CitizenContext:
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise CitizenUnknownError(str(citizen_id))
    limit_set = _limit_set(session, citizen)
    rules: RuleSet | None
    if limit_set is None:
        # no limits stored at all: the starting configuration (not stored, so no id)
        rules, limit_set_id = default_rule_set(), None
    else:
        limit_set_id = limit_set.id
        try:
            rules = parse_rule_set(limit_set.rules)
        except InvalidRuleSetError:
            log.warning("triage.limit_set_unreadable limit_set_id=%s", limit_set.id)
            rules = None
    baselines = ensure_run_in_baselines(
        session,
        citizen_id=citizen.id,
        monitoring_started_at=citizen.monitoring_started_at,
        types=baseline_types(rules) if rules is not None else (),
        now=now,
    )
    return CitizenContext(
        citizen_id=citizen.id,
        care_team_id=citizen.care_team_id,
        monitoring_started_at=citizen.monitoring_started_at,
        rules=rules,
        limit_set_id=limit_set_id,
        baselines=baselines,
    )


def change_history(session: Session, reading: Reading, *, window_days: int) -> list[TimedValue]:
    """Earlier valid readings of the same citizen and type within the window."""
    since = reading.measured_at - timedelta(days=window_days)
    rows = session.exec(
        select(Reading.measured_at, Reading.value).where(
            Reading.citizen_id == reading.citizen_id,
            Reading.type == reading.type,
            col(Reading.valid).is_(True),
            Reading.measured_at >= since,
            Reading.measured_at < reading.measured_at,
            Reading.id != reading.id,
        )
    ).all()
    return [TimedValue(at, value) for at, value in rows]
