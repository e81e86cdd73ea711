"""The worklist: the page of citizens with open work, its live updates (server-sent
events), and "acknowledge all green" for a team."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pust.db import alert_repository
from pust.db.tables import Alert
from pust.domain.alert_lifecycle import AlertError
from pust.domain.severity import AlertStatus
from services.api.alerts.notices import ACKNOWLEDGED_TEXT, queue_notice
from services.api.alerts.views import translate
from services.api.audit.recorder import record, record_citizen_reads
from services.api.auth.current import CurrentStaff
from services.api.auth.principal import Principal
from services.api.deps import ClockDep, SessionDep, SettingsDep
from services.api.pagination import Page, PageDep
from services.api.problems import NotFoundError, problem_responses
from services.api.scoping import require_action
from services.api.worklist.models import (
    Band,
    BulkAcknowledgeCreate,
    BulkAcknowledgePublic,
    WorklistRowPublic,
)
from services.api.worklist.query import BAND_ORDER, WorklistRow, worklist_fingerprint, worklist_page

router = APIRouter(prefix="/api/v1/worklist", tags=["worklist"])


def teams_in_view(principal: Principal, care_team_id: uuid.UUID | None) -> frozenset[uuid.UUID]:
    if care_team_id is None:
        return principal.team_ids
    if care_team_id not in principal.team_ids:
        raise NotFoundError("No such care team.")
    return frozenset({care_team_id})


def row_public(row: WorklistRow, *, now_seconds: float) -> WorklistRowPublic:
    return WorklistRowPublic(
        citizen_id=row.citizen_id,
        care_team_id=row.care_team_id,
        citizen_name=f"{row.given_name} {row.family_name}",
        cpr=row.cpr,
        band=row.band,
        alert_id=row.alert_id,
        alert_kind=row.kind,
        rule_key=row.rule_key,
        severity=row.severity,
        reasons=row.reasons,
        last_value=row.last_value,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        age_seconds=max(0, int(now_seconds - row.first_seen_at.timestamp())),
        late=row.late,
        lock_version=row.lock_version,
        claimed_by=row.claimed_by,
        open_alerts=row.open_alerts,
    )


def read_worklist(
    *,
    session: Session,
    principal: Principal,
    now: datetime,
    care_team_id: uuid.UUID | None,
    bands: list[Band],
    limit: int,
    offset: int,
    action: str,
) -> tuple[list[WorklistRow], int]:
    """The rows, with one audit event per citizen shown (the caller commits)."""
    teams = teams_in_view(principal, care_team_id)
    rows, total = worklist_page(session, team_ids=teams, bands=bands, limit=limit, offset=offset)
    record_citizen_reads(
        session=session,
        principal=principal,
        now=now,
        action=action,
        citizens=[(row.citizen_id, row.care_team_id) for row in rows],
    )
    return rows, total


@router.get(
    "",
    response_model=Page[WorklistRowPublic],
    summary="Citizens with open work, worst and oldest first",
    responses=problem_responses(401, 404, 422),
)
def worklist(
    *,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
    care_team_id: uuid.UUID | None = None,
    band: Annotated[list[Band] | None, Query(description="Only these bands")] = None,
) -> Page[WorklistRowPublic]:
    now = clock.now()
    rows, total = read_worklist(
        session=session,
        principal=principal,
        now=now,
        care_team_id=care_team_id,
        bands=band or [],
        limit=page.limit,
        offset=page.offset,
        action="worklist.read",
    )
    session.commit()
    return Page[WorklistRowPublic](
        items=[row_public(r, now_seconds=now.timestamp()) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


def _fingerprint(engine: Engine, team_ids: frozenset[uuid.UUID]) -> str:
    with Session(engine) as session:
        return worklist_fingerprint(session, team_ids=team_ids)


async def live_events(
    request: Request, *, team_ids: frozenset[uuid.UUID], poll: float, lifetime: float
) -> AsyncIterator[str]:
    """``changed`` whenever the teams' alerts change; a comment line as a heartbeat. Ends
    after ``lifetime`` seconds (EventSource reconnects by itself after ``retry``)."""
    engine: Engine = request.app.state.engine
    loop = asyncio.get_running_loop()
    ends = loop.time() + lifetime
    last = await run_in_threadpool(_fingerprint, engine, team_ids)
    yield f"retry: 1000\nevent: ready\ndata: {json.dumps({'version': last})}\n\n"
    beat = loop.time()
    while loop.time() < ends:
        await asyncio.sleep(poll)
        if await request.is_disconnected():
            return
        current = await run_in_threadpool(_fingerprint, engine, team_ids)
        if current != last:
            last = current
            yield f"event: changed\ndata: {json.dumps({'version': current})}\n\n"
        elif loop.time() - beat > 15:
            beat = loop.time()
            yield ": keep-alive\n\n"


@router.get(
    "/events",
    summary="Live updates of the worklist (server-sent events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "An event stream: `ready`, then `changed` whenever the worklist "
            "changes. Carries no citizen data; fetch the worklist again on `changed`.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 404),
    },
)
def worklist_events(
    *,
    request: Request,
    session: SessionDep,
    principal: CurrentStaff,
    care_team_id: uuid.UUID | None = None,
) -> StreamingResponse:
    teams = teams_in_view(principal, care_team_id)
    # the stream lives long: give back the connection (and SQLite's write lock) now
    session.close()
    api_settings = request.app.state.api_settings
    return StreamingResponse(
        live_events(
            request,
            team_ids=teams,
            poll=api_settings.live_poll_seconds,
            lifetime=api_settings.live_stream_seconds,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def acknowledge_green(
    *,
    session: Session,
    principal: Principal,
    body: BulkAcknowledgeCreate,
    now: datetime,
    topic_root: str,
) -> list[uuid.UUID]:
    require_action(principal)
    teams_in_view(principal, body.care_team_id)
    greens = session.exec(
        select(Alert)
        .where(
            Alert.care_team_id == body.care_team_id,
            Alert.status == AlertStatus.OPEN.value,
            Alert.band_order == BAND_ORDER["green"],
        )
        .order_by(col(Alert.first_seen_at))
    ).all()
    done: list[uuid.UUID] = []
    notified: set[uuid.UUID] = set()
    for green in greens:
        try:
            alert = alert_repository.acknowledge_alert(
                session,
                alert_id=green.id,
                actor_id=principal.staff_id,
                now=now,
                expected_version=green.lock_version,
                note=body.note or None,
            )
        except AlertError as exc:
            raise translate(exc) from exc
        done.append(alert.id)
        record(
            session=session,
            principal=principal,
            now=now,
            action="alert.acknowledge",
            resource_type="alert",
            resource_id=str(alert.id),
            citizen_id=alert.citizen_id,
            care_team_id=alert.care_team_id,
        )
        if body.notify_citizen and alert.citizen_id not in notified:
            notified.add(alert.citizen_id)
            queue_notice(
                session=session,
                topic_root=topic_root,
                citizen_id=alert.citizen_id,
                now=now,
                kind="acknowledged",
                text=ACKNOWLEDGED_TEXT,
            )
    record(
        session=session,
        principal=principal,
        now=now,
        action="worklist.acknowledge_green",
        resource_type="care_team",
        resource_id=str(body.care_team_id),
        care_team_id=body.care_team_id,
    )
    return done


@router.post(
    "/acknowledge-green",
    response_model=BulkAcknowledgePublic,
    summary="Acknowledge every open green alert of a care team",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def bulk_acknowledge_green(
    *,
    body: BulkAcknowledgeCreate,
    session: SessionDep,
    principal: CurrentStaff,
    clock: ClockDep,
    settings: SettingsDep,
) -> BulkAcknowledgePublic:
    done = acknowledge_green(
        session=session,
        principal=principal,
        body=body,
        now=clock.now(),
        topic_root=settings.topic_root,
    )
    session.commit()
    return BulkAcknowledgePublic(acknowledged=len(done), alert_ids=done)
