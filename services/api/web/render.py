"""Rendering pages: the Jinja2 environment (built by the app factory), the page context
(language, CSRF token, helpers for times and reasons), and the page principal."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from pust.domain.measurement_types import spec_for
from pust.domain.questionnaires import QUESTIONNAIRES
from services.api.auth.current import check_csrf, language_of, resolve_principal
from services.api.auth.principal import Principal
from services.api.auth.tokens import csrf_token
from services.api.deps import SessionDep
from services.api.web.formatting import Formatter
from services.api.web.i18n import translator

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
OUTCOME_PARAMS = ("done", "error", "detail")
BAND_NAMES = {0: "red", 1: "yellow", 2: "blue", 3: "silent", 4: "green"}


class LoginRequiredError(Exception):
    """A page was asked for without a session: answered with a redirect to the login."""


def build_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


async def get_page_principal(request: Request, session: SessionDep) -> Principal:
    principal = await run_in_threadpool(resolve_principal, request, session)
    if principal is None:
        raise LoginRequiredError
    request.state.principal = principal
    await check_csrf(request, principal)
    return principal


PagePrincipal = Annotated[Principal, Depends(get_page_principal)]


def csrf_for(request: Request, principal: Principal | None) -> str:
    if principal is None or principal.session_id is None:
        return ""
    secret = request.app.state.settings.secret_key.get_secret_value()
    return csrf_token(secret=secret, session_id=principal.session_id)


def type_name(language: str, type_: str) -> str:
    spec = spec_for(type_)
    if spec is None:
        return type_
    return spec.english_name if language == "en" else spec.danish_name


def reason_text(
    language: str,
    reasons: list[dict[str, Any]],
    rule_key: str,
    last_value: float | None,
    severity: str | None = None,
) -> str:
    """Why, in clinical words: the value and the limit (the rule's key stays in the API).
    Every reason of the alert's severity speaks (a questionnaire's several answers, the rules
    that agreed on one reading), once; when the latest breach was milder, its worst ones."""
    if not reasons:
        label = type_name(language, rule_key.split(".", maxsplit=1)[0])
        return label if last_value is None else f"{label} {plain_number(language, last_value)}"
    matching = [r for r in reasons if severity is None or r.get("severity") == severity]
    if not matching:
        order = ("red", "yellow", "green")
        ranks = [order.index(c) if c in order else len(order) for c in _colours(reasons)]
        matching = [r for r, rank in zip(reasons, ranks, strict=True) if rank == min(ranks)]
    texts: list[str] = []
    for reason in matching:
        text = one_reason_text(language, reason, rule_key, last_value)
        if text not in texts:
            texts.append(text)
    return "; ".join(texts)


def _colours(reasons: list[dict[str, Any]]) -> list[str]:
    return [str(reason.get("severity")) for reason in reasons]


def one_reason_text(
    language: str, reason: dict[str, Any], rule_key: str, last_value: float | None
) -> str:
    t = translator(language)
    rule = str(reason.get("rule", rule_key))
    value = reason.get("value", last_value)
    if language == "da" and reason.get("text_da"):
        return str(reason["text_da"])
    if reason.get("item"):
        answer = t("yes") if value is True else t("no") if value is False else str(value)
        item = str(reason["item"])
        return f"{question_text(language, 'kol-symptoms-v1', item)} {answer}"
    parts: list[str] = []
    kind = str(reason.get("type") or rule.split(".", maxsplit=1)[0])
    spec = spec_for(kind)
    label = type_name(language, kind)
    if isinstance(value, int | float) and not isinstance(value, bool):
        unit = reason.get("unit") or (spec.unit if spec is not None else "")
        parts.append(f"{label} {plain_number(language, value)} {unit}".strip())
    elif value is not None:
        parts.append(f"{label} {value}")
    else:
        parts.append(label)
    if reason.get("limit") is not None:
        parts.append(f"{t('limit')} {plain_number(language, reason['limit'])}")
    return " · ".join(parts)


def plain_number(language: str, value: Any) -> str:
    """A limit as written by a person: 88, not 88.0; 0,8 in Danish."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    if float(value) == int(value):
        return str(int(value))
    text = f"{value:g}"
    return text.replace(".", ",") if language == "da" else text


def age_text(language: str, seconds: int) -> str:
    t = translator(language)
    if seconds < 3600:
        return f"{seconds // 60} {t('minutes_short')}"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} {t('hours_short')}"
    return f"{seconds // 86400} {t('days_short')}"


def render(
    request: Request,
    template: str,
    *,
    principal: Principal | None,
    status: int = 200,
    nav: str = "",
    **context: Any,
) -> HTMLResponse:
    language = language_of(request)
    zone = ZoneInfo(request.app.state.settings.clinic_timezone)
    t = translator(language)
    query_error = request.query_params.get("error")
    query_detail = request.query_params.get("detail", "")[:500]

    fmt = Formatter(language, zone)

    def when(at: datetime | None) -> str:
        return fmt.datetime(at)

    environment: jinja2.Environment = request.app.state.templates
    error_override = context.pop("error", None)
    shown_error = ""
    if query_error:
        shown_error = t(query_error) + (f": {query_detail}" if query_detail else "")
    body = environment.get_template(template).render(
        t=t,
        fmt=fmt,
        lang=language,
        principal=principal,
        csrf=csrf_for(request, principal),
        nav=nav,
        when=when,
        age=lambda s: age_text(language, s),
        type_name=lambda ty: type_name(language, ty),
        flash=t(request.query_params["done"]) if request.query_params.get("done") else "",
        error=error_override or shown_error,
        **context,
    )
    response = HTMLResponse(body, status_code=status)
    if request.query_params.get("lang") in ("da", "en"):
        response.set_cookie(
            "pust_lang", language, max_age=365 * 86400, samesite="lax", httponly=True
        )
    return response


def question_text(language: str, questionnaire: str, item: str) -> str:
    definition = QUESTIONNAIRES.get(questionnaire)
    found = definition.item(item) if definition else None
    if found is None:
        return item
    return found.text_en if language == "en" else found.text_da


def back_to(url: str, **params: str) -> RedirectResponse:
    """After a form: back to the page (303), with an outcome or an error to show."""
    safe = url if url.startswith("/") and not url.startswith("//") else "/"
    base, _, kept = safe.partition("?")
    # the page's own parameters (open=limits) stay; an earlier outcome does not
    pairs = [p for p in kept.split("&") if p and p.split("=")[0] not in OUTCOME_PARAMS]
    pairs += [f"{k}={quote(v)}" for k, v in params.items() if v]
    query = "&".join(pairs)
    return RedirectResponse(f"{base}?{query}" if query else base, status_code=303)
