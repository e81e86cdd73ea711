"""Form actions of the citizen page (notes, invalid readings, limits, plan, pauses,
messages). Each first checks the form (:mod:`citizen_form_checks`): a mistake shows the page
again with a Danish message beside the field and what was typed kept (422); otherwise it
runs the same code as the API and goes back to the page with what was done."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from pust.domain.limits import RuleSet
from services.api.citizens import commands, models
from services.api.citizens.queries import reading_public
from services.api.deps import SettingsDep
from services.api.ids import BigIdPath
from services.api.web.actions import PostedForm, PostedFormDep
from services.api.web.citizen_form_checks import (
    Checked,
    check_pause,
    check_plan,
    check_reason,
    check_simple,
    one,
)
from services.api.web.citizen_pages import citizen_page_context, load_citizen_page, parse_days
from services.api.web.limits_editor import limits_from_form, stored_rule_set, validate_limits
from services.api.web.render import render

router = APIRouter(include_in_schema=False)


async def _show_errors(
    posted: PostedForm,
    citizen_id: uuid.UUID,
    *,
    section: str,
    form_key: str,
    checked: Checked,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The page again, with the section open, the errors beside their fields and the
    typed values kept; 422 like the API."""
    request, principal = posted.request, posted.principal
    now, days = posted.now(), parse_days(request)
    page = await load_citizen_page(
        request=request,
        citizen=citizen_id,
        uow=posted.uow,
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


async def _checked_action(
    posted: PostedForm,
    citizen_id: uuid.UUID,
    checked: Checked,
    action: Callable[[], object],
    *,
    section: str,
    form_key: str,
    done: str,
    extra: Callable[[], dict[str, Any]] | None = None,
) -> RedirectResponse | HTMLResponse:
    """Errors → the page again with the section open; else the use case runs and the page
    comes back at that section with what was done."""
    if checked.errors:
        return await _show_errors(
            posted,
            citizen_id,
            section=section,
            form_key=form_key,
            checked=checked,
            extra=extra() if extra else None,
        )
    return await posted.act(action, next_url=_back(citizen_id, section), done=done)


def _current(posted: PostedForm, citizen_id: uuid.UUID) -> uuid.UUID:
    """The citizen the form changes (in the poster's scope, else 404)."""
    return commands.citizen_to_change(posted.uow, actor=posted.principal, citizen_id=citizen_id).id


@router.post("/ui/citizens/{citizen_id}/notes", response_model=None)
async def note_form(
    *, citizen_id: uuid.UUID, posted: PostedFormDep
) -> RedirectResponse | HTMLResponse:
    checked = check_simple(models.NoteCreate, posted.fields, ("text",), posted.fmt, posted.t)
    return await _checked_action(
        posted,
        citizen_id,
        checked,
        lambda: commands.write_note(
            posted.uow,
            actor=posted.principal,
            citizen_id=citizen_id,
            command=models.NoteCreate.model_validate(checked.document),
            now=posted.now(),
        ),
        section="notes",
        form_key="note",
        done="saved_note",
    )


@router.post("/ui/readings/{reading_id}/invalidate", response_model=None)
async def invalidate_form(
    *, reading_id: BigIdPath, posted: PostedFormDep
) -> RedirectResponse | HTMLResponse:
    form, principal = posted.fields, posted.principal
    found = await run_in_threadpool(posted.uow.records.reading, reading_id)
    next_url = "/"
    if found is not None and found[1].care_team_id in principal.team_ids:
        reading, citizen = found
        next_url = _back(citizen.id, "readings")
        checked = check_simple(models.ReadingInvalidate, form, ("reason",), posted.fmt, posted.t)
        if checked.errors:
            public = reading_public(reading, None)
            return await _show_errors(
                posted,
                citizen.id,
                section="readings",
                form_key="invalidate",
                checked=checked,
                extra={"invalidate_target": public},
            )
    return await posted.act(
        lambda: commands.invalidate_reading(
            posted.uow,
            actor=principal,
            reading_id=reading_id,
            command=models.ReadingInvalidate.model_validate({"reason": one(form, "reason")}),
            now=posted.now(),
        ),
        next_url=next_url,
        done="saved_invalid",
    )


@router.post("/ui/citizens/{citizen_id}/limits", response_model=None)
async def limits_form(
    *, citizen_id: uuid.UUID, posted: PostedFormDep
) -> RedirectResponse | HTMLResponse:
    form, fmt, t = posted.fields, posted.fmt, posted.t

    def current_rules() -> RuleSet:
        return stored_rule_set(posted.uow.citizens.current_limits(_current(posted, citizen_id)))

    submitted = limits_from_form(await run_in_threadpool(current_rules), form, t)
    validate_limits(submitted, fmt, t)
    submitted.errors.update(check_reason(form, fmt, t))
    submitted.typed["reason"] = one(form, "reason")
    for key, values in form.items():
        if key.endswith("._remove"):
            submitted.typed[key] = values[0]
    checked = Checked(document=submitted.document, typed=submitted.typed)
    checked.errors = submitted.errors
    return await _checked_action(
        posted,
        citizen_id,
        checked,
        lambda: commands.change_limits(
            posted.uow,
            actor=posted.principal,
            citizen_id=citizen_id,
            command=models.LimitSetUpdate.model_validate(
                {
                    "expected_version": one(form, "expected_version"),
                    "rules": submitted.to_save(),
                    "reason": one(form, "reason"),
                }
            ),
            now=posted.now(),
        ),
        section="limits",
        form_key="limits",
        done="saved_limits",
        extra=lambda: {"editor": submitted.editor(fmt)},
    )


@router.post("/ui/citizens/{citizen_id}/plan", response_model=None)
async def plan_form(
    *, citizen_id: uuid.UUID, posted: PostedFormDep
) -> RedirectResponse | HTMLResponse:
    form, fmt = posted.fields, posted.fmt

    def current() -> dict[str, Any]:
        plan = posted.uow.citizens.current_plan(_current(posted, citizen_id))
        return dict(plan.schedule) if plan else {}

    today = fmt.local(posted.now()).date()
    checked = check_plan(await run_in_threadpool(current), form, today, fmt, posted.t)
    return await _checked_action(
        posted,
        citizen_id,
        checked,
        lambda: commands.change_plan(
            posted.uow,
            actor=posted.principal,
            citizen_id=citizen_id,
            command=models.PlanUpdate.model_validate(
                {
                    "expected_version": one(form, "expected_version"),
                    "plan": checked.document,
                    "reason": one(form, "reason"),
                }
            ),
            now=posted.now(),
        ),
        section="plan",
        form_key="plan",
        done="saved_plan",
    )


@router.post("/ui/citizens/{citizen_id}/pauses", response_model=None)
async def pause_form(
    *, citizen_id: uuid.UUID, posted: PostedFormDep, settings: SettingsDep
) -> RedirectResponse | HTMLResponse:
    zone = ZoneInfo(settings.clinic_timezone)
    checked = check_pause(posted.fields, zone, posted.fmt, posted.t)
    return await _checked_action(
        posted,
        citizen_id,
        checked,
        lambda: commands.pause(
            posted.uow,
            actor=posted.principal,
            citizen_id=citizen_id,
            command=models.PauseCreate.model_validate(checked.document),
            now=posted.now(),
        ),
        section="plan",
        form_key="pause",
        done="saved_pause",
    )


@router.post("/ui/citizens/{citizen_id}/pauses/{pause_id}/end")
async def end_pause_form(
    *, citizen_id: uuid.UUID, pause_id: uuid.UUID, posted: PostedFormDep
) -> RedirectResponse:
    return await posted.act(
        lambda: commands.end_pause(
            posted.uow,
            actor=posted.principal,
            citizen_id=citizen_id,
            pause_id=pause_id,
            now=posted.now(),
        ),
        next_url=_back(citizen_id, "plan"),
        done="ended_pause",
    )


@router.post("/ui/citizens/{citizen_id}/messages", response_model=None)
async def message_form(
    *, citizen_id: uuid.UUID, posted: PostedFormDep
) -> RedirectResponse | HTMLResponse:
    fields = ("text", "kind")
    checked = check_simple(models.MessageCreate, posted.fields, fields, posted.fmt, posted.t)
    return await _checked_action(
        posted,
        citizen_id,
        checked,
        lambda: commands.send_message(
            posted.uow,
            actor=posted.principal,
            citizen_id=citizen_id,
            command=models.MessageCreate.model_validate(checked.document),
            now=posted.now(),
        ),
        section="notes",
        form_key="message",
        done="sent_message",
    )
