"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from services.api.health.probes import broker_reachable, database_reachable
from services.api.problems import UnavailableError, problem_responses

router = APIRouter(tags=["operations"])


class HealthPublic(BaseModel):
    status: str


class ReadinessPublic(BaseModel):
    status: str
    database: bool
    broker: bool


@router.get("/healthz", response_model=HealthPublic, summary="Process alive")
def healthz() -> HealthPublic:
    return HealthPublic(status="ok")


@router.get(
    "/readyz",
    response_model=ReadinessPublic,
    summary="Database and broker reachable",
    responses=problem_responses(503),
)
async def readyz(request: Request) -> ReadinessPublic:
    state = request.app.state
    database = await run_in_threadpool(database_reachable, state.engine)
    broker = await run_in_threadpool(broker_reachable, state.settings.effective_mqtt_url)
    if not (database and broker):
        missing = [name for name, ok in (("database", database), ("broker", broker)) if not ok]
        raise UnavailableError("not reachable: " + ", ".join(missing))
    return ReadinessPublic(status="ready", database=database, broker=broker)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
