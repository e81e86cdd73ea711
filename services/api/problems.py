"""Errors as ``application/problem+json`` (RFC 9457): one exception tree, one set of handlers.

Every error answered by the API carries ``type``, ``title``, ``status`` and ``detail``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    title = "ForbiddenError"
    type_slug = "forbidden"


class ConflictError(ApiError):
    status = 409
    title = "ConflictError"
    type_slug = "conflict"


class InvalidInputError(ApiError):
    status = 422
    title = "Invalid input"
    type_slug = "invalid-input"


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
    403: "ForbiddenError",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "ConflictError",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many attempts",
    500: "Internal server error",
    503: "Service unavailable",
}


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
        headers=exc.headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    async def on_api_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        await audit_refusal(request, exc.status)
        return api_error_response(exc)

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

    app.add_exception_handler(ApiError, on_api_problem)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
