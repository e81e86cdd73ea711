"""Request-scoped dependencies: the database session, the clock, the settings.

They are ``async def``: none of them waits for anything (a session connects lazily, on its
first statement), and FastAPI runs every plain ``def`` dependency in a worker thread, a
hand-over to the thread pool and back per dependency and request. The only I/O here, the
rollback of a transaction a route left open, is sent to the thread pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlmodel import Session

from pust.config.settings import Settings
from pust.domain.clock import Clock
from services.api.settings import ApiSettings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session whose transaction the endpoint owns: it commits before answering (so that
    an audit write that fails makes the read fail); anything uncommitted is rolled back."""
    session = Session(get_engine(request), expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_roll_back_and_close, session)
        else:
            session.close()  # holds no connection: nothing to send


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
