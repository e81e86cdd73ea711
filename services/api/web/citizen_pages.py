"""The citizen page (charts, readings, answers, alerts, notes, limits, plan, pauses,
messages) and its form actions, each running the same code as the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from pust.db.tables import (
    Alert,
    Citizen,
    CitizenNote,
    Device,
    PausePeriod,
    QuestionnaireResponse,
)
from pust.domain.alert_lifecycle import Outcome
from pust.domain.measurement_types import SPECS
from pust.domain.plans import WEEKDAYS
from services.api.auth.current import language_of
from services.api.citizens import queries
from services.api.citizens.service import current_limit_set, current_plan
from services.api.deps import ClockDep
from services.api.in_scope import citizen_read
from services.api.pagination import PageParams
from services.api.scoping import current_device_id
from services.api.unit_of_work import UnitOfWorkDep
from services.api.web.charts import ChartPoint, LimitBands, trend_chart
from services.api.web.render import (
    BAND_NAMES,
    PagePrincipal,
    get_page_principal,
    question_text,
    reason_text,
    render,
    type_name,
)

router = APIRouter(include_in_schema=False)

LIMIT_FIELDS = ("red_low", "yellow_low", "yellow_high", "red_high")
OUTCOMES = [o.value for o in Outcome if o is not Outcome.AUTO_RESOLVED]


def _charts(
    language: str, readings: list[Any], rules: dict[str, Any], start: datetime, end: datetime
) -> list[dict[str, str]]:
    absolute = {r["type"]: r for r in rules.get("absolute", [])}
    charts = []
    for spec in SPECS.values():
        mine = [r for r in readings if r.type == spec.type.value]
        if not mine:
            continue
        limit = absolute.get(spec.type.value, {})
        bands = LimitBands(**{f: limit.get(f) for f in LIMIT_FIELDS})
        title = f"{type_name(language, spec.type.value)} ({spec.unit})"
        values = [r.value for r in mine if r.valid]
        summary = (
            f"{len(mine)} · min {min(values):g} · max {max(values):g}" if values else f"{len(mine)}"
        )
        charts.append(
            {
                "title": title,
                "svg": trend_chart(
                    chart_id=f"chart-{spec.type.value}",
                    title=title,
                    description=summary,
                    unit=spec.unit,
                    start=start,
                    end=end,
                    limits=bands,
                    points=[
                        ChartPoint(
                            at=r.measured_at,
                            value=r.value,
                            manual=r.entry == "manual",
                            late=r.late,
                            valid=r.valid,
                        )
                        for r in mine
                    ],
                ),
            }
        )
    return charts


def _page(
    *,
    session: Session,
    citizen: Citizen,
    now: datetime,
    days: int,
    language: str,
) -> dict[str, Any]:
    start = now - timedelta(days=days)
    readings = queries.readings(
        session,
        citizen_id=citizen.id,
        type_=None,
        since=start,
        until=None,
        page=PageParams(limit=5000, offset=0),
    ).items
    limits = current_limit_set(session, citizen.id)
    plan = current_plan(session, citizen.id)
    device_id = current_device_id(session, citizen.id)
    open_alerts = session.exec(
        select(Alert)
        .where(Alert.citizen_id == citizen.id, col(Alert.status).in_(["open", "acknowledged"]))
        .order_by(col(Alert.band_order), col(Alert.first_seen_at))
    ).all()
    history = session.exec(
        select(Alert)
        .where(Alert.citizen_id == citizen.id)
        .order_by(col(Alert.first_seen_at).desc())
        .limit(30)
    ).all()
    responses = session.exec(
        select(QuestionnaireResponse)
        .where(QuestionnaireResponse.citizen_id == citizen.id)
        .order_by(col(QuestionnaireResponse.answered_at).desc())
        .limit(20)
    ).all()
    notes = session.exec(
        select(CitizenNote)
        .where(CitizenNote.citizen_id == citizen.id)
        .order_by(col(CitizenNote.created_at).desc())
        .limit(20)
    ).all()
    pauses = session.exec(
        select(PausePeriod)
        .where(PausePeriod.citizen_id == citizen.id)
        .order_by(col(PausePeriod.starts_at).desc())
        .limit(10)
    ).all()
    rules = dict(limits.rules) if limits else {}
    absolute = {r["type"]: r for r in rules.get("absolute", [])}
    limit_rows = [
        {
            "type": s.type.value,
            "unit": s.unit,
            **{f: absolute.get(s.type.value, {}).get(f) for f in LIMIT_FIELDS},
        }
        for s in SPECS.values()
        if s.type.value in absolute or s.type.value in ("spo2", "pulse", "weight")
    ]
    return {
        "citizen": queries.citizen_public(session, citizen, now),
        "device": session.get(Device, device_id) if device_id else None,
        "open_alerts": open_alerts,
        "history": history,
        "responses": responses,
        "notes": notes,
        "pauses": pauses,
        "readings": readings[:300],
        "charts": _charts(language, readings, rules, start, now),
        "limits_version": limits.version if limits else 0,
        "limit_rows": limit_rows,
        "plan_version": plan.version if plan else 0,
        "plan": dict(plan.schedule)
        if plan
        else {
            "schedule": {"weekdays": [], "times": []},
            "measurements": [],
            "questionnaires": [],
            "grace_minutes": 120,
        },
    }


@router.get("/citizens/{citizen_id}", response_class=HTMLResponse)
async def citizen_page(
    *,
    request: Request,
    citizen: Annotated[
        Citizen, Depends(citizen_read("citizen.page.read", caller=get_page_principal))
    ],
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> HTMLResponse:
    language = language_of(request)
    try:
        days = int(request.query_params.get("days") or 14)
    except ValueError:
        days = 14
    days = days if days in (14, 30, 90) else 14
    now = clock.now()
    page = await run_in_threadpool(
        lambda: _page(
            session=uow.session,
            citizen=citizen,
            now=now,
            days=days,
            language=language,
        )
    )
    return render(
        request,
        "citizen.html",
        principal=principal,
        days=days,
        now=now,
        can_act=principal.may_act,
        outcomes=OUTCOMES,
        weekdays=WEEKDAYS,
        measurement_types=[s.type.value for s in SPECS.values()],
        band_of=lambda a: BAND_NAMES.get(a.band_order, "red"),
        why_alert=lambda a: reason_text(
            language, list(a.reasons or []), a.rule_key, a.last_value, a.severity
        ),
        question=lambda q, item: question_text(language, q, item),
        answer=lambda v: (
            ("ja" if language == "da" else "yes")
            if v is True
            else ("nej" if language == "da" else "no")
            if v is False
            else v
        ),
        **page,
    )
