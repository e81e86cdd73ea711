"""Shared helpers for alert rows: locking reads of the open alert, the routing policy, events
that are not state changes.

Used by :mod:`pust.db.alert_raising` (the system) and :mod:`pust.db.alert_repository`
(nurses' actions); not meant for callers outside ``pust.db``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from pust.db.lean import among
from pust.db.tables.alerts import Alert, AlertEvent
from pust.db.tables.care import CareTeamRouting
from pust.domain.alert_lifecycle import EventKind, open_key
from pust.domain.routing import (
    InvalidRoutingPolicyError,
    RoutingPolicy,
    default_routing_policy,
    parse_routing_policy,
)

log = logging.getLogger(__name__)


def routing_policy(session: Session, care_team_id: uuid.UUID) -> RoutingPolicy:
    """The care team's routing policy; the default when none (or an unreadable one) is
    stored — an alert must never fail to be written because routing is misconfigured. An
    unreadable one is logged at ERROR each time it is read (once per team and transaction):
    its escalation steps are not being followed."""
    cache: dict[uuid.UUID, RoutingPolicy] = session.info.setdefault("pust.routing_policies", {})
    cached = cache.get(care_team_id)
    if cached is not None:  # one read per team and transaction
        return cached
    row = session.get(CareTeamRouting, care_team_id)
    policy = _parsed(care_team_id, row.policy if row is not None else None)
    cache[care_team_id] = policy
    return policy


def routing_policies(
    session: Session, care_team_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, RoutingPolicy]:
    """:func:`routing_policy` of many teams: the ones not yet read in this transaction in
    one query."""
    cache: dict[uuid.UUID, RoutingPolicy] = session.info.setdefault("pust.routing_policies", {})
    wanted = set(care_team_ids)
    missing = sorted(wanted - cache.keys())
    if missing:
        stored: dict[uuid.UUID, Any] = dict(
            session.execute(
                select(CareTeamRouting.care_team_id, CareTeamRouting.policy).where(
                    among(session, col(CareTeamRouting.care_team_id), missing)
                )
            ).all()
        )
        for team in missing:
            cache[team] = _parsed(team, stored.get(team))
    return {team: cache[team] for team in wanted}


def _parsed(care_team_id: uuid.UUID, document: Any) -> RoutingPolicy:
    if document is None:
        return default_routing_policy()
    try:
        return parse_routing_policy(document)
    except InvalidRoutingPolicyError as exc:
        log.error(
            "alerts.routing_policy_unreadable care_team_id=%s problems=%d "
            "using=default_routing_policy",
            care_team_id,
            len(exc.problems),
        )
        return default_routing_policy()


def write_event(
    session: Session,
    alert: Alert,
    kind: EventKind,
    *,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AlertEvent(
            alert_id=alert.id, at=now, actor_id=actor_id, kind=kind.value, detail=detail or {}
        )
    )


_OPEN_CACHE = "pust.open_alerts"
_ABSENT = object()


def _open_cache(session: Session) -> dict[str, object]:
    cache: dict[str, object] = session.info.setdefault(_OPEN_CACHE, {})
    return cache


def find_open(session: Session, citizen_id: uuid.UUID, concern: str) -> Alert | None:
    """The not-resolved alert for the citizen and concern (a rule's key unless the rule
    shares its alert with others), locked for this transaction.

    Within one transaction the answer is remembered (the row stays locked, so it cannot
    change under us); an alert closed meanwhile in this transaction is noticed by its
    ``open_key``, and a remembered absence is forgotten when an insert collides."""
    key = open_key(citizen_id, concern)
    cached = _open_cache(session).get(key)
    if cached is _ABSENT:
        return None
    if isinstance(cached, Alert) and cached.open_key == key:
        return cached
    # pending changes first: ``populate_existing`` must not overwrite an unflushed repeat
    session.flush()
    statement = (
        select(Alert)
        .where(Alert.open_key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    alert = session.exec(statement).first()
    _open_cache(session)[key] = alert if alert is not None else _ABSENT
    return alert


def remember_open(session: Session, alert: Alert) -> None:
    if alert.open_key is not None:
        _open_cache(session)[alert.open_key] = alert


def forget_open(session: Session, citizen_id: uuid.UUID, concern: str) -> None:
    _open_cache(session).pop(open_key(citizen_id, concern), None)
