"""The worklist page, its live row fragment, and the alert form actions. Each calls the same
query or use case as the JSON API."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from pust.db.tables import CareTeam
from pust.domain.alert_lifecycle import Outcome
from services.api.alerts import commands as alert_commands
from services.api.alerts.models import AlertAcknowledgeCreate, AlertClaimCreate, AlertResolveCreate
from services.api.auth.current import language_of
from services.api.auth.principal import Principal
from services.api.deps import ClockDep
from services.api.problems import NotFoundError
from services.api.unit_of_work import SqlUnitOfWork, UnitOfWorkDep
from services.api.web.actions import form_action, form_fields, one
from services.api.web.i18n import translator
from services.api.web.render import PagePrincipal, age_text, csrf_for, reason_text, render
from services.api.worklist import commands as worklist_commands
from services.api.worklist.models import BANDS, Band, BulkAcknowledgeCreate, WorklistRowPublic
from services.api.worklist.queries import read_worklist

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


def _filters(request: Request, principal: Principal) -> tuple[uuid.UUID | None, list[Band], int]:
    team_text = request.query_params.get("care_team_id") or ""
    band_text = request.query_params.get("band") or ""
    try:
        team = uuid.UUID(team_text) if team_text else None
        offset = max(0, int(request.query_params.get("offset") or 0))
    except ValueError as exc:
        raise NotFoundError("No such care team.") from exc
    if team is not None and team not in principal.team_ids:
        raise NotFoundError("No such care team.")
    bands: list[Band] = [b for b in BANDS if b == band_text]
    return team, bands, offset


def _rows(
    uow: SqlUnitOfWork, principal: Principal, request: Request, clock: ClockDep
) -> tuple[list[WorklistRowPublic], int, dict[str, Any]]:
    team, bands, offset = _filters(request, principal)
    rows, total = read_worklist(
        uow,
        actor=principal,
        now=clock.now(),
        care_team_id=team,
        bands=bands,
        limit=PAGE_SIZE,
        offset=offset,
        action="worklist.page.read",
    )
    filters = {
        "care_team_id": str(team) if team else "",
        "band": bands[0] if bands else "",
        "offset": offset,
    }
    return rows, total, filters


def _row_context(request: Request, principal: Principal) -> dict[str, Any]:
    language = language_of(request)
    return {
        "why": lambda row: reason_text(
            language, row.reasons, row.rule_key, row.last_value, row.severity
        ),
        "can_act": principal.may_act,
    }


@router.get("/", response_class=HTMLResponse)
async def worklist_page(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    rows, total, filters = await run_in_threadpool(_rows, uow, principal, request, clock)
    teams = await run_in_threadpool(
        lambda: uow.session.exec(
            select(CareTeam)
            .where(col(CareTeam.id).in_(list(principal.team_ids)))
            .order_by(col(CareTeam.name))
        ).all()
    )
    base = {k: v for k, v in filters.items() if k != "offset" and v}
    offset = int(filters["offset"])
    prev_url = f"/?{urlencode({**base, 'offset': max(0, offset - PAGE_SIZE)})}" if offset else ""
    next_url = (
        f"/?{urlencode({**base, 'offset': offset + PAGE_SIZE})}"
        if offset + PAGE_SIZE < total
        else ""
    )
    return render(
        request,
        "worklist.html",
        principal=principal,
        nav="worklist",
        rows=rows,
        total=total,
        teams=teams,
        bands=BANDS,
        team_filter=filters["care_team_id"],
        band_filter=filters["band"],
        query=urlencode({**base, "offset": offset}),
        prev_url=prev_url,
        next_url=next_url,
        **_row_context(request, principal),
    )


@router.get("/ui/worklist/rows", response_class=HTMLResponse)
async def worklist_rows(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    rows, total, _filters_used = await run_in_threadpool(_rows, uow, principal, request, clock)
    environment = request.app.state.templates
    language = language_of(request)
    body = environment.get_template("_worklist_rows.html").render(
        rows=rows,
        t=translator(language),
        csrf=csrf_for(request, principal),
        age=lambda s: age_text(language, s),
        **_row_context(request, principal),
    )
    return HTMLResponse(body, headers={"X-Total-Count": str(total), "Cache-Control": "no-store"})


@router.post("/ui/alerts/{alert_id}/claim")
async def claim_form(
    *,
    request: Request,
    alert_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await form_fields(request)
    return await form_action(
        uow,
        one(form, "next") or "/",
        lambda: alert_commands.claim(
            uow,
            actor=principal,
            alert_id=alert_id,
            command=AlertClaimCreate.model_validate(
                {"expected_version": one(form, "expected_version")}
            ),
            now=clock.now(),
        ),
    )


@router.post("/ui/alerts/{alert_id}/acknowledge")
async def acknowledge_form(
    *,
    request: Request,
    alert_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await form_fields(request)
    return await form_action(
        uow,
        one(form, "next") or "/",
        lambda: alert_commands.acknowledge(
            uow,
            actor=principal,
            alert_id=alert_id,
            command=AlertAcknowledgeCreate.model_validate(
                {
                    "expected_version": one(form, "expected_version"),
                    "note": one(form, "note"),
                    "notify_citizen": one(form, "notify_citizen") == "1",
                }
            ),
            now=clock.now(),
        ),
    )


@router.post("/ui/alerts/{alert_id}/resolve")
async def resolve_form(
    *,
    request: Request,
    alert_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await form_fields(request)
    return await form_action(
        uow,
        one(form, "next") or "/",
        lambda: alert_commands.resolve(
            uow,
            actor=principal,
            alert_id=alert_id,
            command=AlertResolveCreate.model_validate(
                {
                    "expected_version": one(form, "expected_version"),
                    "outcome": one(form, "outcome") or Outcome.OTHER.value,
                    "note": one(form, "note"),
                }
            ),
            now=clock.now(),
        ),
    )


@router.post("/ui/worklist/acknowledge-green")
async def acknowledge_green_form(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> RedirectResponse:
    form = await form_fields(request)
    return await form_action(
        uow,
        "/",
        lambda: worklist_commands.acknowledge_green(
            uow,
            actor=principal,
            command=BulkAcknowledgeCreate.model_validate(
                {"care_team_id": one(form, "care_team_id"), "note": one(form, "note")}
            ),
            now=clock.now(),
        ),
    )
