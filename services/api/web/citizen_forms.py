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
from services.api.citizens import commands
from services.api.citizens.models import (
    LimitSetUpdate,
    MessageCreate,
    NoteCreate,
    PauseCreate,
    PlanUpdate,
    ReadingInvalidate,
)
from services.api.deps import ClockDep, SettingsDep
from services.api.ids import BigIdPath
from services.api.problems import InvalidInputError
from services.api.unit_of_work import UnitOfWorkDep
from services.api.web.actions import form_action, form_fields, one
from services.api.web.render import PagePrincipal

router = APIRouter(include_in_schema=False)

LIMIT_FIELDS = ("red_low", "yellow_low", "yellow_high", "red_high")


@router.post("/ui/citizens/{citizen_id}/notes")
async def note_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await form_fields(request)
    return await form_action(
        uow,
        f"/citizens/{citizen_id}",
        lambda: commands.write_note(
            uow,
            actor=principal,
            citizen_id=citizen_id,
            command=NoteCreate.model_validate({"text": one(form, "text")}),
            now=clock.now(),
        ),
    )


@router.post("/ui/readings/{reading_id}/invalidate")
async def invalidate_form(
    *,
    request: Request,
    reading_id: BigIdPath,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await form_fields(request)
    found = await run_in_threadpool(uow.records.reading, reading_id)
    visible = found is not None and found[1].care_team_id in principal.team_ids
    next_url = f"/citizens/{found[1].id}" if found is not None and visible else "/"
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
            values = {f: _number(one(form, f"{spec.type.value}.{f}")) for f in LIMIT_FIELDS}
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
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await form_fields(request)

    def run() -> None:
        citizen = commands.citizen_to_change(uow, actor=principal, citizen_id=citizen_id)
        current = uow.citizens.current_limits(citizen.id)
        rules = _limits_from_form(dict(current.rules) if current else {}, form)
        commands.change_limits(
            uow,
            actor=principal,
            citizen_id=citizen_id,
            command=LimitSetUpdate.model_validate(
                {
                    "expected_version": one(form, "expected_version"),
                    "rules": rules,
                    "reason": one(form, "reason"),
                }
            ),
            now=clock.now(),
        )

    return await form_action(uow, f"/citizens/{citizen_id}", run)


@router.post("/ui/citizens/{citizen_id}/plan")
async def plan_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await form_fields(request)

    def run() -> None:
        citizen = commands.citizen_to_change(uow, actor=principal, citizen_id=citizen_id)
        current = uow.citizens.current_plan(citizen.id)
        plan: dict[str, Any] = (
            dict(current.schedule) if current else {"starts_on": clock.now().date().isoformat()}
        )
        times = [t.strip() for t in (one(form, "times") or "").split(",") if t.strip()]
        plan["schedule"] = {"weekdays": form.get("weekdays", []), "times": times}
        plan["measurements"] = form.get("measurements", [])
        plan["questionnaires"] = ["kol-symptoms-v1"] if one(form, "questionnaire") else []
        if one(form, "grace_minutes"):
            plan["grace_minutes"] = one(form, "grace_minutes")
        commands.change_plan(
            uow,
            actor=principal,
            citizen_id=citizen_id,
            command=PlanUpdate.model_validate(
                {
                    "expected_version": one(form, "expected_version"),
                    "plan": plan,
                    "reason": one(form, "reason"),
                }
            ),
            now=clock.now(),
        )

    return await form_action(uow, f"/citizens/{citizen_id}", run)


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
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> RedirectResponse:
    form = await form_fields(request)
    zone = ZoneInfo(settings.clinic_timezone)

    def run() -> None:
        try:
            starts = _local_midnight(one(form, "starts_on"), zone)
            ends = _local_midnight(one(form, "ends_on"), zone, plus_days=1)
        except ValueError as exc:
            raise InvalidInputError("dato") from exc
        commands.pause(
            uow,
            actor=principal,
            citizen_id=citizen_id,
            command=PauseCreate.model_validate(
                {"starts_at": starts, "ends_at": ends, "reason": one(form, "reason")}
            ),
            now=clock.now(),
        )

    return await form_action(uow, f"/citizens/{citizen_id}", run)


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
        f"/citizens/{citizen_id}",
        lambda: commands.end_pause(
            uow, actor=principal, citizen_id=citizen_id, pause_id=pause_id, now=clock.now()
        ),
    )


@router.post("/ui/citizens/{citizen_id}/messages")
async def message_form(
    *,
    request: Request,
    citizen_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
    clock: ClockDep,
) -> RedirectResponse:
    form = await form_fields(request)
    return await form_action(
        uow,
        f"/citizens/{citizen_id}",
        lambda: commands.send_message(
            uow,
            actor=principal,
            citizen_id=citizen_id,
            command=MessageCreate.model_validate(
                {"text": one(form, "text"), "kind": one(form, "kind") or "message"}
            ),
            now=clock.now(),
        ),
    )
