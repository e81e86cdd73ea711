"""The worklist: the page of citizens with open work, its live updates (server-sent
events), and "acknowledge all green" for a team. Thin: the work is in ``queries.py`` and
``commands.py``."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine

from services.api.auth.current import CurrentStaff
from services.api.deps import ClockDep, SessionDep, close_early, database_slots
from services.api.pagination import PageDep
from services.api.problems import problem_responses
from services.api.unit_of_work import UnitOfWorkDep
from services.api.worklist import commands
from services.api.worklist.live import TeamPulse
from services.api.worklist.models import (
    Band,
    BulkAcknowledgeCreate,
    BulkAcknowledgePublic,
    CitizenSettleCreate,
    CitizenSettlePublic,
    WorklistPagePublic,
)
from services.api.worklist.queries import read_worklist, teams_in_view

router = APIRouter(prefix="/api/v1/worklist", tags=["worklist"])


@router.get(
    "",
    response_model=WorklistPagePublic,
    summary="Citizens with open tasks, worst and oldest first; watches apart",
    responses=problem_responses(401, 404, 422),
)
async def worklist(
    *,
    request: Request,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
    care_team_id: uuid.UUID | None = None,
    band: Annotated[list[Band] | None, Query(description="Only these bands (of the tasks)")] = None,
) -> Response:
    # async, with the query and its audit in one hand-over to the thread pool; the answer
    # is JSON already (services/api/worklist/answer.py), so FastAPI does not validate it
    # against the schema again
    now = clock.now()

    def read_and_commit() -> bytes:
        # the read, its audit and the commit in one hand-over: the audit is committed
        # before the answer is sent, as in every route
        answer = read_worklist(
            uow,
            actor=principal,
            now=now,
            care_team_id=care_team_id,
            bands=band or [],
            limit=page.limit,
            offset=page.offset,
            action="worklist.read",
            answers=request.app.state.worklist_answers,
        )
        uow.commit()
        return answer.body(now)

    return Response(await run_in_threadpool(read_and_commit), media_type="application/json")


def pulse_of(request: Request) -> TeamPulse:
    """The app's one poller of the watched teams, one per event loop (a test client runs
    the same app on a loop of its own each time)."""
    state = request.app.state
    loop = asyncio.get_running_loop()
    held: tuple[asyncio.AbstractEventLoop, TeamPulse] | None = getattr(
        state, "worklist_pulse", None
    )
    if held is None or held[0] is not loop:
        engine: Engine = state.engine
        held = (
            loop,
            TeamPulse(
                engine,
                lambda: database_slots(request),
                state.api_settings.live_poll_seconds,
            ),
        )
        state.worklist_pulse = held
    return held[1]


async def live_events(
    request: Request, *, team_ids: frozenset[uuid.UUID], lifetime: float
) -> AsyncIterator[str]:
    """``changed`` whenever the teams' alerts change; a comment line as a heartbeat. Ends
    after ``lifetime`` seconds (EventSource reconnects by itself after ``retry``). The
    database is polled once per process for every stream (:mod:`services.api.worklist.live`)."""
    pulse = pulse_of(request)
    loop = asyncio.get_running_loop()
    ends = loop.time() + lifetime
    last = await pulse.watch(team_ids)
    try:
        yield f"retry: 1000\nevent: ready\ndata: {json.dumps({'version': last})}\n\n"
        beat = loop.time()
        while loop.time() < ends:
            await pulse.next_round(timeout=min(15.0, max(0.0, ends - loop.time())))
            if await request.is_disconnected():
                return
            current = pulse.version(team_ids)
            if current != last:
                last = current
                yield f"event: changed\ndata: {json.dumps({'version': current})}\n\n"
            elif loop.time() - beat > 15:
                beat = loop.time()
                yield ": keep-alive\n\n"
    finally:
        pulse.unwatch(team_ids)


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
    # the stream lives long: give back the connection (and SQLite's write lock) and the
    # request's database slot now
    close_early(session)
    api_settings = request.app.state.api_settings
    return StreamingResponse(
        live_events(
            request,
            team_ids=teams,
            lifetime=api_settings.live_stream_seconds,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/acknowledge-green",
    response_model=BulkAcknowledgePublic,
    summary="Acknowledge every open green alert of a care team",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def bulk_acknowledge_green(
    *, body: BulkAcknowledgeCreate, uow: UnitOfWorkDep, principal: CurrentStaff, clock: ClockDep
) -> BulkAcknowledgePublic:
    done = commands.acknowledge_green(uow, actor=principal, command=body, now=clock.now())
    return BulkAcknowledgePublic(acknowledged=len(done), alert_ids=done)


@router.post(
    "/citizens/{citizen_id}/settle",
    response_model=CitizenSettlePublic,
    summary="Acknowledge or resolve all the alerts of a citizen the caller saw, at once",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def settle_citizen(
    *,
    citizen_id: uuid.UUID,
    body: CitizenSettleCreate,
    uow: UnitOfWorkDep,
    principal: CurrentStaff,
    clock: ClockDep,
) -> CitizenSettlePublic:
    return commands.settle_citizen(
        uow, actor=principal, citizen_id=citizen_id, command=body, now=clock.now()
    )
