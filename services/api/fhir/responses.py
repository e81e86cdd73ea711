"""FHIR answers: ``application/fhir+json`` bodies, and an OperationOutcome for every error.

The app answers errors as problem+json; under ``/fhir/r4`` a FHIR client expects an
OperationOutcome instead. :class:`FhirRoute` wraps each FHIR endpoint (its dependencies
included, so authentication and validation failures too) and translates the api's errors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from pust.fhir.bundle import operation_outcome
from services.api.fhir.params import SearchError
from services.api.problems import ApiError

FHIR_JSON = "application/fhir+json"
_log = logging.getLogger("pust.api.fhir")


class FhirResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def outcome_response(
    status: int, diagnostics: str, *, headers: dict[str, str] | None = None
) -> FhirResponse:
    return FhirResponse(operation_outcome(status, diagnostics), status_code=status, headers=headers)


_JSON = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
_ANY = {"*/*", "application/*"}


def acceptable(request: Request) -> bool:
    """JSON only: ``_format`` (which overrides Accept) or ``Accept`` must allow it, else the
    answer is 406 -- an XML client must not get JSON it did not ask for."""
    requested = request.query_params.get("_format")
    if requested is not None:
        return requested.split(";")[0].strip().lower() in _JSON
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return True
    for part in accept.split(","):
        media, *options = (p.strip().lower() for p in part.split(";"))
        if any(o.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for o in options):
            continue
        if media in _JSON or media in _ANY:
            return True
    return False


class FhirRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def fhir_handler(request: Request) -> Response:
            if not acceptable(request):
                return outcome_response(406, "this server answers application/fhir+json only")
            try:
                return await handler(request)
            except SearchError as exc:
                return outcome_response(400, str(exc))
            except ApiError as exc:
                return outcome_response(exc.status, exc.detail, headers=exc.headers)
            except RequestValidationError as exc:
                where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
                return outcome_response(400, "invalid request: " + ", ".join(where)[:300])
            except StarletteHTTPException as exc:
                return outcome_response(
                    exc.status_code, str(exc.detail)[:300], headers=getattr(exc, "headers", None)
                )
            except Exception:
                _log.exception("fhir.error path_template=%s", self.path)
                return outcome_response(500, "internal error")

        return fhir_handler
