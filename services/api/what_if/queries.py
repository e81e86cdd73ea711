"""The use case behind the what-if page: a team lead of the team (and only of that team)
replays the team's stored history under a proposed rule set. Nothing clinical is written;
the read is audited (one event for the team, one per citizen whose history was read)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from pust.db.tables import CareTeam, LimitSet
from pust.db.team_history import TeamHistory, load_team_history
from pust.domain.limits import InvalidRuleSetError, RuleSet, default_rule_set, parse_rule_set
from pust.evaluation.what_if import WhatIf, what_if
from services.api.audit.recorder import record, record_citizen_reads
from services.api.auth.principal import Principal, Role
from services.api.problems import ForbiddenError, NotFoundError
from services.api.scoping import ensure_visible

ACTION = "evaluation.what_if.read"  # a read: the access report shows it as "opened"
PERIODS_DAYS = (14, 28, 56)
MAX_DOCUMENT_CHARS = 200_000


@dataclass(frozen=True, slots=True)
class TeamWhatIf:
    team: CareTeam
    history: TeamHistory
    result: WhatIf


def team_for_lead(session: Session, principal: Principal, team_id: uuid.UUID) -> CareTeam:
    """The care team, for a team lead who is a member of it. Another team is answered like
    one that does not exist; a nurse of the team is refused."""
    team = session.get(CareTeam, team_id)
    ensure_visible(principal, team.id if team is not None else None, "No such care team.")
    assert team is not None
    if principal.role is not Role.TEAM_LEAD:
        raise ForbiddenError("Only the team's team lead may run a what-if.")
    return team


def lead_teams(session: Session, principal: Principal) -> list[CareTeam]:
    """The teams the team lead may run a what-if for (the page offers each)."""
    from sqlmodel import col, select

    if principal.role is not Role.TEAM_LEAD or not principal.team_ids:
        return []
    return list(
        session.exec(
            select(CareTeam)
            .where(col(CareTeam.id).in_(list(principal.team_ids)))
            .order_by(col(CareTeam.name))
        ).all()
    )


def current_team_rules(session: Session, team_id: uuid.UUID) -> RuleSet:
    from sqlmodel import col, select

    row = session.exec(
        select(LimitSet)
        .where(LimitSet.care_team_id == team_id, col(LimitSet.citizen_id).is_(None))
        .order_by(col(LimitSet.version).desc())
    ).first()
    return parse_rule_set(row.rules) if row is not None else default_rule_set()


def parse_proposal(text: str) -> RuleSet:
    """The proposed rule set from the pasted or uploaded document; raises
    :class:`InvalidRuleSetError` listing every problem."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise InvalidRuleSetError([f"the document is longer than {MAX_DOCUMENT_CHARS} characters"])
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidRuleSetError(["the document is not valid JSON"]) from exc
    return parse_rule_set(document)


def run_what_if(
    session: Session,
    principal: Principal,
    team: CareTeam,
    *,
    proposed: RuleSet,
    days: int,
    now: datetime,
) -> TeamWhatIf:
    if days not in PERIODS_DAYS:
        raise NotFoundError("No such period.")
    history = load_team_history(
        session,
        care_team_id=team.id,
        start=now - timedelta(days=days),
        end=now,
        proposed=proposed,
    )
    record(
        session=session,
        principal=principal,
        now=now,
        action=ACTION,
        resource_type="care_team",
        resource_id=str(team.id),
        care_team_id=team.id,
    )
    record_citizen_reads(
        session=session,
        principal=principal,
        now=now,
        action=ACTION,
        citizens=((c.citizen_id, team.id) for c in history.citizens),
    )
    return TeamWhatIf(team, history, what_if(history.histories, days=history.days))
