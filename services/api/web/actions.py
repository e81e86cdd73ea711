"""Form actions share one shape: run the same use case as the API, then go back to the page
with either "saved" or a Danish (or English) message saying what was wrong. A failed action
is rolled back here before the redirect, since the request's unit of work commits whatever
a route that returns normally leaves behind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from pust.domain.clock import Clock
from services.api.auth.current import language_of
from services.api.auth.principal import Principal
from services.api.deps import ClockDep
from services.api.problems import (
    HANDLED_ERRORS,
    DocumentationMissingError,
    ForbiddenError,
    NotFoundError,
    as_api_error,
)
from services.api.unit_of_work import SqlUnitOfWork, UnitOfWorkDep
from services.api.web.formatting import Formatter
from services.api.web.i18n import translator
from services.api.web.render import PagePrincipal, back_to

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


@dataclass(frozen=True)
class PostedForm:
    """A form post as every form action sees it: the request's unit of work and clock, who
    posted, the posted fields, and a formatter and translator in the poster's language."""

    request: Request
    uow: SqlUnitOfWork
    principal: Principal
    clock: Clock
    fields: dict[str, list[str]]
    fmt: Formatter

    @property
    def t(self) -> Callable[[str], str]:
        return translator(self.fmt.language)

    def now(self) -> datetime:
        return self.clock.now()

    def one(self, key: str) -> str | None:
        return one(self.fields, key)

    async def act(
        self, action: Callable[[], T], *, next_url: str | None = None, done: str = "saved"
    ) -> RedirectResponse:
        """:func:`form_action` in this request's unit of work; back to the form's ``next``
        field (or the worklist) unless told where."""
        back = next_url if next_url is not None else self.one("next") or "/"
        return await form_action(self.uow, back, action, done=done)


async def posted_form(
    request: Request, uow: UnitOfWorkDep, principal: PagePrincipal, clock: ClockDep
) -> PostedForm:
    timezone = ZoneInfo(request.app.state.settings.clinic_timezone)
    return PostedForm(
        request=request,
        uow=uow,
        principal=principal,
        clock=clock,
        fields=await form_fields(request),
        fmt=Formatter(language_of(request), timezone),
    )


PostedFormDep = Annotated[PostedForm, Depends(posted_form)]
