"""Form actions of the citizen page (notes, invalid readings, limits, plan, pauses,
messages). Each first checks the form (:mod:`citizen_form_checks`): a mistake shows the page
again with a Danish message beside the field and what was typed kept (422); otherwise it
runs the same code as the API and goes back to the page with what was done."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from pust.domain.clock import Clock
from services.api.auth.current import language_of
from services.api.auth.principal import Principal
from services.api.citizens import commands
from services.api.citizens.models import (
    LimitSetUpdate,
    MessageCreate,
    NoteCreate,
    PauseCreate,
    PlanUpdate,
    ReadingInvalidate,
)
from services.api.citizens.queries import reading_public
from services.api.deps import ClockDep, SettingsDep
from services.api.ids import BigIdPath
from services.api.unit_of_work import SqlUnitOfWork, UnitOfWorkDep
from services.api.web.actions import form_action, form_fields
from services.api.web.citizen_form_checks import (
    Checked,
    check_pause,
    check_plan,
    check_reason,
    check_simple,
    one,
)
from services.api.web.citizen_pages import citizen_page_context, load_citizen_page, parse_days
from services.api.web.formatting import Formatter
from services.api.web.i18n import translator
from services.api.web.limits_editor import limits_editor, limits_from_form, validate_limits
from services.api.web.render import PagePrincipal, render

router = APIRouter(include_in_schema=False)


def _formatter(request: Request) -> Formatter:
    return Formatter(language_of(request), ZoneInfo(request.app.state.settings.clinic_timezone))


async def _show_errors(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    uow: SqlUnitOfWork,
    principal: Principal,
    clock: Clock,
    section: str,
    form_key: str,
    checked: Checked,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The page again, with the section open, the errors beside their fields and the
    typed values kept; 422 like the API."""
    now, days = clock.now(), parse_days(request)
    page = await load_citizen_page(
        request=request,
        citizen=citizen_id,
        uow=uow,
        principal=principal,
        now=now,
        days=days,
    )
    page.update(extra or {})
    return render(
        request,
        "citizen.html",
        status=422,
        **citizen_page_context(request, principal, page, days=days, now=now),
        opened=section,
        field_errors={form_key: checked.errors},
        form_values={form_key: checked.typed},
    )


def _back(citizen_id: uuid.UUID, section: str) -> str:
    return f"/citizens/{citizen_id}?open={section}"


@router.post("/ui/citizens/{citizen_id}/notes", response_model=None)
async def note_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    fmt = _formatter(request)
    checked = check_simple(NoteCreate, form, ("text",), fmt, translator(fmt.language))
    if checked.errors:
        return await _show_errors(
            request=request,
            citizen_id=citizen_id,
            uow=uow,
            principal=principal,
            clock=clock,
            section="notes",
            form_key="note",
            checked=checked,
        )
    return await form_action(
        uow,
        _back(citizen_id, "notes"),
        lambda: commands.write_note(
            uow,
            actor=principal,
            citizen_id=citizen_id,
            command=NoteCreate.model_validate(checked.document),
            now=clock.now(),
        ),
        done="saved_note",
    )


