"""The worklist's read model. One indexed query: per citizen the worst open alert (then the
oldest), ordered red → yellow → missed → silent → green, then oldest first. Window functions
pick the lead alert and count per citizen and in total, so a page is one round trip."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from functools import cache
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, Select, Table, bindparam, func, select
from sqlmodel import Session, SQLModel, col

from pust.db.tables import Alert, Citizen, StaffUser
from pust.domain.severity import AlertKind, AlertStatus
from services.api.auth.principal import Principal
from services.api.problems import NotFoundError
from services.api.unit_of_work import SqlUnitOfWork
from services.api.worklist.answer import Answer, AnswerCache, key_of, token_and_audit
from services.api.worklist.models import Band, WorklistRowPublic

BAND_ORDER = {"red": 0, "yellow": 1, "blue": 2, "silent": 3, "green": 4}
BAND_NAMES = {order: name for name, order in BAND_ORDER.items()}

# which open alerts a page is made of: a watch ("Holdes øje med", issue 13) is not a task
Kinds = Literal["all", "tasks", "watches"]
WATCH = AlertKind.WATCH.value


def worklist_page(
    session: Session,
    *,
    team_ids: Collection[uuid.UUID],
    bands: Collection[str] = (),
    limit: int,
    offset: int,
    now: datetime,
    kinds: Kinds = "all",
) -> tuple[list[WorklistRowPublic], int]:
    """A page of rows and the number of rows in the whole (caller-visible) worklist; an
    alert's age is counted to ``now``. ``kinds``: every open alert (the web queue splits
    them itself), the tasks only (watches left out), or the watches only."""
    if not team_ids:
        return [], 0
    parameters: dict[str, object] = {
        "team_ids": list(team_ids),
        "limit": limit,
        "offset": offset,
    }
    if bands:
        parameters["band_orders"] = [BAND_ORDER[b] for b in bands]
    result = session.execute(_page_statement(bool(bands), kinds), parameters).all()
    at = now.timestamp()
    rows = [
        WorklistRowPublic(
            citizen_id=r.citizen_id,
            care_team_id=r.care_team_id,
            citizen_name=f"{r.given_name} {r.family_name}",
            cpr=r.cpr.formatted,
            band=BAND_NAMES.get(r.band_order, "red"),
            alert_id=r.alert_id,
            alert_kind=r.kind,
            rule_key=r.rule_key,
            severity=r.severity,
            reasons=list(r.reasons or []),
            last_value=r.last_value,
            first_seen_at=r.first_seen_at,
            last_seen_at=r.last_seen_at,
            age_seconds=max(0, int(at - r.first_seen_at.timestamp())),
            late=r.late,
            lock_version=r.lock_version,
            claimed_by=r.username,
            open_alerts=r.open_alerts,
        )
        for r in result
    ]
    if rows:
        return rows, int(result[0].total)
    if offset == 0:
        return [], 0
    total = session.execute(_count_statement(bool(bands), kinds), parameters).scalar_one()
    return [], int(total)


def _conditions(with_bands: bool, kinds: Kinds = "all") -> list[ColumnElement[bool]]:
    alert = _table(Alert)
    conditions = [
        alert.c.care_team_id.in_(bindparam("team_ids", expanding=True)),
        alert.c.status == AlertStatus.OPEN.value,
    ]
    if with_bands:
        conditions.append(alert.c.band_order.in_(bindparam("band_orders", expanding=True)))
    if kinds == "tasks":
        conditions.append(alert.c.kind != WATCH)
    elif kinds == "watches":
        conditions.append(alert.c.kind == WATCH)
    return conditions


@cache
def _page_statement(with_bands: bool, kinds: Kinds = "all") -> Select[Any]:
    """Built once per shape, on the tables' columns (no ORM entities: the rows are plain
    tuples) with every value a bound parameter, so a request neither rebuilds the
    statement nor recomputes its cache key.

    Narrow first: the lead alert of each citizen and the page of them, on the index alone
    (ids, band, age); only the page's rows are then joined to their alert's wide columns
    (reasons), the citizen and the claiming nurse (see docs/performance.md)."""
    alert, citizen, staff = _table(Alert), _table(Citizen), _table(StaffUser)
    ranked = (
        select(
            alert.c.id.label("alert_id"),
            alert.c.citizen_id.label("citizen_id"),
            alert.c.band_order.label("band_order"),
            alert.c.first_seen_at.label("first_seen_at"),
            func.row_number()
            .over(
                partition_by=alert.c.citizen_id,
                order_by=(alert.c.band_order, alert.c.first_seen_at, alert.c.id),
            )
            .label("rank"),
            func.count().over(partition_by=alert.c.citizen_id).label("open_alerts"),
        )
        .where(*_conditions(with_bands, kinds))
        .subquery("ranked")
    )
    page = (
        select(
            ranked.c.alert_id,
            ranked.c.band_order,
            ranked.c.first_seen_at,
            ranked.c.citizen_id,
            ranked.c.open_alerts,
            func.count().over().label("total"),
        )
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.band_order, ranked.c.first_seen_at, ranked.c.citizen_id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    return (
        select(
            page.c.alert_id,
            page.c.citizen_id,
            page.c.band_order,
            page.c.first_seen_at,
            page.c.open_alerts,
            page.c.total,
            alert.c.care_team_id,
            alert.c.kind,
            alert.c.rule_key,
            alert.c.severity,
            alert.c.reasons,
            alert.c.last_value,
            alert.c.last_seen_at,
            alert.c.late,
            alert.c.lock_version,
            citizen.c.given_name,
            citizen.c.family_name,
            citizen.c.cpr,
            staff.c.username,
        )
        .select_from(page)
        .join(alert, alert.c.id == page.c.alert_id)
        .join(citizen, citizen.c.id == page.c.citizen_id)
        .outerjoin(staff, staff.c.id == alert.c.claimed_by)
        .order_by(page.c.band_order, page.c.first_seen_at, page.c.citizen_id)
    )


@cache
def _count_statement(with_bands: bool, kinds: Kinds = "all") -> Select[Any]:
    """Citizens in the worklist, for a page past its end."""
    alert = _table(Alert)
    return select(func.count(func.distinct(alert.c.citizen_id))).where(
        *_conditions(with_bands, kinds)
    )


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def team_fingerprints(session: Session, *, team_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Per team, a value that changes whenever one of its alerts is opened, repeated or
    acted on (the live worklist polls it for every watched team at once,
    :mod:`services.api.worklist.live`; the alerts service may be another process). A team
    with no open or acknowledged alert is left out."""
    if not team_ids:
        return {}
    rows = session.execute(
        select(
            col(Alert.care_team_id),
            func.count(),
            func.max(col(Alert.updated_at)),
            func.coalesce(func.sum(col(Alert.lock_version)), 0),
            func.coalesce(func.sum(col(Alert.count)), 0),
            func.max(col(Alert.last_seen_at)),
        )
        .where(
            col(Alert.care_team_id).in_(list(team_ids)),
            # a resolved alert leaves this set, which changes the count: still noticed
            col(Alert.status).in_([AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value]),
        )
        .group_by(col(Alert.care_team_id))
    ).all()
    return {row[0]: "|".join(str(part) for part in row[1:]) for row in rows}


