"""`pust evaluate --from-database --team … --since 28d --rules FILE`: the team's own past
weeks under the rules in force and under a proposed rule set. Read-only over the clinical
data; the read is audited (one event for the team, one per citizen whose history was read)."""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlmodel import Session, select

from pust.db.tables import AuditEvent, CareTeam
from pust.db.team_history import TeamHistory, load_team_history
from pust.domain.limits import RuleSet
from pust.evaluation.what_if import WhatIf, what_if

AUDIT_ACTION = "evaluation.what_if.read"  # a read: the access report shows it as "opened"
_SINCE = re.compile(r"^(\d{1,3})([dw])$")


class UnknownTeamError(LookupError):
    pass


def parse_since(text: str) -> timedelta:
    """``28d`` or ``4w`` (1 day to 52 weeks)."""
    match = _SINCE.match(text.strip())
    if match is None:
        raise ValueError(f"--since must look like 28d or 4w, not {text!r}")
    amount = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if not 1 <= amount <= 364:
        raise ValueError("--since must be between 1 day and 52 weeks")
    return timedelta(days=amount)


@dataclass(frozen=True, slots=True)
class Actor:
    username: str
    role: str


def cli_actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}"[:120], "administrator")


@dataclass(frozen=True, slots=True)
class TeamWhatIf:
    team_name: str
    history: TeamHistory
    result: WhatIf


def team_what_if(
    session: Session,
    *,
    team_name: str,
    since: timedelta,
    proposed: RuleSet,
    now: datetime,
    actor: Actor,
) -> TeamWhatIf:
    team = session.exec(select(CareTeam).where(CareTeam.name == team_name)).first()
    if team is None:
        raise UnknownTeamError(team_name)
    history = load_team_history(
        session, care_team_id=team.id, start=now - since, end=now, proposed=proposed
    )
    rows: list[dict[str, object]] = [
        {
            "at": now,
            "actor_username": actor.username,
            "actor_role": actor.role,
            "care_team_id": team.id,
            "citizen_id": citizen_id,
            "action": AUDIT_ACTION,
            "resource_type": "citizen" if citizen_id else "care_team",
            "resource_id": str(citizen_id or team.id),
            "outcome": "success",
        }
        for citizen_id in (None, *(c.citizen_id for c in history.citizens))
    ]
    session.execute(insert(AuditEvent), rows)
    return TeamWhatIf(team.name, history, what_if(history.histories, days=history.days))


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def render_what_if(run: TeamWhatIf) -> str:
    """The team lead's report (names shown: it goes to the team lead, never to a log)."""
    result = run.result
    history = run.history
    lines = [
        f"pust evaluate — what-if for {run.team_name}: {len(history.citizens)} citizens, "
        f"{history.days} days from {history.start.date().isoformat()}",
        "",
        f"{'':44}{'rules in force':>16}{'proposed':>12}",
        f"{'nurse tasks per citizen-week':44}"
        f"{_rate(result.tasks_per_citizen_week(proposed=False)):>16}"
        f"{_rate(result.tasks_per_citizen_week(proposed=True)):>12}",
        f"{'  reading/questionnaire alerts':44}"
        f"{_rate(result.reading_alerts_per_citizen_week(proposed=False)):>16}"
        f"{_rate(result.reading_alerts_per_citizen_week(proposed=True)):>12}",
        "",
    ]
    kept = [c for c in history.citizens if c.personal_limits]
    if kept:
        lines.append(
            f"{len(kept)} citizen(s) have limits of their own and keep them under the proposal."
        )
    changed = result.changed
    if not changed:
        lines.append("No citizen's alerts would appear or disappear.")
    else:
        lines.append("Citizens whose alerts would change (appear + / disappear −):")
        for outcome in changed:
            name = history.citizen(outcome.key).name
            rules = sorted({a.rule_key for a in (*outcome.appeared, *outcome.disappeared)})
            lines.append(
                f"  {name}: +{len(outcome.appeared)} −{len(outcome.disappeared)} "
                f"({', '.join(rules)})"
            )
    lines.append(
        "\nMissed-measurement tasks do not depend on limits (the same in both); silent-tablet "
        "alerts are not replayed (heartbeats are not stored)."
    )
    return "\n".join(lines)
