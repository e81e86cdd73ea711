"""Form actions share one shape: run the same code as the API, then go back to the page
with either "saved" or a Danish (or English) message saying what was wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from services.api.problems import ApiError, ForbiddenError, NotFoundError
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


async def form_action(
    next_url: str, action: Callable[[], T], *, done: str = "saved"
) -> RedirectResponse:
    try:
        await run_in_threadpool(action)
    except ValidationError as exc:
        return back_to(next_url, error="invalid_input", detail=validation_detail(exc))
    except (NotFoundError, ForbiddenError):
        raise  # answered with a 404/403 page, like the API: never a hint about the object
    except ApiError as exc:
        key = _ERROR_KEYS.get(exc.type_slug, "error_title")
        detail = exc.detail if key == "invalid_input" else ""
        return back_to(next_url, error=key, detail=detail)
    return back_to(next_url, done=done)
