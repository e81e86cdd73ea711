"""The nurses' queue, one row per citizen: every not-yet-resolved alert of the citizen (worst
first), each with the time it reached its present severity (from the alert's events, not
its first yellow) and the reading that made it so; the tablet's state and a pause beside it.
The page of citizens is :func:`worklist_page`'s (same order, same paging); this adds the
detail for the citizens on the page in a few set-based queries."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from pust.db.tables import (
    Alert,
    AlertEvent,
    Citizen,
    PausePeriod,
    Reading,
    StaffUser,
)
from pust.domain.severity import AlertStatus
from services.api.auth.principal import Principal
from services.api.scoping import current_devices
from services.api.unit_of_work import SqlUnitOfWork
from services.api.worklist.queries import BAND_NAMES, BAND_ORDER, teams_in_view, worklist_page

# the events that carry the severity of a breach (detail["severity"])
_BREACH_EVENTS = ("opened", "repeated", "merged", "reopened")
_CLOSING_EVENTS = ("resolved", "auto_resolved")


@dataclass(frozen=True, slots=True)
class QueueAlert:
    """One open or acknowledged alert of a queue row."""

    id: uuid.UUID
    kind: str
    rule_key: str
    severity: str
    band: str
    status: str
    reasons: list[dict[str, Any]]
    last_value: float | None
    since: datetime  # when it reached its present severity
    lock_version: int
    # the reading that made it reach its present severity, when not the latest one
    reached_type: str | None
    reached_value: float | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    acknowledge_note: str | None


@dataclass(slots=True)
class QueueRow:
    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    name: str
    cpr: str
    band: str
    alerts: list[QueueAlert] = field(default_factory=list)
    paused: bool = False
    device_id: str | None = None
    device_last_seen_at: datetime | None = None
    device_online: bool | None = None

    @property
    def open_alerts(self) -> list[QueueAlert]:
        return [a for a in self.alerts if a.status == AlertStatus.OPEN.value]

    @property
    def waiting_since(self) -> datetime:
        return min(a.since for a in self.alerts)

    @property
    def kinds(self) -> set[str]:
        return {a.kind for a in self.alerts}

    @property
    def about_the_tablet(self) -> bool:
        """A missed measurement or a quiet tablet: the tablet's state is the context."""
        return bool(self.kinds & {"missed_measurement", "silent_device"})


def severity_reached(
    events: Sequence[AlertEvent], severity: str, fallback: datetime
) -> tuple[datetime, int | None]:
    """When (and by which reading) the alert last reached ``severity`` in its present
    episode: a resolution starts a new episode."""
    since: datetime | None = None
    reading: int | None = None
    for event in events:
        if event.kind in _CLOSING_EVENTS:
            since, reading = None, None
        elif (
            event.kind in _BREACH_EVENTS
            and since is None
            and (event.detail or {}).get("severity") == severity
        ):
            since = event.at
            found = (event.detail or {}).get("reading_id")
            reading = int(found) if isinstance(found, int) else None
    return (since or fallback), reading


def _alerts_of(
    session: Session, citizen_ids: Collection[uuid.UUID], statuses: Collection[str]
) -> list[Alert]:
    return list(
        session.exec(
            select(Alert)
            .where(col(Alert.citizen_id).in_(list(citizen_ids)), col(Alert.status).in_(statuses))
            .order_by(col(Alert.band_order), col(Alert.first_seen_at), col(Alert.id))
        ).all()
    )


def _queue_alerts(session: Session, alerts: Sequence[Alert]) -> dict[uuid.UUID, list[QueueAlert]]:
    ids = [a.id for a in alerts]
    events: dict[uuid.UUID, list[AlertEvent]] = {}
    if ids:
        for event in session.exec(
            select(AlertEvent).where(col(AlertEvent.alert_id).in_(ids)).order_by(col(AlertEvent.id))
        ).all():
            events.setdefault(event.alert_id, []).append(event)
    reached = {
        a.id: severity_reached(events.get(a.id, []), a.severity, a.first_seen_at) for a in alerts
    }
    reading_ids = {r for _, r in reached.values() if r is not None}
    readings = (
        {r.id: r for r in session.exec(select(Reading).where(col(Reading.id).in_(reading_ids)))}
        if reading_ids
        else {}
    )
    staff_ids = {a.acknowledged_by for a in alerts if a.acknowledged_by}
    names = (
        {
            s.id: s.display_name
            for s in session.exec(select(StaffUser).where(col(StaffUser.id).in_(staff_ids)))
        }
        if staff_ids
        else {}
    )
    found: dict[uuid.UUID, list[QueueAlert]] = {}
    for a in alerts:
        since, reading_id = reached[a.id]
        reading = readings.get(reading_id) if reading_id is not None else None
        other = reading is not None and reading_id != a.last_reading_id
        found.setdefault(a.citizen_id, []).append(
            QueueAlert(
                id=a.id,
                kind=a.kind,
                rule_key=a.rule_key,
                severity=a.severity,
                band=BAND_NAMES.get(a.band_order, "red"),
                status=a.status,
                reasons=list(a.reasons or []),
                last_value=a.last_value,
                since=since,
                lock_version=a.lock_version,
                reached_type=reading.type if other and reading is not None else None,
                reached_value=reading.value if other and reading is not None else None,
                acknowledged_by=names.get(a.acknowledged_by) if a.acknowledged_by else None,
                acknowledged_at=a.acknowledged_at,
                acknowledge_note=a.acknowledge_note,
            )
        )
    return found


