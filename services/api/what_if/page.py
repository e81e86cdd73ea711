"""The what-if page for team leads (Danish UI): paste or upload a proposed rule set, pick the
period, see the comparison. Thin: the work is in :mod:`services.api.what_if.queries`."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from pust.db.tables import CareTeam
from pust.domain.limits import InvalidRuleSetError
from services.api.auth.current import language_of
from services.api.deps import ClockDep
from services.api.problems import NotFoundError
from services.api.unit_of_work import UnitOfWorkDep
from services.api.web.render import PagePrincipal, render, type_name
from services.api.what_if import queries

router = APIRouter(include_in_schema=False)
PATH = "/hvad-nu-hvis"
DEFAULT_DAYS = 28


@dataclass(frozen=True, slots=True)
class ChangedRow:
    name: str
    citizen_id: uuid.UUID
    appeared: int
    disappeared: int
    rules: str


def _team_id(value: str | None, fallback: uuid.UUID | None) -> uuid.UUID:
    try:
        found = uuid.UUID(value) if value else fallback
    except ValueError:
        found = None
    if found is None:
        raise NotFoundError("No such care team.")
    return found


def _days(value: str | None) -> int:
    try:
        days = int(value) if value else DEFAULT_DAYS
    except ValueError:
        days = 0
    if days not in queries.PERIODS_DAYS:
        raise NotFoundError("No such period.")
    return days


def _page(
    request: Request,
    principal: PagePrincipal,
    team: object,
    *,
    teams: list[CareTeam],
    days: int,
    document: str,
    run: queries.TeamWhatIf | None = None,
    problems: list[str] | None = None,
) -> HTMLResponse:
    changed: list[ChangedRow] = []
    if run is not None:
        for outcome in run.result.changed:
            citizen = run.history.citizen(outcome.key)
            # an alert's key is its concern (``spo2.*``) or a rule key: the page names the
            # measurement in Danish, never the key
            language = language_of(request)
            rules = sorted(
                {
                    type_name(language, a.rule_key.split(".")[0])
                    for a in (*outcome.appeared, *outcome.disappeared)
                }
            )
            changed.append(
                ChangedRow(
                    citizen.name,
                    citizen.citizen_id,
                    len(outcome.appeared),
                    len(outcome.disappeared),
                    ", ".join(rules),
                )
            )
    return render(
        request,
        "what_if.html",
        teams=teams if len(teams) > 1 else [],
        principal=principal,
        nav="what_if",
        team=team,
        periods=queries.PERIODS_DAYS,
        days=days,
        document=document,
        run=run,
        changed=changed,
        personal=sum(1 for c in run.history.citizens if c.personal_limits) if run else 0,
        problems=problems or [],
        status=422 if problems else 200,
    )


@router.get(PATH, response_class=HTMLResponse)
async def what_if_page(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal
) -> HTMLResponse:
    team_id = _team_id(request.query_params.get("team"), principal.team_for_audit())
    team = await run_in_threadpool(queries.team_for_lead, uow.session, principal, team_id)
    rules = await run_in_threadpool(queries.current_team_rules, uow.session, team.id)
    teams = await run_in_threadpool(queries.lead_teams, uow.session, principal)
    document = json.dumps(rules.to_json(), indent=2, ensure_ascii=False)
    days = _days(request.query_params.get("days"))
    return _page(request, principal, team, teams=teams, days=days, document=document)


@router.post(PATH, response_class=HTMLResponse)
async def what_if_compare(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    form = await request.form()
    team_field = form.get("team")
    days_field = form.get("days")
    team_id = _team_id(team_field if isinstance(team_field, str) else None, None)
    days = _days(days_field if isinstance(days_field, str) else None)
    team = await run_in_threadpool(queries.team_for_lead, uow.session, principal, team_id)
    pasted = form.get("rules")
    document = pasted if isinstance(pasted, str) else ""
    upload = form.get("rules_file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(queries.MAX_DOCUMENT_CHARS * 4 + 1)
        document = raw.decode("utf-8", errors="replace")
    teams = await run_in_threadpool(queries.lead_teams, uow.session, principal)
    try:
        proposed = queries.parse_proposal(document)
    except InvalidRuleSetError as exc:
        return _page(
            request,
            principal,
            team,
            teams=teams,
            days=days,
            document=document,
            problems=exc.problems,
        )
    run = await run_in_threadpool(
        lambda: queries.run_what_if(
            uow.session, principal, team, proposed=proposed, days=days, now=clock.now()
        )
    )
    return _page(request, principal, team, teams=teams, days=days, document=document, run=run)
