"""The citizen overview ("Borgere"): every citizen of the caller's teams, found by name or
CPR, each with the traffic light of its worst unresolved alert, the latest valid reading per
type and its time, adherence to the plan over 7 days, pause and tablet state. A page is a
few set-based queries; every citizen shown is audited like any list."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy import select as sql_select
from sqlmodel import col, select

from pust.db.tables import (
    Alert,
    Citizen,
    PausePeriod,
    Plan,
    QuestionnaireResponse,
    Reading,
)
from pust.domain.adherence import Adherence, adherence
from pust.domain.cpr import Cpr, InvalidCpr
from pust.domain.missed_measurements import Pause
from pust.domain.plans import InvalidPlanError, parse_plan
from pust.domain.severity import AlertStatus
from services.api.auth.principal import Principal
from services.api.pagination import Page, PageParams, paged
from services.api.problems import NotFoundError
from services.api.scoping import current_devices
from services.api.unit_of_work import SqlUnitOfWork

ADHERENCE_DAYS = 7
SILENT_AFTER = timedelta(hours=48)
_BANDS = {0: "red", 1: "yellow", 2: "blue", 3: "silent", 4: "green"}
_CPR_TEXT = re.compile(r"^\d{6}-?\d{4}$")
_BIRTH_DATE = re.compile(r"^\d{6}$")


@dataclass(frozen=True, slots=True)
class LatestReading:
    type: str
    value: float
    at: datetime


@dataclass(slots=True)
class OverviewRow:
    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    name: str
    cpr: str
    status: str
    band: str | None = None  # None: no unresolved alert
    unresolved: int = 0
    latest: list[LatestReading] = field(default_factory=list)
    adherence: Adherence | None = None
    paused: bool = False
    device_id: str | None = None
    device_last_seen_at: datetime | None = None
    silent: bool = False


def search_condition(q: str) -> ColumnElement[bool] | None:
    """Name contains (case-insensitive); a whole CPR number; or a birth date (DDMMYY)."""
    text = q.strip()
    if not text:
        return None
    if _CPR_TEXT.match(text):
        try:
            return col(Citizen.cpr) == Cpr(text)
        except InvalidCpr:
            return col(Citizen.id).is_(None)  # a number no one can have
    if _BIRTH_DATE.match(text):
        return func.substr(col(Citizen.cpr), 1, 6) == text
    like = f"%{text.lower()}%"
    full_name = func.lower(col(Citizen.given_name) + " " + col(Citizen.family_name))
    return or_(
        func.lower(col(Citizen.given_name)).like(like),
        func.lower(col(Citizen.family_name)).like(like),
        full_name.like(like),
    )


def _latest(uow: SqlUnitOfWork, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[LatestReading]]:
    ranked = (
        sql_select(
            col(Reading.citizen_id).label("citizen_id"),
            col(Reading.type).label("type"),
            col(Reading.value).label("value"),
            col(Reading.measured_at).label("at"),
            func.row_number()
            .over(
                partition_by=(col(Reading.citizen_id), col(Reading.type)),
                order_by=col(Reading.measured_at).desc(),
            )
            .label("rank"),
        )
        .where(col(Reading.citizen_id).in_(ids), col(Reading.valid).is_(True))
        .subquery()
    )
    found: dict[uuid.UUID, list[LatestReading]] = {}
    for row in uow.session.execute(
        sql_select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.type)
    ).mappings():
        found.setdefault(row["citizen_id"], []).append(
            LatestReading(type=row["type"], value=row["value"], at=row["at"])
        )
    return found


def _adherence(
    uow: SqlUnitOfWork, rows: list[OverviewRow], now: datetime, pauses: dict[uuid.UUID, Any]
) -> None:
    ids = [r.citizen_id for r in rows]
    plans: dict[uuid.UUID, dict[str, Any]] = {}
    for version in uow.session.exec(
        select(Plan).where(col(Plan.citizen_id).in_(ids)).order_by(col(Plan.version))
    ):
        plans[version.citizen_id] = dict(version.schedule)
    since = now - timedelta(days=ADHERENCE_DAYS + 1)
    submissions: dict[uuid.UUID, list[datetime]] = {}
    for citizen_id, at in uow.session.exec(
        select(Reading.citizen_id, Reading.measured_at).where(
            col(Reading.citizen_id).in_(ids),
            col(Reading.valid).is_(True),
            col(Reading.measured_at) >= since,
        )
    ):
        submissions.setdefault(citizen_id, []).append(at)
    for citizen_id, at in uow.session.exec(
        select(QuestionnaireResponse.citizen_id, QuestionnaireResponse.answered_at).where(
            col(QuestionnaireResponse.citizen_id).in_(ids),
            col(QuestionnaireResponse.answered_at) >= since,
        )
    ):
        submissions.setdefault(citizen_id, []).append(at)
    for row in rows:
        document = plans.get(row.citizen_id)
        if not document:
            continue
        try:
            plan = parse_plan(document)
        except InvalidPlanError:
            continue
        row.adherence = adherence(
            plan,
            now=now,
            days=ADHERENCE_DAYS,
            submissions=submissions.get(row.citizen_id, []),
            pauses=pauses.get(row.citizen_id, []),
        )


def read_overview(
    uow: SqlUnitOfWork,
    *,
    actor: Principal,
    now: datetime,
    care_team_id: uuid.UUID | None,
    q: str,
    page: PageParams,
    action: str,
) -> Page[OverviewRow]:
    if care_team_id is not None and care_team_id not in actor.team_ids:
        raise NotFoundError("No such care team.")
    teams = [care_team_id] if care_team_id else list(actor.team_ids)
    conditions: list[ColumnElement[bool]] = [col(Citizen.care_team_id).in_(teams)]
    found = search_condition(q)
    if found is not None:
        conditions.append(found)
    statement = (
        select(Citizen)
        .where(*conditions)
        .order_by(col(Citizen.family_name), col(Citizen.given_name), col(Citizen.id))
    )
    shown: Page[OverviewRow] = paged(
        uow.session,
        statement,
        page,
        lambda c: OverviewRow(
            citizen_id=c.id,
            care_team_id=c.care_team_id,
            name=f"{c.given_name} {c.family_name}",
            cpr=c.cpr.formatted,
            status=c.status,
        ),
    )
    rows = shown.items
    ids = [r.citizen_id for r in rows]
    if ids:
        worst = {
            citizen_id: (band, count)
            for citizen_id, band, count in uow.session.exec(
                select(Alert.citizen_id, func.min(Alert.band_order), func.count())
                .where(
                    col(Alert.citizen_id).in_(ids),
                    col(Alert.status).in_([AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value]),
                )
                .group_by(col(Alert.citizen_id))
            )
        }
        pauses: dict[uuid.UUID, list[Pause]] = {}
        for pause in uow.session.exec(
            select(PausePeriod).where(col(PausePeriod.citizen_id).in_(ids))
        ):
            pauses.setdefault(pause.citizen_id, []).append(Pause(pause.starts_at, pause.ends_at))
        devices = current_devices(uow.session, ids)
        latest = _latest(uow, ids)
        for row in rows:
            band, count = worst.get(row.citizen_id, (None, 0))
            row.band = _BANDS.get(band) if band is not None else None
            row.unresolved = int(count)
            row.latest = latest.get(row.citizen_id, [])
            row.paused = any(p.covers(now) for p in pauses.get(row.citizen_id, []))
            device = devices.get(row.citizen_id)
            if device is not None:
                row.device_id = device.id
                row.device_last_seen_at = device.last_seen_at
                seen = device.last_seen_at
                row.silent = seen is None or now - seen > SILENT_AFTER
        _adherence(uow, rows, now, pauses)
    uow.audit.citizens_shown(
        actor=actor,
        now=now,
        action=action,
        citizens=[(r.citizen_id, r.care_team_id) for r in rows],
    )
    return shown
