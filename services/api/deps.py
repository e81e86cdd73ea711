"""Request-scoped dependencies: the database session, the clock, the settings.

They are ``async def``: none of them waits for anything (a session connects lazily, on its
first statement), and FastAPI runs every plain ``def`` dependency in a worker thread, a
hand-over to the thread pool and back per dependency and request. The only I/O here, the
rollback of a transaction a route left open, is sent to the thread pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from pust.config.settings import Settings
from pust.domain.clock import Clock
from services.api.settings import ApiSettings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


# connections of the pool that no request holds: audit_refusal's own session, and the
# worklist streams' polls between their slots
_RESERVED_CONNECTIONS = 2


def database_slot_count(engine: Engine) -> int:
    """How many requests may hold a database session at once: the pool's connections less
    a reserve. A request keeps its connection from its first statement to its commit, over
    several hand-overs to the thread pool (the principal, the route, the commit); without
    this limit, more requests than connections would fill every worker thread with waits
    for a connection that requests parked between their hand-overs hold, and all of them
    would wait out the pool's timeout (the 50-nurse run in docs/performance.md)."""
    pool = engine.pool
    connections = pool.size() + pool._max_overflow if isinstance(pool, QueuePool) else 10
    return max(1, connections - _RESERVED_CONNECTIONS)


def database_slots(request: Request) -> anyio.CapacityLimiter:
    """The app's limiter of :func:`database_slot_count`, one per event loop (a test client
    runs the same app on a loop of its own each time)."""
    state = request.app.state
    loop = asyncio.get_running_loop()
    held: tuple[asyncio.AbstractEventLoop, anyio.CapacityLimiter] | None = getattr(
        state, "database_slots", None
    )
    if held is None or held[0] is not loop:
        held = (loop, anyio.CapacityLimiter(state.database_slot_count))
        state.database_slots = held
    return held[1]


class _Slot:
    """One request's place among :func:`database_slots`, given back once."""

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self._limiter = limiter
        self._held = False

    async def take(self) -> None:
        await self._limiter.acquire_on_behalf_of(self)
        self._held = True

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._limiter.release_on_behalf_of(self)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session whose transaction the endpoint owns: it commits before answering (so that
    an audit write that fails makes the read fail); anything uncommitted is rolled back.
    The request waits here, on the event loop, for a database slot."""
    slot = _Slot(database_slots(request))
    await slot.take()
    session = Session(get_engine(request), expire_on_commit=False)
    session.info["slot"] = slot
    try:
        yield session
    finally:
        try:
            if session.in_transaction():
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(_roll_back_and_close, session)
            else:
                session.close()  # holds no connection: nothing to send
        finally:
            slot.give_back()


def close_early(session: Session) -> None:
    """Close the request's session and give back its slot before the answer ends (a
    long-lived stream)."""
    session.close()
    slot = session.info.get("slot")
    if isinstance(slot, _Slot):
        slot.give_back()


def _roll_back_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_api_settings(request: Request) -> ApiSettings:
    api_settings: ApiSettings = request.app.state.api_settings
    return api_settings


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ApiSettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]
