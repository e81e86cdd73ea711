"""Form actions of the citizen page (notes, invalid readings, limits, plan, pauses,
messages), each running the same code as the API and going back to the page."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from pust.domain.measurement_types import SPECS
from services.api.citizens import care, records
from services.api.citizens.models import (
    LimitSetUpdate,
    MessageCreate,
    NoteCreate,
    PauseCreate,
    PlanUpdate,
    ReadingInvalidate,
)
from services.api.citizens.service import current_limit_set, current_plan
from services.api.deps import ClockDep, SessionDep, SettingsDep
from services.api.ids import BigIdPath
from services.api.problems import InvalidInputError, NotFoundError
from services.api.scoping import citizen_for, reading_for
from services.api.web.actions import form_action
from services.api.web.render import PagePrincipal

router = APIRouter(include_in_schema=False)

LIMIT_FIELDS = ("red_low", "yellow_low", "yellow_high", "red_high")


async def _form(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found


def _one(form: dict[str, list[str]], key: str) -> str | None:
    values = form.get(key)
    return values[0] if values else None


@router.post("/ui/citizens/{citizen_id}/notes")
async def note_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await _form(request)
    return await form_action(
        f"/citizens/{citizen_id}",
        lambda: records.create_note(
            citizen_id=citizen_id,
            body=NoteCreate.model_validate({"text": _one(form, "text")}),
            session=session,
            principal=principal,
            clock=clock,
        ),
    )


@router.post("/ui/readings/{reading_id}/invalidate")
async def invalidate_form(
    *,
    request: Request,
    reading_id: BigIdPath,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await _form(request)
    try:
        _reading, citizen = await run_in_threadpool(reading_for, session, principal, reading_id)
        next_url = f"/citizens/{citizen.id}"
    except NotFoundError:
        next_url = "/"
    return await form_action(
        next_url,
        lambda: records.invalidate_reading(
            reading_id=reading_id,
            body=ReadingInvalidate.model_validate({"reason": _one(form, "reason")}),
            session=session,
            principal=principal,
            clock=clock,
        ),
    )


def _number(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    return float(text.replace(",", ".").strip())


def _limits_from_form(current: dict[str, Any], form: dict[str, list[str]]) -> dict[str, Any]:
    rules = dict(current)
    by_type = {r["type"]: dict(r) for r in rules.get("absolute", [])}
    for spec in SPECS.values():
        keys = [f"{spec.type.value}.{f}" for f in LIMIT_FIELDS]
        if not any(k in form for k in keys):
            continue
        try:
            values = {f: _number(_one(form, f"{spec.type.value}.{f}")) for f in LIMIT_FIELDS}
        except ValueError as exc:
            raise InvalidInputError(f"{spec.type.value}: not a number") from exc
        if all(v is None for v in values.values()):
            by_type.pop(spec.type.value, None)
            continue
        rule = by_type.get(
            spec.type.value, {"kind": "absolute", "type": spec.type.value, "unit": spec.unit}
        )
        rule.update(values)
        by_type[spec.type.value] = rule
    rules["absolute"] = list(by_type.values())
    return rules


@router.post("/ui/citizens/{citizen_id}/limits")
async def limits_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await _form(request)

    def run() -> None:
        citizen = citizen_for(session, principal, citizen_id)
        current = current_limit_set(session, citizen.id)
        rules = _limits_from_form(dict(current.rules) if current else {}, form)
        care.change_limits(
            citizen_id=citizen_id,
            body=LimitSetUpdate.model_validate(
                {
                    "expected_version": _one(form, "expected_version"),
                    "rules": rules,
                    "reason": _one(form, "reason"),
                }
            ),
            session=session,
            principal=principal,
            clock=clock,
        )

    return await form_action(f"/citizens/{citizen_id}", run)


@router.post("/ui/citizens/{citizen_id}/plan")
async def plan_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    form = await _form(request)

    def run() -> None:
        citizen = citizen_for(session, principal, citizen_id)
        current = current_plan(session, citizen.id)
        plan: dict[str, Any] = (
            dict(current.schedule) if current else {"starts_on": clock.now().date().isoformat()}
        )
        times = [t.strip() for t in (_one(form, "times") or "").split(",") if t.strip()]
        plan["schedule"] = {"weekdays": form.get("weekdays", []), "times": times}
        plan["measurements"] = form.get("measurements", [])
        plan["questionnaires"] = ["kol-symptoms-v1"] if _one(form, "questionnaire") else []
        if _one(form, "grace_minutes"):
            plan["grace_minutes"] = _one(form, "grace_minutes")
        care.change_plan(
            citizen_id=citizen_id,
            body=PlanUpdate.model_validate(
                {
                    "expected_version": _one(form, "expected_version"),
                    "plan": plan,
                    "reason": _one(form, "reason"),
                }
            ),
            session=session,
            principal=principal,
            clock=clock,
            settings=settings,
        )

    return await form_action(f"/citizens/{citizen_id}", run)


def _local_midnight(text: str | None, zone: ZoneInfo, *, plus_days: int = 0) -> datetime | None:
    if not text:
        return None
    day = date.fromisoformat(text) + timedelta(days=plus_days)
    return datetime.combine(day, time(0, 0), tzinfo=zone)


@router.post("/ui/citizens/{citizen_id}/pauses")
async def pause_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    form = await _form(request)
    zone = ZoneInfo(settings.clinic_timezone)

    def run() -> None:
        try:
            starts = _local_midnight(_one(form, "starts_on"), zone)
            ends = _local_midnight(_one(form, "ends_on"), zone, plus_days=1)
        except ValueError as exc:
            raise InvalidInputError("dato") from exc
        care.pause_monitoring(
            citizen_id=citizen_id,
            body=PauseCreate.model_validate(
                {"starts_at": starts, "ends_at": ends, "reason": _one(form, "reason")}
            ),
            session=session,
            principal=principal,
            clock=clock,
        )

    return await form_action(f"/citizens/{citizen_id}", run)


@router.post("/ui/citizens/{citizen_id}/pauses/{pause_id}/end")
async def end_pause_form(
    *,
    citizen_id: uuid.UUID,
    pause_id: uuid.UUID,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    return await form_action(
        f"/citizens/{citizen_id}",
        lambda: care.end_pause(
            citizen_id=citizen_id,
            pause_id=pause_id,
            session=session,
            principal=principal,
            clock=clock,
        ),
    )


@router.post("/ui/citizens/{citizen_id}/messages")
async def message_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    session: SessionDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    form = await _form(request)
    return await form_action(
        f"/citizens/{citizen_id}",
        lambda: care.send_message(
            citizen_id=citizen_id,
            body=MessageCreate.model_validate(
                {"text": _one(form, "text"), "kind": _one(form, "kind") or "message"}
            ),
            session=session,
            principal=principal,
            clock=clock,
            settings=settings,
        ),
    )