def _context(session: Session, rows: list[QueueRow], now: datetime) -> None:
    """Pause and tablet state of the rows' citizens."""
    ids = [r.citizen_id for r in rows]
    if not ids:
        return
    paused = set(
        session.exec(
            select(PausePeriod.citizen_id).where(
                col(PausePeriod.citizen_id).in_(ids),
                col(PausePeriod.starts_at) <= now,
                or_(col(PausePeriod.ends_at).is_(None), col(PausePeriod.ends_at) > now),
            )
        ).all()
    )
    devices = current_devices(session, ids)
    for row in rows:
        row.paused = row.citizen_id in paused
        device = devices.get(row.citizen_id)
        if device is not None:
            row.device_id = device.id
            row.device_last_seen_at = device.last_seen_at
            row.device_online = device.online


def _shown(
    uow: SqlUnitOfWork,
    rows: list[QueueRow],
    *,
    actor: Principal,
    now: datetime,
    action: str | None,
) -> None:
    """The rows' context (pause, tablet), and each citizen shown audited (unless the
    caller audits what it shows itself: ``action`` None)."""
    _context(uow.session, rows, now)
    if action is None:
        return
    uow.audit.citizens_shown(
        actor=actor,
        now=now,
        action=action,
        citizens=[(row.citizen_id, row.care_team_id) for row in rows],
    )


def read_queue(
    uow: SqlUnitOfWork,
    *,
    actor: Principal,
    now: datetime,
    care_team_id: uuid.UUID | None,
    bands: Collection[str],
    limit: int,
    offset: int,
    action: str | None,
) -> tuple[list[QueueRow], int]:
    """A page of the queue (citizens with open alerts) and its total; one audit event per
    citizen shown (``action`` None: the caller audits the citizens it shows of it)."""
    teams = teams_in_view(actor, care_team_id)
    page, total = worklist_page(
        uow.session, team_ids=teams, bands=bands, limit=limit, offset=offset, now=now
    )
    rows = [
        QueueRow(
            citizen_id=r.citizen_id,
            care_team_id=r.care_team_id,
            name=r.citizen_name,
            cpr=r.cpr,
            band=r.band,
        )
        for r in page
    ]
    alerts = _queue_alerts(
        uow.session,
        _alerts_of(uow.session, [r.citizen_id for r in rows], (AlertStatus.OPEN.value,)),
    )
    for row in rows:
        row.alerts = alerts.get(row.citizen_id, [])
    _shown(uow, rows, actor=actor, now=now, action=action)
    return rows, total


def read_in_progress(
    uow: SqlUnitOfWork,
    *,
    actor: Principal,
    now: datetime,
    care_team_id: uuid.UUID | None,
    limit: int,
    action: str,
) -> list[QueueRow]:
    """ "I gang": citizens whose alerts are acknowledged but not resolved (and who have no
    open alert: those are in the queue), oldest acknowledgement first."""
    teams = teams_in_view(actor, care_team_id)
    if not teams:
        return []
    acknowledged = list(
        uow.session.exec(
            select(Alert)
            .where(
                col(Alert.care_team_id).in_(list(teams)),
                col(Alert.status) == AlertStatus.ACKNOWLEDGED.value,
            )
            .order_by(col(Alert.acknowledged_at), col(Alert.id))
        ).all()
    )
    with_open = set(
        uow.session.exec(
            select(Alert.citizen_id).where(
                col(Alert.care_team_id).in_(list(teams)),
                col(Alert.status) == AlertStatus.OPEN.value,
            )
        ).all()
    )
    order: list[uuid.UUID] = []
    for a in acknowledged:
        if a.citizen_id not in with_open and a.citizen_id not in order:
            order.append(a.citizen_id)
    order = order[:limit]
    citizens = {
        c.id: c for c in uow.session.exec(select(Citizen).where(col(Citizen.id).in_(order)))
    }
    alerts = _queue_alerts(uow.session, [a for a in acknowledged if a.citizen_id in citizens])
    rows = []
    for citizen_id in order:
        citizen = citizens[citizen_id]
        found = sorted(alerts.get(citizen_id, []), key=lambda a: (BAND_ORDER[a.band], a.since))
        rows.append(
            QueueRow(
                citizen_id=citizen.id,
                care_team_id=citizen.care_team_id,
                name=f"{citizen.given_name} {citizen.family_name}",
                cpr=citizen.cpr.formatted,
                band=found[0].band if found else "green",
                alerts=found,
            )
        )
    _shown(uow, rows, actor=actor, now=now, action=action)
    return rows
