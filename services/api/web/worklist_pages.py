"""The worklist page, its live row fragment, and the alert form actions."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select

from pust.db.tables import CareTeam
from pust.domain.alert_lifecycle import Outcome
from services.api.alerts import views as alert_views
from services.api.alerts.models import AlertAcknowledgeCreate, AlertClaimCreate, AlertResolveCreate
from services.api.auth.principal import Principal
from services.api.deps import ClockDep, SessionDep, SettingsDep
from services.api.problems import NotFoundError
from services.api.web.actions import form_action
from services.api.web.render import PagePrincipal, reason_text, render
from services.api.worklist import views as worklist_views
from services.api.worklist.models import BANDS, Band, BulkAcknowledgeCreate, WorklistRowPublic

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
    session: Session, principal: Principal, request: Request, clock: ClockDep
) -> tuple[list[WorklistRowPublic], int, dict[str, Any]]:
    team, bands, offset = _filters(request, principal)
    now = clock.now()
    rows, total = worklist_views.read_worklist(
        session=session,
        principal=principal,
        now=now,
        care_team_id=team,
        bands=bands,
        limit=PAGE_SIZE,
        offset=offset,
        action="worklist.page.read",
    )
    session.commit()
    public = [worklist_views.row_public(r, now_seconds=now.timestamp()) for r in rows]
    filters = {
        "care_team_id": str(team) if team else "",
        "band": bands[0] if bands else "",
        "offset": offset,
    }
    return public, total, filters


def _row_context(request: Request, principal: Principal) -> dict[str, Any]:
    from services.api.auth.current import language_of

    language = language_of(request)
    return {
        "why": lambda row: reason_text(
            language, row.reasons, row.rule_key, row.last_value, row.severity
        ),
        "can_act": principal.may_act,
    }


@router.get("/", response_class=HTMLResponse)
async def worklist_page(
    *, request: Request, session: SessionDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    rows, total, filters = await run_in_threadpool(_rows, session, principal, request, clock)
    teams = await run_in_threadpool(
        lambda: session.exec(
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
    *, request: Request, session: SessionDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    rows, total, _filters_used = await run_in_threadpool(_rows, session, principal, request, clock)
    environment = request.app.state.templates
    from services.api.auth.current import language_of
    from services.api.web.i18n import translator
    from services.api.web.render import age_text, csrf_for

    language = language_of(request)
    body = environment.get_template("_worklist_rows.html").render(
        rows=rows,
        t=translator(language),
        csrf=csrf_for(request, principal),
        age=lambda s: age_text(language, s),
        **_row_context(request, principal),
    )
    return HTMLResponse(body, headers={"X-Total-Count": str(total), "Cache-Control": "no-store"})


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/ui/alerts/{alert_id}/claim")
async def claim_form(
    *,
    request: Request,
    alert_id: uuid.UUID,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await _form(request)
    return await form_action(
        form.get("next", "/"),
        lambda: alert_views.claim(
            alert_id=alert_id,
            body=AlertClaimCreate.model_validate(
                {"expected_version": form.get("expected_version")}
            ),
            session=session,
            principal=principal,
            clock=clock,
        ),
    )


@router.post("/ui/alerts/{alert_id}/acknowledge")
async def acknowledge_form(
    *,
    request: Request,
    alert_id: uuid.UUID,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    form = await _form(request)
    return await form_action(
        form.get("next", "/"),
        lambda: alert_views.acknowledge(
            alert_id=alert_id,
            body=AlertAcknowledgeCreate.model_validate(
                {
                    "expected_version": form.get("expected_version"),
                    "note": form.get("note") or None,
                    "notify_citizen": form.get("notify_citizen") == "1",
                }
            ),
            session=session,
            principal=principal,
            clock=clock,
            settings=settings,
        ),
    )


@router.post("/ui/alerts/{alert_id}/resolve")
async def resolve_form(
    *,
    request: Request,
    alert_id: uuid.UUID,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await _form(request)
    return await form_action(
        form.get("next", "/"),
        lambda: alert_views.resolve(
            alert_id=alert_id,
            body=AlertResolveCreate.model_validate(
                {
                    "expected_version": form.get("expected_version"),
                    "outcome": form.get("outcome") or Outcome.OTHER.value,
                    "note": form.get("note") or None,
                }
            ),
            session=session,
            principal=principal,
            clock=clock,
        ),
    )


@router.post("/ui/worklist/acknowledge-green")
async def acknowledge_green_form(
    *,
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    form = await _form(request)

    def run() -> None:
        worklist_views.bulk_acknowledge_green(
            body=BulkAcknowledgeCreate.model_validate(
                {"care_team_id": form.get("care_team_id"), "note": form.get("note") or None}
            ),
            session=session,
            principal=principal,
            clock=clock,
            settings=settings,
        )

    return await form_action("/", run)
