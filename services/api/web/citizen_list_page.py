"""The citizen overview page ("Borgere"): search by name or CPR within the nurse's teams,
with the traffic light, latest values, adherence and pause/tablet state of each citizen.
Reads go through :func:`services.api.citizens.overview.read_overview` (scoped, audited)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from pust.db.tables import CareTeam
from services.api.auth.current import language_of
from services.api.citizens.overview import ADHERENCE_DAYS, OverviewRow, read_overview
from services.api.deps import ClockDep
from services.api.pagination import Page, PageParams
from services.api.problems import NotFoundError
from services.api.unit_of_work import UnitOfWorkDep
from services.api.web.formatting import Formatter
from services.api.web.render import PagePrincipal, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/citizens")
async def citizens_redirect(request: Request) -> RedirectResponse:
    """The JSON API's word for the list, typed into a browser: the overview."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/borgere{query}", status_code=303)


@router.get("/borgere", response_class=HTMLResponse)
async def citizens_page(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    q = (request.query_params.get("q") or "")[:100]
    team_text = request.query_params.get("care_team_id") or ""
    try:
        team = uuid.UUID(team_text) if team_text else None
        offset = max(0, int(request.query_params.get("offset") or 0))
    except ValueError as exc:
        raise NotFoundError("No such care team.") from exc
    now = clock.now()

    def load() -> tuple[Page[OverviewRow], list[CareTeam]]:
        shown = read_overview(
            uow,
            actor=principal,
            now=now,
            care_team_id=team,
            q=q,
            page=PageParams(limit=PAGE_SIZE, offset=offset),
            action="citizen.overview.read",
        )
        teams = uow.session.exec(
            select(CareTeam)
            .where(col(CareTeam.id).in_(list(principal.team_ids)))
            .order_by(col(CareTeam.name))
        ).all()
        return shown, list(teams)

    shown, teams = await run_in_threadpool(load)
    fmt = Formatter(language_of(request), ZoneInfo(request.app.state.settings.clinic_timezone))
    base: dict[str, Any] = {k: v for k, v in {"q": q, "care_team_id": team_text}.items() if v}
    prev_url = (
        f"/borgere?{urlencode({**base, 'offset': max(0, offset - PAGE_SIZE)})}" if offset else ""
    )
    next_url = (
        f"/borgere?{urlencode({**base, 'offset': offset + PAGE_SIZE})}"
        if offset + PAGE_SIZE < shown.total
        else ""
    )
    return render(
        request,
        "citizens.html",
        principal=principal,
        nav="citizens",
        rows=shown.items,
        total=shown.total,
        q=q,
        teams=teams,
        team_filter=team_text,
        adherence_days=ADHERENCE_DAYS,
        ago=lambda at: fmt.age_since(at, now),
        prev_url=prev_url,
        next_url=next_url,
    )
