"""Request-scoped dependencies: the database session, the clock, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from pust.config.settings import Settings
from pust.domain.clock import Clock
from services.api.settings import ApiSettings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    """A session whose transaction the endpoint owns: it commits before answering (so that
    an audit write that fails makes the read fail); anything uncommitted is rolled back."""
    with Session(get_engine(request), expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_api_settings(request: Request) -> ApiSettings:
    api_settings: ApiSettings = request.app.state.api_settings
    return api_settings


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ApiSettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]
