"""What the administration forms check before they call the API's code: Danish errors per
field, the typed input kept. CPR numbers follow :mod:`pust.domain.cpr` (a date that does not
exist is refused; a failed modulus-11 check outside 1 January needs a person to confirm)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from pust.domain.cpr import Cpr, InvalidCpr
from pust.domain.missed_measurement_policy import policy_errors
from services.api.admin.models import CareTeamCreate, StaffCreate, StaffUpdate
from services.api.citizens.models import CitizenCreate
from services.api.web.citizen_form_checks import Checked, one
from services.api.web.form_errors import FieldErrors, Translate, field_errors
from services.api.web.formatting import Formatter

Form = Mapping[str, list[str]]


def _validate(model: Any, data: Mapping[str, Any], fmt: Formatter, t: Translate) -> FieldErrors:
    from pydantic import ValidationError

    try:
        model.model_validate(data)
    except ValidationError as exc:
        return field_errors(exc, fmt, t)
    return {}


def check_citizen(form: Form, fmt: Formatter, t: Translate) -> Checked:
    keys = ("care_team_id", "cpr", "given_name", "family_name", "phone")
    typed: dict[str, Any] = {k: one(form, k) for k in keys}
    typed["cpr_confirmed"] = one(form, "cpr_confirmed")
    data = {k: v for k, v in typed.items() if v != "" and k != "cpr_confirmed"}
    errors = _validate(CitizenCreate, data, fmt, t)
    errors.pop("cpr", None)  # the CPR is judged below, in words a person can act on
    try:
        cpr = Cpr(typed["cpr"])
    except InvalidCpr as exc:
        errors["cpr"] = t("err_cpr_date" if exc.code == "date" else "err_cpr_format")
    else:
        if cpr.needs_manual_check and not typed["cpr_confirmed"]:
            errors["cpr"] = t("err_cpr_modulus")
            typed["cpr_needs_confirmation"] = "1"
    return Checked(document=data, typed=typed, errors=errors)


def _zone_error(text: str, t: Translate) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return t("err_timezone")
    return ""


def check_team(form: Form, fmt: Formatter, t: Translate) -> Checked:
    typed = {"name": one(form, "name").strip(), "timezone": one(form, "timezone").strip()}
    data = {k: v for k, v in typed.items() if v}
    errors = _validate(CareTeamCreate, data, fmt, t)
    if typed["timezone"] and (problem := _zone_error(typed["timezone"], t)):
        errors["timezone"] = problem
    return Checked(document=data, typed=typed, errors=errors)


def _staff_fields(
    form: Form, names: tuple[str, ...], model: type[BaseModel], fmt: Formatter, t: Translate
) -> Checked:
    """An account's fields as typed (the password never shown back), the document without
    empty fields, and the model's errors; a staff member without a team is refused."""
    typed: dict[str, Any] = {k: one(form, k) for k in names}
    typed["care_team_ids"] = form.get("care_team_ids", [])
    password = one(form, "password")
    data: dict[str, Any] = {k: v for k, v in typed.items() if v}
    data["care_team_ids"] = typed["care_team_ids"]
    if password:
        data["password"] = password
    errors = _validate(model, data, fmt, t)
    if not typed["care_team_ids"]:
        errors["care_team_ids"] = t("err_need_team")
    return Checked(document=data, typed=typed, errors=errors)


def check_new_staff(form: Form, fmt: Formatter, t: Translate) -> Checked:
    """A new account needs a password and at least one team (issue 15: no account without
    either)."""
    checked = _staff_fields(form, ("username", "display_name", "role"), StaffCreate, fmt, t)
    if len(one(form, "password")) < 10:
        checked.errors["password"] = t("err_need_password")
    return checked


def check_staff_update(form: Form, fmt: Formatter, t: Translate) -> Checked:
    return _staff_fields(form, ("display_name", "role"), StaffUpdate, fmt, t)


MISSED_POLICY_FIELDS = ("task_after_slots", "task_after_days", "recent_alert_hours")


def check_missed_policy(form: Form, t: Translate) -> Checked:
    """The care team's missed-measurement policy: whole numbers within bounds, at least one
    way to a task, and why it changes (the versions keep it)."""
    typed: dict[str, Any] = {k: one(form, k).strip() for k in (*MISSED_POLICY_FIELDS, "reason")}
    document: dict[str, Any] = {}
    for key in MISSED_POLICY_FIELDS:
        text = typed[key]
        document[key] = int(text) if text.isdigit() else text
    errors: dict[str, str] = dict(policy_errors(document))
    if not typed["reason"]:
        errors["reason"] = t("err_policy_reason")
    return Checked(document=document, typed=typed, errors=errors)
