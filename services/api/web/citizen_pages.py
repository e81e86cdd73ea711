"""The citizen page: a summary first (latest value per type with its age and colour, open
alerts, plan, tablet), then the history in collapsible sections (charts, day × type table,
readings, answers, alerts, notes and messages, limits, plan and pauses). Each read is
audited; the forms post to :mod:`services.api.web.citizen_forms`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy import func
from sqlmodel import Session, col, select

from pust.db.tables import (
    Alert,
    Baseline,
    Citizen,
    CitizenNote,
    Device,
    LimitSet,
    PausePeriod,
    QuestionnaireResponse,
    Reading,
    StaffUser,
)
from pust.domain.alert_lifecycle import Outcome
from pust.domain.measurement_types import SPECS
from pust.domain.plans import WEEKDAYS
from services.api.auth.current import language_of
from services.api.auth.principal import Principal, Role
from services.api.citizens import queries
from services.api.citizens.service import current_plan
from services.api.deps import ClockDep
from services.api.in_scope import citizen_read
from services.api.pagination import PageParams
from services.api.scoping import citizen_for, current_device_id
from services.api.unit_of_work import SqlUnitOfWork, UnitOfWorkDep
from services.api.web.citizen_charts import build_charts
from services.api.web.citizen_messages import sent_messages
from services.api.web.citizen_overview import day_table, device_state, latest_values, plan_text
from services.api.web.formatting import Formatter
from services.api.web.i18n import translator
from services.api.web.limits_editor import limit_history, limits_editor, stored_rule_set
from services.api.web.render import (
    BAND_NAMES,
    PagePrincipal,
    get_page_principal,
    question_text,
    reason_text,
    render,
)
from services.api.web.watch_band import is_watch, seen_text

router = APIRouter(include_in_schema=False)

OUTCOMES = [o.value for o in Outcome if o is not Outcome.AUTO_RESOLVED]
SECTIONS = ("charts", "days", "readings", "answers", "alerts", "notes", "limits", "plan")


def _latest_per_type(session: Session, citizen_id: uuid.UUID) -> list[Any]:
    # one row per type: the newest valid reading (max per group, then joined back)
    newest = (
        select(col(Reading.type), func.max(col(Reading.measured_at)).label("at"))
        .where(Reading.citizen_id == citizen_id, col(Reading.valid).is_(True))
        .group_by(col(Reading.type))
        .subquery()
    )
    rows = session.exec(
        select(Reading)
        .join(newest, (col(Reading.type) == newest.c.type) & (Reading.measured_at == newest.c.at))
        .where(Reading.citizen_id == citizen_id, col(Reading.valid).is_(True))
    ).all()
    return [queries.reading_public(r, None) for r in rows]


def _page(
    *,
    session: Session,
    citizen: Citizen,
    now: datetime,
    days: int,
    fmt: Formatter,
    invalidate: int | None,
    topic_root: str,
) -> dict[str, Any]:
    """Everything the page shows (the read itself is audited by whoever loaded ``citizen``)."""
    t = translator(fmt.language)
    start = now - timedelta(days=days)
    readings = queries.readings(
        session,
        citizen_id=citizen.id,
        type_=None,
        since=start,
        until=None,
        page=PageParams(limit=5000, offset=0),
    ).items
    versions = session.exec(
        select(LimitSet).where(LimitSet.citizen_id == citizen.id).order_by(col(LimitSet.version))
    ).all()
    baselines = session.exec(select(Baseline).where(Baseline.citizen_id == citizen.id)).all()
    plan = current_plan(session, citizen.id)
    plan_doc: dict[str, Any] = dict(plan.schedule) if plan else {}
    device_id = current_device_id(session, citizen.id)
    alerts = session.exec(
        select(Alert)
        .where(Alert.citizen_id == citizen.id)
        .order_by(col(Alert.first_seen_at).desc())
        .limit(50)
    ).all()
    open_alerts = sorted(
        (a for a in alerts if a.status in ("open", "acknowledged")),
        key=lambda a: (a.band_order, a.first_seen_at),
    )
    # a watch is shown, not a task: its own card, no acknowledge (services/api/web/watch_band)
    watches = [a for a in open_alerts if is_watch(a.kind)]
    open_alerts = [a for a in open_alerts if not is_watch(a.kind)]
    responses = session.exec(
        select(QuestionnaireResponse)
        .where(
            QuestionnaireResponse.citizen_id == citizen.id,
            col(QuestionnaireResponse.answered_at) >= start,
        )
        .order_by(col(QuestionnaireResponse.answered_at).desc())
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
    author_ids = (
        {v.created_by for v in versions}
        | {n.author_id for n in notes}
        | {a.acknowledged_by for a in alerts}
        | {a.resolved_by for a in alerts}
    )
    authors = {
        s.id: s.display_name
        for s in session.exec(
            select(StaffUser).where(col(StaffUser.id).in_([a for a in author_ids if a]))
        ).all()
    }
    seen_types = {r.type for r in readings}
    planned = [m for m in plan_doc.get("measurements", []) if m]
    types = planned + [
        s.type.value for s in SPECS.values() if s.type.value in seen_types - set(planned)
    ]
    current = versions[-1] if versions else None
    target = next((r for r in readings if r.id == invalidate), None) if invalidate else None
    return {
        "citizen": queries.citizen_public(session, citizen, now),
        "device": device_state(session.get(Device, device_id) if device_id else None, now, fmt),
        "latest": latest_values(_latest_per_type(session, citizen.id), types, now, fmt),
        "open_alerts": open_alerts,
        "watches": watches,
        "history": alerts,
        "responses": responses,
        "notes": notes,
        "messages": sent_messages(session, citizen.id, topic_root=topic_root),
        "authors": authors,
        "pauses": pauses,
        "readings": readings[:500],
        "reading_count": len(readings),
        "invalidate_target": target,
        "charts": build_charts(
            readings=readings,
            responses=responses,
            versions=versions,
            baselines=baselines,
            start=start,
            end=now,
            monitoring_started_at=citizen.monitoring_started_at,
            fmt=fmt,
            t=t,
        ),
        "day_types": types,
        "day_rows": day_table(
            readings=readings, responses=responses, types=types, start=start, now=now, fmt=fmt
        ),
        "limits_version": current.version if current else 0,
        "editor": limits_editor(stored_rule_set(current), fmt),
        "limit_history": limit_history(versions, authors, fmt, t),
        "plan_version": plan.version if plan else 0,
        "plan_lines": plan_text(plan_doc, fmt, t) if plan_doc else [],
        "plan": plan_doc
        or {
            "schedule": {"weekdays": [], "times": []},
            "measurements": [],
            "questionnaires": [],
            "grace_minutes": 120,
            "reminder_minutes": [0, 60],
        },
    }


def citizen_page_context(
    request: Request, principal: Principal, page: dict[str, Any], *, days: int, now: datetime
) -> dict[str, Any]:
    """What the template needs beside the page's data (also used when a form is shown again
    with its errors)."""
    language = language_of(request)
    fmt = Formatter(language, ZoneInfo(request.app.state.settings.clinic_timezone))
    return {
        "principal": principal,
        "days": days,
        "watch_seen": lambda a: seen_text(
            language, fmt, times=a.count, since=a.first_seen_at, now=now
        ),
        "now": now,
        "can_act": principal.may_act,
        "can_see_access": principal.role in (Role.TEAM_LEAD, Role.ADMINISTRATOR),
        "outcomes": OUTCOMES,
        "weekdays": WEEKDAYS,
        "measurement_types": [s.type.value for s in SPECS.values()],
        "band_of": lambda a: "watch" if is_watch(a.kind) else BAND_NAMES.get(a.band_order, "red"),
        "why_alert": lambda a: reason_text(
            language, list(a.reasons or []), a.rule_key, a.last_value, a.severity
        ),
        "question": lambda q, item: question_text(language, q, item),
        **page,
    }


def parse_days(request: Request) -> int:
    try:
        days = int(request.query_params.get("days") or 14)
    except ValueError:
        days = 14
    return days if days in (14, 30, 90) else 14


async def load_citizen_page(
    *,
    request: Request,
    citizen: Citizen | uuid.UUID,
    uow: SqlUnitOfWork,
    principal: Principal,
    now: datetime,
    days: int,
) -> dict[str, Any]:
    """The page's data. Given an id (a form shown again with its errors), the citizen is
    loaded in scope and the read audited here; given a citizen, its loader did both."""
    zone = ZoneInfo(request.app.state.settings.clinic_timezone)
    fmt = Formatter(language_of(request), zone)
    try:
        invalidate = int(request.query_params.get("invalidate") or 0) or None
    except ValueError:
        invalidate = None

    def load() -> dict[str, Any]:
        found = citizen
        if isinstance(found, uuid.UUID):
            found = citizen_for(uow.session, principal, found)
            uow.audit.about_citizen(
                actor=principal,
                citizen=found,
                now=now,
                action="citizen.page.read",
                resource_type="citizen",
                resource_id=str(found.id),
            )
        return _page(
            session=uow.session,
            citizen=found,
            now=now,
            days=days,
            fmt=fmt,
            invalidate=invalidate,
            topic_root=request.app.state.settings.topic_root,
        )

    return await run_in_threadpool(load)


CitizenPageRead = Annotated[
    Citizen, Depends(citizen_read("citizen.page.read", caller=get_page_principal))
]


@router.get("/citizens/{citizen_id}", response_class=HTMLResponse)
async def citizen_page(
    *,
    request: Request,
    citizen: CitizenPageRead,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> HTMLResponse:
    days, now = parse_days(request), clock.now()
    page = await load_citizen_page(
        request=request,
        citizen=citizen,
        uow=uow,
        principal=principal,
        now=now,
        days=days,
    )
    opened = request.query_params.get("open", "")
    if page["invalidate_target"] is not None:
        opened = "readings"
    return render(
        request,
        "citizen.html",
        **citizen_page_context(request, principal, page, days=days, now=now),
        opened=opened if opened in SECTIONS else "",
        field_errors={},
        form_values={},
    )
