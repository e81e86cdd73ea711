"""What the citizen page's forms check before they call the same code as the API, so a
mistake is answered beside its field, in Danish, with what was typed still there. The
checks use the domain's own models (the rule set, the plan) and the API's request models:
nothing is validated twice in two different ways; the API still checks everything again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from pust.domain.plans import MeasurementPlan
from services.api.citizens.models import LimitSetUpdate, PauseCreate
from services.api.web.form_errors import FieldErrors, Translate, field_errors
from services.api.web.formatting import Formatter

Form = Mapping[str, list[str]]


@dataclass
class Checked:
    """A form after checking: the document to save, what was typed, and errors per field."""

    document: dict[str, Any]
    typed: dict[str, Any]
    errors: FieldErrors = field(default_factory=dict)


def one(form: Form, key: str) -> str:
    values = form.get(key)
    return values[0] if values else ""


def _model_errors(
    model: type[BaseModel], data: Mapping[str, Any], fmt: Formatter, t: Translate
) -> FieldErrors:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return field_errors(exc, fmt, t)
    return {}


def check_reason(form: Form, fmt: Formatter, t: Translate) -> FieldErrors:
    """The reason of a limits or plan change (the API's rule: 3–1000 characters)."""
    errors = _model_errors(
        LimitSetUpdate, {"expected_version": 0, "rules": {}, "reason": one(form, "reason")}, fmt, t
    )
    return {"reason": errors["reason"]} if "reason" in errors else {}


def _plan_field(loc: Sequence[str | int], named: str) -> str:
    if named:
        return named
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return ""
    if names[0] == "schedule" and len(names) > 1:
        return names[1]
    return names[0]


def _minutes(text: str, t: Translate) -> tuple[list[int], str]:
    found = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        try:
            found.append(int(part.strip()))
        except ValueError:
            return [], t("err_not_an_integer")
    return found, ""


def check_plan(
    current: Mapping[str, Any], form: Form, today: dt.date, fmt: Formatter, t: Translate
) -> Checked:
    """The plan form: weekdays, times, measurements, questionnaires, grace and reminders
    (editable, so a shorter grace period can be given shorter reminders)."""
    plan: dict[str, Any] = dict(current) if current else {"starts_on": today.isoformat()}
    typed: dict[str, Any] = {
        "weekdays": form.get("weekdays", []),
        "times": one(form, "times"),
        "measurements": form.get("measurements", []),
        "questionnaires": form.get("questionnaires", []),
        "grace_minutes": one(form, "grace_minutes"),
        "reminder_minutes": one(form, "reminder_minutes"),
        "reason": one(form, "reason"),
    }
    errors: FieldErrors = {}
    times = [part.strip() for part in typed["times"].split(",") if part.strip()]
    plan["schedule"] = {"weekdays": typed["weekdays"], "times": times}
    plan["measurements"] = typed["measurements"]
    plan["questionnaires"] = typed["questionnaires"]
    if typed["grace_minutes"].strip():
        plan["grace_minutes"] = typed["grace_minutes"].strip()
    if "reminder_minutes" in form:
        reminders, problem = _minutes(typed["reminder_minutes"], t)
        if problem:
            errors["reminder_minutes"] = problem
        else:
            plan["reminder_minutes"] = reminders
    try:
        MeasurementPlan.model_validate(plan)
    except ValidationError as exc:
        for key, text in field_errors(exc, fmt, t, name_of=_plan_field).items():
            errors.setdefault(key or "times", text)
    errors.update(check_reason(form, fmt, t))
    return Checked(document=plan, typed=typed, errors=errors)


def check_pause(form: Form, zone: ZoneInfo, fmt: Formatter, t: Translate) -> Checked:
    """A pause from a local date to a local date (both days included)."""
    typed = {k: one(form, k) for k in ("starts_on", "ends_on", "reason")}
    errors: FieldErrors = {}
    starts = ends = None
    try:
        if typed["starts_on"]:
            starts = dt.datetime.combine(dt.date.fromisoformat(typed["starts_on"]), dt.time(), zone)
    except ValueError:
        errors["starts_on"] = t("err_date")
    try:
        if typed["ends_on"]:
            last = dt.date.fromisoformat(typed["ends_on"]) + dt.timedelta(days=1)
            ends = dt.datetime.combine(last, dt.time(), zone)
    except ValueError:
        errors["ends_on"] = t("err_date")
    for key, text in _model_errors(
        PauseCreate, {"starts_at": starts, "ends_at": ends, "reason": typed["reason"]}, fmt, t
    ).items():
        errors.setdefault({"starts_at": "starts_on", "ends_at": "ends_on"}.get(key, key), text)
    if starts is not None and ends is not None and ends <= starts:
        errors.setdefault("ends_on", t("err_pause_order"))
    return Checked(
        document={"starts_at": starts, "ends_at": ends, "reason": typed["reason"]},
        typed=typed,
        errors=errors,
    )


def check_simple(
    model: type[BaseModel], form: Form, keys: Sequence[str], fmt: Formatter, t: Translate
) -> Checked:
    """A note, a message or an invalidation: the API's own model, errors per field."""
    typed = {k: one(form, k) for k in keys}
    data = {k: v for k, v in typed.items() if v != ""}
    return Checked(document=data, typed=typed, errors=_model_errors(model, data, fmt, t))
