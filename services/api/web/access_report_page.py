"""The access report as a page ("who has looked at my data"): for the citizen's team lead
and administrators, in Danish, grouped by person and day, with what people *did* (changes),
what they *opened* (the citizen's own data) and the pages that merely *listed* the citizen
(worklist, tablet list) kept apart, so 60 list views do not hide one change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from pust.db.tables import Citizen
from services.api.auth.current import language_of
from services.api.auth.principal import Role
from services.api.citizens import queries
from services.api.citizens.models import AccessEventPublic
from services.api.in_scope import citizen_read
from services.api.pagination import MAX_LIMIT, PageParams
from services.api.unit_of_work import UnitOfWorkDep
from services.api.web.formatting import Formatter
from services.api.web.i18n import translator
from services.api.web.render import PagePrincipal, get_page_principal, render

router = APIRouter(include_in_schema=False)

# pages that show the citizen in a list among others, not the citizen's own record
LISTING = frozenset(
    {"worklist.read", "worklist.page.read", "citizen.list", "device.list", "quarantine.list"}
)
PAGE_SIZE = MAX_LIMIT


def kind_of(event: AccessEventPublic) -> str:
    if event.outcome != "success":
        return "refused"
    if event.action in LISTING:
        return "listed"
    if event.action.endswith((".read", ".list")) or event.action.startswith("fhir."):
        return "opened"
    return "changed"


def action_label(action: str, t: Callable[[str], str]) -> str:
    key = "audit_" + action.replace(".", "_")
    label = t(key)
    return action if label == key else label


@dataclass
class PersonDay:
    who: str
    role: str
    day: str
    changed: list[tuple[str, str]] = field(default_factory=list)  # (time, what)
    opened: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    listed: int = 0
    listed_first: str = ""
    listed_last: str = ""


def group(
    events: Sequence[AccessEventPublic], fmt: Formatter, t: Callable[[str], str]
) -> list[PersonDay]:
    """Newest day first; within a day, people in the order they were last seen."""
    groups: dict[tuple[str, str], PersonDay] = {}
    for event in events:  # newest first
        day = fmt.date(event.at)
        key = (day, event.actor_username)
        entry = groups.setdefault(
            key, PersonDay(event.actor_username, t("role_" + event.actor_role), day)
        )
        at = fmt.time(event.at)
        kind = kind_of(event)
        if kind == "listed":
            entry.listed += 1
            entry.listed_first = at
            entry.listed_last = entry.listed_last or at
        else:
            getattr(entry, kind).append((at, action_label(event.action, t)))
    return list(groups.values())


AccessReportPageRead = Annotated[
    Citizen,
    Depends(
        citizen_read(
            "citizen.access_report.read",
            caller=get_page_principal,
            roles=frozenset({Role.TEAM_LEAD, Role.ADMINISTRATOR}),
            refusal="Only a team lead or an administrator may see the access report.",
        )
    ),
]


@router.get("/citizens/{citizen_id}/access-report", response_class=HTMLResponse)
async def access_report_page(
    *,
    request: Request,
    citizen: AccessReportPageRead,
    uow: UnitOfWorkDep,
    principal: PagePrincipal,
) -> HTMLResponse:
    language = language_of(request)
    fmt = Formatter(language, ZoneInfo(request.app.state.settings.clinic_timezone))
    t = translator(language)
    try:
        offset = max(int(request.query_params.get("offset") or 0), 0)
    except ValueError:
        offset = 0
    report = await run_in_threadpool(
        queries.access_report, uow.session, citizen.id, PageParams(limit=PAGE_SIZE, offset=offset)
    )
    return render(
        request,
        "access_report.html",
        principal=principal,
        citizen=citizen,
        groups=group(report.items, fmt, t),
        total=report.total,
        offset=offset,
        page_size=PAGE_SIZE,
    )
