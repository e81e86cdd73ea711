"""One place where validation errors become Danish (or English) sentences next to the field
they are about: pydantic's error types, and the domain's own sentences (limits, plans,
CPR) matched by pattern. A sentence no pattern knows is still shown beside its rule, with a
Danish lead-in, so nothing is swallowed; a new domain message needs one line here.

Field errors are keyed by the form field's ``name`` (the template puts each under its
input, with ``aria-invalid`` and ``aria-describedby``); ``""`` is the form as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from services.api.web.formatting import Formatter

FieldErrors = dict[str, str]
Translate = Callable[[str], str]

_NUMBER = r"(-?\d+(?:\.\d+)?)"

# (pattern of the domain's English sentence, field it is about, catalogue key of the text);
# numbers captured are re-written the Danish way and passed as {0}, {1}, ...
DOMAIN_MESSAGES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), field, key)
    for pattern, field, key in (
        # limits (pust.domain.limits)
        (rf"yellow low {_NUMBER} is outside red low {_NUMBER}", "yellow_low", "err_yellow_low"),
        (
            rf"yellow high {_NUMBER} is outside red high {_NUMBER}",
            "yellow_high",
            "err_yellow_high",
        ),
        (rf"low limit {_NUMBER} is not below high limit {_NUMBER}", "yellow_high", "err_low_high"),
        (r"an absolute limit needs at least one value", "red_low", "err_no_limit"),
        (r"needs a yellow or a red threshold", "yellow", "err_no_threshold"),
        (
            rf"red \({_NUMBER} points\) must be at least yellow \({_NUMBER}\)",
            "red",
            "err_red_points",
        ),
        (
            rf"red \({_NUMBER} % of baseline\) must be at most yellow \({_NUMBER} %\)",
            "red",
            "err_red_percent_below",
        ),
        (
            rf"red \({_NUMBER} % of baseline\) must be at least yellow \({_NUMBER} %\)",
            "red",
            "err_red_percent_above",
        ),
        (
            rf"yellow below {_NUMBER} % of baseline alarms at baseline",
            "yellow",
            "err_yellow_at_baseline",
        ),
        (rf"red change {_NUMBER} is below yellow {_NUMBER}", "red", "err_red_change"),
        (
            rf"red {_NUMBER} points is below yellow {_NUMBER}",
            "red_points_above_baseline",
            "err_red_score",
        ),
        (r"unit .* does not match the type", "", "err_unit"),
        (r"rule (\S+) is given twice", "", "err_rule_twice"),
        (r"questionnaire item (\S+) is given twice", "", "err_rule_twice"),
        (r"an item is listed twice", "items", "err_item_twice"),
        (r"unknown item|unknown questionnaire|is not a \w+ question", "item", "err_unknown_item"),
        # plans (pust.domain.plans)
        (r"time '([^']*)' does not exist on a 24-hour clock", "times", "err_time_24h"),
        (r"time '([^']*)' is not HH:MM", "times", "err_time_format"),
        (r"a time is listed twice", "times", "err_time_twice"),
        (r"a weekday is listed twice", "weekdays", "err_weekday_twice"),
        (
            rf"reminder {_NUMBER} min after the due time is outside the grace period "
            rf"\({_NUMBER} min\)",
            "reminder_minutes",
            "err_reminder",
        ),
        (
            r"a plan needs at least one measurement or questionnaire",
            "measurements",
            "err_plan_empty",
        ),
        (r"unknown time zone", "timezone", "err_timezone"),
        # CPR (pust.domain.cpr)
        (r"not a date", "cpr", "err_cpr_date"),
        (r"a CPR number has ten digits", "cpr", "err_cpr_format"),
    )
)

# pydantic's error types -> catalogue key (the context's limit is passed as {0})
PYDANTIC_TYPES: dict[str, tuple[str, str]] = {
    "missing": ("err_required", ""),
    "float_parsing": ("err_not_a_number", ""),
    "float_type": ("err_not_a_number", ""),
    "int_parsing": ("err_not_an_integer", ""),
    "int_type": ("err_not_an_integer", ""),
    "int_from_float": ("err_not_an_integer", ""),
    "greater_than": ("err_greater_than", "gt"),
    "greater_than_equal": ("err_at_least", "ge"),
    "less_than": ("err_less_than", "lt"),
    "less_than_equal": ("err_at_most", "le"),
    "literal_error": ("err_choose", ""),
    "enum": ("err_choose", ""),
    "string_too_short": ("err_too_short", "min_length"),
    "string_too_long": ("err_too_long", "max_length"),
    "string_pattern_mismatch": ("err_pattern", ""),
    "too_short": ("err_choose_at_least", "min_length"),
    "too_long": ("err_choose_at_most", "max_length"),
    "uuid_parsing": ("err_choose", ""),
    "uuid_type": ("err_choose", ""),
    "date_from_datetime_parsing": ("err_date", ""),
    "date_parsing": ("err_date", ""),
    "datetime_parsing": ("err_date", ""),
    "datetime_from_date_parsing": ("err_date", ""),
    "bool_parsing": ("err_choose", ""),
}


def _danish_number(text: str, fmt: Formatter) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    if value == int(value):
        return fmt.number(value, 0)
    return fmt.number(value, 2).rstrip("0")


def domain_message(message: str, fmt: Formatter, t: Translate) -> tuple[str, str] | None:
    """(field, sentence) for a known domain sentence; None for an unknown one."""
    for pattern, field, key in DOMAIN_MESSAGES:
        match = pattern.search(message)
        if match is not None:
            values = [_danish_number(g, fmt) for g in match.groups()]
            return field, t(key).format(*values)
    return None


def message_for(error: Mapping[str, Any], fmt: Formatter, t: Translate) -> tuple[str, str]:
    """(field named by the message or "", sentence) for one pydantic error."""
    kind = str(error.get("type", ""))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "value_error" or kind not in PYDANTIC_TYPES:
        known = domain_message(message, fmt, t)
        if known is not None:
            return known
        return "", f"{t('err_unknown')} ({message})"
    key, context_key = PYDANTIC_TYPES[kind]
    context = error.get("ctx") or {}
    limit = context.get(context_key) if context_key else None
    shown = _danish_number(str(limit), fmt) if isinstance(limit, int | float) else ""
    return "", t(key).format(shown)


def field_errors(
    exc: ValidationError,
    fmt: Formatter,
    t: Translate,
    *,
    name_of: Callable[[Sequence[str | int], str], str] | None = None,
) -> FieldErrors:
    """Errors of a flat form model: the field is the last name in ``loc`` (or the one the
    domain's sentence names); ``name_of(loc, field)`` maps them to form names."""
    found: FieldErrors = {}
    for error in exc.errors():
        loc = list(error["loc"])
        named, text = message_for(error, fmt, t)
        if name_of is not None:
            key = name_of(loc, named)
        else:
            key = named or next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
        found.setdefault(key, text)
    return found


def rule_set_errors(
    exc: ValidationError, *, added: Mapping[str, int], fmt: Formatter, t: Translate
) -> FieldErrors:
    """A rule set's errors keyed by the limits editor's form names: ``r.<collection>.<i>.<f>``
    (or ``n.<collection>.<f>`` for the rule being added)."""

    def name_of(loc: Sequence[str | int], field: str) -> str:
        if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            collection, index = loc[0], loc[1]
            prefix = (
                f"n.{collection}" if added.get(collection) == index else f"r.{collection}.{index}"
            )
            direct = loc[2] if len(loc) > 2 and isinstance(loc[2], str) else ""
            chosen = direct or field
            return f"{prefix}.{chosen}" if chosen else prefix
        return ""

    return field_errors(exc, fmt, t, name_of=name_of)
