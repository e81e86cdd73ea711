"""Form actions share one shape: run the same use case as the API, then go back to the page
with either "saved" or a Danish (or English) message saying what was wrong. A failed action
is rolled back here before the redirect, since the request's unit of work commits whatever
a route that returns normally leaves behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from services.api.problems import (
    HANDLED_ERRORS,
    DocumentationMissingError,
    ForbiddenError,
    NotFoundError,
    as_api_error,
)
from services.api.unit_of_work import SqlUnitOfWork
from services.api.web.render import back_to

T = TypeVar("T")

_ERROR_KEYS = {
    "not-found": "not_found",
    "conflict": "conflict",
    "forbidden": "forbidden",
    "invalid-input": "invalid_input",
}


def validation_detail(exc: ValidationError) -> str:
    fields = sorted({".".join(str(p) for p in error["loc"]) or "?" for error in exc.errors()})
    return ", ".join(fields)


async def form_fields(request: Request) -> dict[str, list[str]]:
    """Every text field of the posted form, repeated fields as lists."""
    form = await request.form()
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found


def one(form: dict[str, list[str]], key: str) -> str | None:
    """The field's first value; an empty field is no value."""
    values = form.get(key)
    return values[0] if values and values[0] != "" else None


def chosen_outcome(form: dict[str, list[str]]) -> str:
    """The outcome the nurse chose; never a default (an empty choice is refused)."""
    outcome = one(form, "outcome")
    if outcome is None:
        raise DocumentationMissingError(
            "An outcome is required.", field="outcome", message_key="outcome_required"
        )
    return outcome


async def form_action(
    uow: SqlUnitOfWork, next_url: str, action: Callable[[], T], *, done: str = "saved"
) -> RedirectResponse:
    try:
        await run_in_threadpool(action)
    except ValidationError as exc:
        await run_in_threadpool(uow.rollback)
        return back_to(next_url, error="invalid_input", detail=validation_detail(exc))
    except HANDLED_ERRORS as exc:
        error = as_api_error(exc)
        if isinstance(error, NotFoundError | ForbiddenError):
            # a 404/403 page, like the API: never a hint about the object
            if error is exc:
                raise
            raise error from exc
        await run_in_threadpool(uow.rollback)
        if isinstance(error, DocumentationMissingError):
            return back_to(next_url, error=error.message_key)
        key = _ERROR_KEYS.get(error.type_slug, "error_title")
        detail = error.detail if key == "invalid_input" else ""
        return back_to(next_url, error=key, detail=detail)
    return back_to(next_url, done=done)
