"""The api service's composition root: ``create_app`` builds everything, nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pust.config.settings import Settings
from pust.db.engine import build_engine
from pust.domain.clock import Clock, SystemClock
from services.api.health.views import router as health_router
from services.api.problems import install_problem_handlers


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The FastAPI application. The database engine is built here and disposed on shutdown."""
    engine = build_engine(settings.effective_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="pust",
        version="1",
        summary="COPD home telemonitoring: worklist, citizens, limits, plans, devices, audit.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.clock = clock or SystemClock()
    install_problem_handlers(app)
    app.include_router(health_router)
    return app
