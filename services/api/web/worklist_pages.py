"""The worklist page, its live row fragment, and the alert form actions. Each calls the same
query or use case as the JSON API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import col, select

from pust.db.tables import CareTeam
from services.api.alerts import commands as alert_commands
from services.api.alerts.models import (
    AlertAcknowledgeCreate,
    AlertClaimCreate,
    AlertReopenCreate,
    AlertResolveCreate,
)
from services.api.auth.current import language_of
from services.api.auth.principal import Principal
from services.api.deps import ClockDep
from services.api.problems import NotFoundError
from services.api.unit_of_work import SqlUnitOfWork, UnitOfWorkDep
from services.api.web.actions import PostedFormDep, chosen_outcome, one
from services.api.web.formatting import Formatter
from services.api.web.i18n import translator
from services.api.web.queue_words import NOTIFIABLE_KINDS, OUTCOMES, queue_reason_text
from services.api.web.render import PagePrincipal, age_text, csrf_for, render
from services.api.web.watch_band import (
    seen_text,
    task_rows,
    times_seen,
    watch_counts,
    watch_rows,
)
from services.api.worklist import commands as worklist_commands
from services.api.worklist.models import BANDS, Band, CitizenSettleCreate
from services.api.worklist.queries import teams_in_view
from services.api.worklist.queue import QueueAlert, QueueRow, read_in_progress, read_queue

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


@dataclass(frozen=True, slots=True)
class Queue:
    """What the worklist page shows: the tasks (a page of them), "I gang", and the lower
    band of watches (:mod:`services.api.web.watch_band`)."""

    rows: list[QueueRow]
    total: int  # citizens with an open task
    pages_total: int  # what the paging counts (the queue's own total)
    in_progress: list[QueueRow]
    watches: list[QueueRow]
    watch_total: int
    watch_with_tasks: set[uuid.UUID]
    watch_seen: dict[uuid.UUID, int]
    filters: dict[str, Any]


WATCH_BAND: Band = "green"  # the lower band: watches (and a green reading alert, if any)


def _queue(uow: SqlUnitOfWork, principal: Principal, request: Request, clock: ClockDep) -> Queue:
    team, bands, offset = _filters(request, principal)
    now = clock.now()
    # both reads of the queue below are audited once, together, for the citizens the page
    # shows (a citizen with a task and a watch is one event per page read)
    queued, pages_total = read_queue(
        uow,
        actor=principal,
        now=now,
        care_team_id=team,
        bands=bands,
        limit=PAGE_SIZE,
        offset=offset,
        action=None,
    )
    in_progress = read_in_progress(
        uow,
        actor=principal,
        now=now,
        care_team_id=team,
        limit=PAGE_SIZE,
        action="worklist.in_progress.read",
    )
    lower_band_only = bands == [WATCH_BAND]
    rows = task_rows(queued, band=WATCH_BAND if lower_band_only else None)
    total = pages_total
    watches: list[QueueRow] = []
    with_tasks: set[uuid.UUID] = set()
    watch_total = 0
    if not bands or lower_band_only:
        counts = watch_counts(uow.session, teams_in_view(principal, team))
        watch_total = counts.watching
        total = counts.lower_band_tasks if bands else pages_total - counts.watch_only
        band = queued
        if not bands:  # the first page of the lower band below the tasks
            band, _ = read_queue(
                uow,
                actor=principal,
                now=now,
                care_team_id=team,
                bands=[WATCH_BAND],
                limit=PAGE_SIZE,
                offset=0,
                action=None,
            )
        watches, with_tasks = watch_rows(band)
    uow.audit.citizens_shown(
        actor=principal,
        now=now,
        action="worklist.page.read",
        citizens=[(row.citizen_id, row.care_team_id) for row in [*rows, *watches]],
    )
    seen = times_seen(uow.session, [a.id for row in watches for a in row.alerts])
    filters = {
        "care_team_id": str(team) if team else "",
        "band": bands[0] if bands else "",
        "offset": offset,
    }
    return Queue(
        rows, total, pages_total, in_progress, watches, watch_total, with_tasks, seen, filters
    )


def _red_count(rows: list[QueueRow]) -> int:
    return sum(1 for row in rows if row.band == "red")


def _row_context(request: Request, principal: Principal, now: datetime) -> dict[str, Any]:
    language = language_of(request)
    zone = ZoneInfo(request.app.state.settings.clinic_timezone)
    fmt = Formatter(language, zone)
    return {
        "why": lambda alert: queue_reason_text(language, alert),
        "since": lambda at: age_text(language, max(0, int((now - at).total_seconds()))),
        "heard": lambda at: fmt.datetime(at) if at else "",
        "can_act": principal.may_act,
        "outcomes": OUTCOMES,
        "back_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "row_key": row_key,
        "may_notify": lambda row: bool(row.kinds & NOTIFIABLE_KINDS),
    }


def _queue_context(request: Request, queue: Queue, now: datetime) -> dict[str, Any]:
    language = language_of(request)
    fmt = Formatter(language, ZoneInfo(request.app.state.settings.clinic_timezone))

    def seen(alert: QueueAlert) -> str:
        times = queue.watch_seen.get(alert.id, 1)
        return seen_text(language, fmt, times=times, since=alert.since, now=now)

    return {
        "rows": queue.rows,
        "in_progress": queue.in_progress,
        "watches": queue.watches,
        "watch_total": queue.watch_total,
        "watch_with_tasks": queue.watch_with_tasks,
        "watch_seen": seen,
        "band_filter": queue.filters["band"],
    }


def row_key(row: QueueRow) -> str:
    """What the nurse sees of a row: changes when an alert comes, goes or changes."""
    return row.band + ":" + ",".join(f"{a.id}.{a.lock_version}" for a in row.alerts)


@router.get("/", response_class=HTMLResponse)
async def worklist_page(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    queue = await run_in_threadpool(_queue, uow, principal, request, clock)
    filters, total = queue.filters, queue.total
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
        if offset + PAGE_SIZE < queue.pages_total
        else ""
    )
    return render(
        request,
        "worklist.html",
        principal=principal,
        nav="worklist",
        total=total,
        reds=_red_count(queue.rows),
        teams=teams,
        bands=BANDS,
        team_filter=filters["care_team_id"],
        query=urlencode({**base, "offset": offset}),
        prev_url=prev_url,
        next_url=next_url,
        **_row_context(request, principal, clock.now()),
        **_queue_context(request, queue, clock.now()),
    )


@router.get("/ui/worklist/rows", response_class=HTMLResponse)
async def worklist_rows(
    *, request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> HTMLResponse:
    queue = await run_in_threadpool(_queue, uow, principal, request, clock)
    environment = request.app.state.templates
    language = language_of(request)
    context = _row_context(request, principal, clock.now())
    # the page's own address, not this fragment's: a form in a swapped row goes back there
    context["back_url"] = "/" + (f"?{request.url.query}" if request.url.query else "")
    body = environment.get_template("_worklist_rows.html").render(
        t=translator(language),
        csrf=csrf_for(request, principal),
        **context,
        **_queue_context(request, queue, clock.now()),
    )
    return HTMLResponse(
        body,
        headers={
            "X-Total-Count": str(queue.total),
            "X-Red-Count": str(_red_count(queue.rows)),
            "Cache-Control": "no-store",
        },
    )


def settle_command(form: dict[str, list[str]]) -> CitizenSettleCreate:
    """The settle form: one hidden ``alert`` field per alert shown (``id:version``)."""
    versions: dict[str, str] = {}
    for value in form.get("alert", []):
        alert_id, _, version = value.partition(":")
        versions[alert_id] = version
    resolve = one(form, "decision") == "resolve"
    return CitizenSettleCreate.model_validate(
        {
            "resolve": resolve,
            "alert_versions": versions,
            "outcome": chosen_outcome(form) if resolve else None,
            "note": one(form, "note"),
            "notify_citizen": one(form, "notify_citizen") == "1",
        }
    )


@router.post("/ui/worklist/citizens/{citizen_id}/settle")
async def settle_form(*, citizen_id: uuid.UUID, posted: PostedFormDep) -> RedirectResponse:
    form = posted.fields
    done = "resolved_all" if one(form, "decision") == "resolve" else "acknowledged_all"
    return await posted.act(
        lambda: worklist_commands.settle_citizen(
            posted.uow,
            actor=posted.principal,
            citizen_id=citizen_id,
            command=settle_command(form),
            now=posted.now(),
        ),
        done=done,
    )


@router.post("/ui/alerts/{alert_id}/claim")
async def claim_form(*, alert_id: uuid.UUID, posted: PostedFormDep) -> RedirectResponse:
    form = posted.fields
    return await posted.act(
        lambda: alert_commands.claim(
            posted.uow,
            actor=posted.principal,
            alert_id=alert_id,
            command=AlertClaimCreate.model_validate(
                {"expected_version": one(form, "expected_version")}
            ),
            now=posted.now(),
        ),
    )


@router.post("/ui/alerts/{alert_id}/acknowledge")
async def acknowledge_form(*, alert_id: uuid.UUID, posted: PostedFormDep) -> RedirectResponse:
    form = posted.fields
    return await posted.act(
        lambda: alert_commands.acknowledge(
            posted.uow,
            actor=posted.principal,
            alert_id=alert_id,
            command=AlertAcknowledgeCreate.model_validate(
                {
                    "expected_version": one(form, "expected_version"),
                    "note": one(form, "note"),
                    "notify_citizen": one(form, "notify_citizen") == "1",
                }
            ),
            now=posted.now(),
        ),
    )


@router.post("/ui/alerts/{alert_id}/resolve")
async def resolve_form(*, alert_id: uuid.UUID, posted: PostedFormDep) -> RedirectResponse:
    form = posted.fields
    return await posted.act(
        lambda: alert_commands.resolve(
            posted.uow,
            actor=posted.principal,
            alert_id=alert_id,
            command=AlertResolveCreate.model_validate(
                {
                    "expected_version": one(form, "expected_version"),
                    "outcome": chosen_outcome(form),
                    "note": one(form, "note"),
                }
            ),
            now=posted.now(),
        ),
    )


@router.post("/ui/alerts/{alert_id}/reopen")
async def reopen_form(*, alert_id: uuid.UUID, posted: PostedFormDep) -> RedirectResponse:
    form = posted.fields
    return await posted.act(
        lambda: alert_commands.reopen(
            posted.uow,
            actor=posted.principal,
            alert_id=alert_id,
            command=AlertReopenCreate.model_validate(
                {"expected_version": one(form, "expected_version"), "reason": one(form, "reason")}
            ),
            now=posted.now(),
        ),
        done="reopened",
    )