def teams_in_view(principal: Principal, care_team_id: uuid.UUID | None) -> frozenset[uuid.UUID]:
    if care_team_id is None:
        return principal.team_ids
    if care_team_id not in principal.team_ids:
        raise NotFoundError("No such care team.")
    return frozenset({care_team_id})


def read_worklist(
    uow: SqlUnitOfWork,
    *,
    actor: Principal,
    now: datetime,
    care_team_id: uuid.UUID | None,
    bands: Collection[Band],
    limit: int,
    offset: int,
    action: str,
    answers: AnswerCache | None = None,
) -> Answer:
    """A page of the caller's tasks, the first page of her watches apart from them, and
    one audit event per citizen shown (once, whichever list she is in). Scoping is the
    caller's teams as read for this request; ``answers`` keeps the answer while the teams'
    open alerts are unchanged (:mod:`services.api.worklist.answer`, PostgreSQL)."""
    teams = teams_in_view(actor, care_team_id)
    session = uow.session
    token: str | None = None
    key = key_of(teams, bands, limit, offset)
    if answers is not None and teams and session.get_bind().dialect.name == "postgresql":
        kept = answers.get(key)
        token, audited = token_and_audit(
            session, team_ids=teams, kept=kept, actor=actor, now=now, action=action
        )
        if audited and kept is not None:
            return kept
    rows, total = worklist_page(
        session, team_ids=teams, bands=bands, limit=limit, offset=offset, now=now, kinds="tasks"
    )
    watches, watch_total = worklist_page(
        session, team_ids=teams, limit=limit, offset=0, now=now, kinds="watches"
    )
    answer = Answer.of(
        token=token,
        items=rows,
        total=total,
        watches=watches,
        watch_total=watch_total,
        limit=limit,
        offset=offset,
    )
    uow.audit.citizens_shown(actor=actor, now=now, action=action, citizens=answer.shown)
    if answers is not None and token is not None:
        answers.put(key, answer)
    return answer
