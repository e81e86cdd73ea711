"""The api service's composition root: ``create_app`` builds everything, nothing at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pust.config.settings import Settings
from pust.db.engine import build_engine
from pust.domain.clock import Clock, SystemClock
from services.api.admin.devices import router as devices_router
from services.api.admin.teams import router as teams_router
from services.api.alerts.views import router as alerts_router
from services.api.auth.oidc import OidcClient
from services.api.auth.views import oidc_router
from services.api.auth.views import router as auth_router
from services.api.citizens.care import router as care_router
from services.api.citizens.records import router as records_router
from services.api.citizens.views import router as citizens_router
from services.api.client_origin import ClientOriginMiddleware
from services.api.deps import database_slot_count
from services.api.enrolment.routes import router as enrolment_router
from services.api.fhir.router import build_fhir_router
from services.api.health.views import router as health_router
from services.api.problems import install_problem_handlers
from services.api.security_headers import SecurityHeadersMiddleware
from services.api.settings import ApiSettings
from services.api.web.setup import install_web
from services.api.worklist.answer import AnswerCache
from services.api.worklist.views import router as worklist_router

_log = logging.getLogger("pust.api")


def create_app(
    settings: Settings, *, clock: Clock | None = None, api_settings: ApiSettings | None = None
) -> FastAPI:
    """The FastAPI application. The database engine is built here and disposed on shutdown;
    the api's own settings (``PUST_API_*``, e.g. OIDC) are read here unless given."""
    api_settings = api_settings or ApiSettings()
    for warning in api_settings.start_up_warnings(demo=settings.demo):
        _log.warning(warning)
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
        # Swagger UI and ReDoc load scripts from a CDN; the UI makes no external requests.
        # /openapi.json is the API description.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.database_slot_count = database_slot_count(engine)
    app.state.clock = clock or SystemClock()
    app.state.api_settings = api_settings
    app.state.worklist_answers = AnswerCache()
    app.state.oidc = (
        OidcClient(
            issuer=api_settings.oidc_issuer,
            client_id=api_settings.oidc_client_id,
            client_secret=api_settings.oidc_client_secret.get_secret_value(),
            scopes=api_settings.oidc_scopes,
        )
        if api_settings.oidc_enabled
        else None
    )
    install_problem_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware, hsts_seconds=api_settings.hsts_seconds)
    # outermost: every layer inside sees the real client and scheme
    app.add_middleware(ClientOriginMiddleware, trusted=api_settings.trusted_proxy_networks)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(oidc_router)
    app.include_router(worklist_router)
    app.include_router(alerts_router)
    app.include_router(citizens_router)
    app.include_router(records_router)
    app.include_router(care_router)
    app.include_router(teams_router)
    app.include_router(devices_router)
    app.include_router(enrolment_router)
    # the FHIR routes carry their full /fhir/r4 path already: added as they are, so that they
    # show in ``app.routes`` like the framework's own
    app.router.routes.extend(build_fhir_router().routes)
    install_web(app)
    return app
