"""The shared machinery of every FHIR endpoint: who asks, paging, audit, the answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from fastapi import Request
from sqlalchemy import false, func
from sqlmodel import Session, col, select

from pust.db.tables import Citizen, RegionalLink
from pust.domain.clock import Clock
from pust.fhir.bundle import operation_outcome, searchset
from pust.fhir.capability import supported
from pust.fhir.regional import RegionalContext
from services.api.audit.recorder import record, record_citizen_reads
from services.api.auth.principal import Principal
from services.api.fhir.params import parse_count, parse_offset
from services.api.fhir.queries import require_known, unknown_params
from services.api.fhir.responses import FhirResponse
from services.api.problems import NotFoundError

PREFIX = "/fhir/r4"


@dataclass(frozen=True, slots=True)
class Ask:
    """One FHIR request: the caller, the session, the time, the raw query."""

    request: Request
    session: Session
    principal: Principal
    clock: Clock

    @property
    def base(self) -> str:
        return str(self.request.base_url).rstrip("/") + PREFIX

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.request.query_params.multi_items() if k == name]

    def value(self, name: str) -> str | None:
        found = self.values(name)
        return found[-1] if found else None

    @property
    def strict(self) -> bool:
        """``Prefer: handling=strict``: an unknown parameter is an error (FHIR's default is
        lenient: ignored, and said so in the Bundle)."""
        prefer = self.request.headers.get("prefer", "")
        return any(p.strip().lower() == "handling=strict" for p in prefer.split(","))

    def check_params(self, resource_type: str) -> None:
        if self.strict:
            require_known(self.request.query_params.keys(), supported(resource_type))

    def ignored(self, resource_type: str) -> list[str]:
        return unknown_params(self.request.query_params.keys(), supported(resource_type))

    @property
    def teams(self) -> frozenset[uuid.UUID]:
        return self.principal.team_ids


def page(ask: Ask, statement: Any, order_column: Any) -> tuple[list[Any], int, int, int]:
    """Rows of the page, the total, the count and the offset."""
    count = parse_count(ask.value("_count"))
    offset = parse_offset(ask.value("_offset"))
    total = int(ask.session.exec(select(func.count()).select_from(statement.subquery())).one())
    rows: list[Any] = []
    if count and offset < total:
        rows = list(
            ask.session.exec(statement.order_by(order_column).offset(offset).limit(count)).all()
        )
    return rows, total, count, offset


def id_filter(ask: Ask, column: Any, parse: Callable[[str], Any | None]) -> list[Any]:
    """``_id`` (comma = OR, repeated = AND) as WHERE clauses; an id that cannot exist
    matches nothing."""
    clauses: list[Any] = []
    for raw in ask.values("_id"):
        wanted = [v for v in (parse(part) for part in raw.split(",")) if v is not None]
        clauses.append(column.in_(wanted) if wanted else false())
    return clauses


def citizens(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Citizen]:
    if not ids:
        return {}
    found = session.exec(select(Citizen).where(col(Citizen.id).in_(list(set(ids))))).all()
    return {c.id: c for c in found}


def regional_contexts(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    links = session.exec(
        select(RegionalLink).where(col(RegionalLink.citizen_id).in_(list(set(ids))))
    ).all()
    return {link.citizen_id: RegionalContext.from_link(link) for link in links}


def answer_rows(
    ask: Ask,
    statement: Any,
    order_column: Any,
    *,
    resource_type: str,
    resources: Callable[[list[Any]], list[dict[str, Any]]],
    citizen_of: Callable[[Any], uuid.UUID] = attrgetter("citizen_id"),
) -> FhirResponse:
    """A search over table rows: one page of them as resources, audited and answered."""
    rows, total, count, offset = page(ask, statement, order_column)
    return answer_search(
        ask,
        resource_type=resource_type,
        resources=resources(rows),
        citizen_ids=[citizen_of(row) for row in rows],
        total=total,
        count=count,
        offset=offset,
    )


def answer_search(
    ask: Ask,
    *,
    resource_type: str,
    resources: list[dict[str, Any]],
    citizen_ids: Sequence[uuid.UUID],
    total: int,
    count: int,
    offset: int,
) -> FhirResponse:
    """Audit every citizen shown and answer the bundle (the unit of work commits the audit
    with the read)."""
    now = ask.clock.now()
    shown = citizens(ask.session, list(citizen_ids))
    record(
        session=ask.session,
        principal=ask.principal,
        now=now,
        action="fhir.search",
        resource_type=resource_type,
        care_team_id=ask.principal.team_for_audit(),
    )
    record_citizen_reads(
        session=ask.session,
        principal=ask.principal,
        now=now,
        action=f"fhir.search.{resource_type}",
        citizens=[(c.id, c.care_team_id) for c in shown.values()],
    )
    ignored = ask.ignored(resource_type)
    params = [
        (k, v)
        for k, v in ask.request.query_params.multi_items()
        if k not in ("_count", "_offset") and k not in ignored
    ]
    bundle = searchset(
        base=ask.base,
        resource_type=resource_type,
        resources=resources,
        total=total,
        params=params,
        offset=offset,
        count=count,
        now=now,
    )
    if ignored:
        bundle.setdefault("entry", []).append(
            {
                "resource": operation_outcome(
                    200,
                    "ignored unsupported search parameters: " + ", ".join(ignored)[:300],
                    code="not-supported",
                ),
                "search": {"mode": "outcome"},
            }
        )
    return FhirResponse(bundle)


def answer_read(ask: Ask, resource: dict[str, Any], *, citizen: Citizen | None) -> FhirResponse:
    record(
        session=ask.session,
        principal=ask.principal,
        now=ask.clock.now(),
        action="fhir.read",
        resource_type=resource["resourceType"],
        resource_id=str(resource["id"])[:200],
        citizen_id=citizen.id if citizen else None,
        care_team_id=citizen.care_team_id if citizen else ask.principal.team_for_audit(),
    )
    return FhirResponse(resource)


def not_found(resource_type: str) -> NotFoundError:
    # the same answer for "does not exist" and "not your team's"
    return NotFoundError(f"{resource_type} not found")


def visible_citizen(ask: Ask, citizen_id: uuid.UUID) -> Citizen | None:
    citizen = ask.session.get(Citizen, citizen_id)
    if citizen is None or citizen.care_team_id not in ask.teams:
        return None
    return citizen


_MAX_ID = 2**63 - 1


def row_id(value: str) -> int | None:
    """A database row id from a path, or None (not ASCII digits, or beyond a bigint)."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= _MAX_ID else None