@router.post("/ui/readings/{reading_id}/invalidate", response_model=None)
async def invalidate_form(
    *,
    request: Request,
    reading_id: BigIdPath,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    found = await run_in_threadpool(uow.records.reading, reading_id)
    next_url = "/"
    if found is not None and found[1].care_team_id in principal.team_ids:
        reading, citizen = found
        next_url = _back(citizen.id, "readings")
        fmt = _formatter(request)
        checked = check_simple(ReadingInvalidate, form, ("reason",), fmt, translator(fmt.language))
        if checked.errors:
            public = reading_public(reading, None)
            return await _show_errors(
                request=request,
                citizen_id=citizen.id,
                uow=uow,
                principal=principal,
                clock=clock,
                section="readings",
                form_key="invalidate",
                checked=checked,
                extra={"invalidate_target": public},
            )
    return await form_action(
        uow,
        next_url,
        lambda: commands.invalidate_reading(
            uow,
            actor=principal,
            reading_id=reading_id,
            command=ReadingInvalidate.model_validate({"reason": one(form, "reason")}),
            now=clock.now(),
        ),
        done="saved_invalid",
    )


@router.post("/ui/citizens/{citizen_id}/limits", response_model=None)
async def limits_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    fmt = _formatter(request)
    t = translator(fmt.language)

    def current_rules() -> dict[str, Any]:
        citizen = commands.citizen_to_change(uow, actor=principal, citizen_id=citizen_id)
        current = uow.citizens.current_limits(citizen.id)
        return dict(current.rules) if current else {}

    submitted = limits_from_form(await run_in_threadpool(current_rules), form, t)
    validate_limits(submitted, fmt, t)
    submitted.errors.update(check_reason(form, fmt, t))
    submitted.typed["reason"] = one(form, "reason")
    for key, values in form.items():
        if key.endswith("._remove"):
            submitted.typed[key] = values[0]
    if submitted.errors:
        checked = Checked(document=submitted.document, typed=submitted.typed)
        checked.errors = submitted.errors
        return await _show_errors(
            request=request,
            citizen_id=citizen_id,
            uow=uow,
            principal=principal,
            clock=clock,
            section="limits",
            form_key="limits",
            checked=checked,
            extra={"editor": limits_editor(submitted.document, fmt, submitted.typed)},
        )
    return await form_action(
        uow,
        _back(citizen_id, "limits"),
        lambda: commands.change_limits(
            uow,
            actor=principal,
            citizen_id=citizen_id,
            command=LimitSetUpdate.model_validate(
                {
                    "expected_version": one(form, "expected_version"),
                    "rules": submitted.document,
                    "reason": one(form, "reason"),
                }
            ),
            now=clock.now(),
        ),
        done="saved_limits",
    )


@router.post("/ui/citizens/{citizen_id}/plan", response_model=None)
async def plan_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    fmt = _formatter(request)

    def current() -> dict[str, Any]:
        citizen = commands.citizen_to_change(uow, actor=principal, citizen_id=citizen_id)
        plan = uow.citizens.current_plan(citizen.id)
        return dict(plan.schedule) if plan else {}

    checked = check_plan(
        await run_in_threadpool(current),
        form,
        fmt.local(clock.now()).date(),
        fmt,
        translator(fmt.language),
    )
    if checked.errors:
        return await _show_errors(
            request=request,
            citizen_id=citizen_id,
            uow=uow,
            principal=principal,
            clock=clock,
            section="plan",
            form_key="plan",
            checked=checked,
        )
    return await form_action(
        uow,
        _back(citizen_id, "plan"),
        lambda: commands.change_plan(
            uow,
            actor=principal,
            citizen_id=citizen_id,
            command=PlanUpdate.model_validate(
                {
                    "expected_version": one(form, "expected_version"),
                    "plan": checked.document,
                    "reason": one(form, "reason"),
                }
            ),
            now=clock.now(),
        ),
        done="saved_plan",
    )


@router.post("/ui/citizens/{citizen_id}/pauses", response_model=None)
async def pause_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    fmt = _formatter(request)
    checked = check_pause(form, ZoneInfo(settings.clinic_timezone), fmt, translator(fmt.language))
    if checked.errors:
        return await _show_errors(
            request=request,
            citizen_id=citizen_id,
            uow=uow,
            principal=principal,
            clock=clock,
            section="plan",
            form_key="pause",
            checked=checked,
        )
    return await form_action(
        uow,
        _back(citizen_id, "plan"),
        lambda: commands.pause(
            uow,
            actor=principal,
            citizen_id=citizen_id,
            command=PauseCreate.model_validate(checked.document),
            now=clock.now(),
        ),
        done="saved_pause",
    )


@router.post("/ui/citizens/{citizen_id}/pauses/{pause_id}/end")
async def end_pause_form(
    *,
    citizen_id: uuid.UUID,
    pause_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    return await form_action(
        uow,
        _back(citizen_id, "plan"),
        lambda: commands.end_pause(
            uow, actor=principal, citizen_id=citizen_id, pause_id=pause_id, now=clock.now()
        ),
        done="ended_pause",
    )


@router.post("/ui/citizens/{citizen_id}/messages", response_model=None)
async def message_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    fmt = _formatter(request)
    checked = check_simple(MessageCreate, form, ("text", "kind"), fmt, translator(fmt.language))
    if checked.errors:
        return await _show_errors(
            request=request,
            citizen_id=citizen_id,
            uow=uow,
            principal=principal,
            clock=clock,
            section="notes",
            form_key="message",
            checked=checked,
        )
    return await form_action(
        uow,
        _back(citizen_id, "notes"),
        lambda: commands.send_message(
            uow,
            actor=principal,
            citizen_id=citizen_id,
            command=MessageCreate.model_validate(checked.document),
            now=clock.now(),
        ),
        done="sent_message",
    )
