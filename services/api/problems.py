"""Errors as ``application/problem+json`` (RFC 9457): one exception tree, one set of handlers.

Every error answered by the API carries ``type``, ``title``, ``status`` and ``detail``. Use
cases raise the errors below, or let the domain's own errors through: those are translated
here, in :func:`as_api_error`, and nowhere else (the web UI's form actions use it too).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from pust.domain.alert_lifecycle import (
    AlertError,
    AlertNotFoundError,
    AlreadyClaimedError,
    StaleAlertError,
)
from pust.domain.limits import InvalidRuleSetError
from pust.domain.plans import InvalidPlanError
from services.api.audit.failures import audit_refusal

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("pust.api")


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class ApiError(Exception):
    """Base of the api's own errors; each maps to one HTTP status."""

    status: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class NotFoundError(ApiError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class UnauthorizedError(ApiError):
    status = 401
    title = "Not authenticated"
    type_slug = "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class ForbiddenError(ApiError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class ConflictError(ApiError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class InvalidInputError(ApiError):
    status = 422
    title = "Invalid input"
    type_slug = "invalid-input"


class DocumentationMissingError(InvalidInputError):
    """A nurse's documentation lacks a field the action needs (a note to acknowledge or
    resolve a red, an outcome). ``field`` names the form field; ``message_key`` the web's
    words for it; ``message_da`` the field error in the JSON problem's ``errors``."""

    def __init__(
        self, detail: str, *, field: str, message_key: str, message_da: str | None = None
    ) -> None:
        super().__init__(detail)
        self.field = field
        self.message_key = message_key
        self.message_da = message_da

    def field_errors(self) -> list[dict[str, Any]]:
        message = self.message_da or self.detail
        return [{"loc": ["body", self.field], "msg": message, "type": self.message_key}]


class TooManyAttemptsError(ApiError):
    status = 429
    title = "Too many attempts"
    type_slug = "too-many-attempts"


class UnavailableError(ApiError):
    status = 503
    title = "Service unavailable"
    type_slug = "unavailable"


_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many attempts",
    500: "Internal server error",
    503: "Service unavailable",
}


# the domain's errors a use case lets through; each becomes one of the errors above
DOMAIN_ERRORS: tuple[type[Exception], ...] = (AlertError, InvalidRuleSetError, InvalidPlanError)
HANDLED_ERRORS: tuple[type[Exception], ...] = (ApiError, *DOMAIN_ERRORS)


def as_api_error(exc: Exception) -> ApiError:
    """A domain error in the API's words (an ApiError is returned as it is)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, AlertNotFoundError):
        return NotFoundError("No such alert.")
    if isinstance(exc, StaleAlertError):
        return ConflictError(
            "Someone else changed this alert since you loaded it. Reload and decide again."
        )
    if isinstance(exc, AlreadyClaimedError):
        return ConflictError("Another nurse has taken this alert.")
    if isinstance(exc, AlertError):
        return ConflictError(str(exc))
    if isinstance(exc, InvalidRuleSetError | InvalidPlanError):
        return InvalidInputError("; ".join(exc.problems))
    raise TypeError(f"not a domain error: {type(exc).__name__}") from exc


def problem_type(slug: str) -> str:
    return f"https://pust.example/problems/{slug}"


def problem_response(
    *,
    status: int,
    detail: str,
    title: str | None = None,
    slug: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem+json answers."""
    return {
        status: {
            "model": Problem,
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def api_error_response(exc: ApiError) -> JSONResponse:
    return problem_response(
        status=exc.status,
        detail=exc.detail,
        title=exc.title,
        slug=exc.type_slug,
        errors=exc.field_errors() if isinstance(exc, DocumentationMissingError) else None,
        headers=exc.headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    async def on_api_problem(request: Request, exc: Exception) -> JSONResponse:
        error = as_api_error(exc)
        await audit_refusal(request, error.status)
        return api_error_response(error)

    async def on_http_exception(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(
            status=exc.status_code,
            detail=str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )

    async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in exc.errors()
        ]
        return problem_response(
            status=422,
            detail="The request did not validate.",
            slug="invalid-input",
            errors=errors,
        )

    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # ids only in logs: the exception type, never its message (it may carry data)
        _log.error("unhandled_error type=%s", type(exc).__name__)
        return problem_response(
            status=500, detail="An unexpected error occurred.", slug="internal-error"
        )

    for handled in HANDLED_ERRORS:
        app.add_exception_handler(handled, on_api_problem)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
