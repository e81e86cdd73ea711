"""The FHIR R4 read API: ``build_fhir_router()`` (mounted by the app as is; its routes carry
the ``/fhir/r4`` prefix)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from pust.fhir.capability import SEARCH_PARAMS, capability_statement
from services.api.deps import ClockDep
from services.api.fhir import bridge_view, views_core, views_workflow
from services.api.fhir.responses import FHIR_JSON, FhirResponse, FhirRoute, outcome_response
from services.api.fhir.search import PREFIX

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def metadata(request: Request, clock: ClockDep) -> FhirResponse:
    base = str(request.base_url).rstrip("/") + PREFIX
    return FhirResponse(
        capability_statement(base=base, software_version=request.app.version, now=clock.now())
    )


def unknown(request: Request, path: str) -> FhirResponse:
    """Anything else under the prefix: OperationOutcome, never the app's problem+json."""
    first = path.split("/", 1)[0]
    if first in SEARCH_PARAMS or first == "metadata":
        return outcome_response(405, "this server is read-only: GET only")
    return outcome_response(404, "unknown resource type or operation")


def build_fhir_router(prefix: str = PREFIX) -> APIRouter:
    router = APIRouter(
        prefix=prefix,
        tags=["fhir"],
        route_class=FhirRoute,
        default_response_class=FhirResponse,
        responses={
            400: {"description": "OperationOutcome", "content": {FHIR_JSON: {}}},
            401: {"description": "OperationOutcome"},
            404: {"description": "OperationOutcome"},
        },
    )
    router.add_api_route("/metadata", metadata, methods=["GET"])
    views_core.register(router)
    views_workflow.register(router)
    bridge_view.register(router)
    router.add_api_route("/{path:path}", unknown, methods=_METHODS, include_in_schema=False)
    return router
