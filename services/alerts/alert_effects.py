"""From a triage verdict to alerts: raise or repeat breaches, auto-resolve, technical alerts
for rules that failed, and out-of-hours routing of a newly opened alert.

Runs inside the caller's transaction, together with the triage result and ``triaged_at``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from pust.db.alert_batch import AutoResolve, BatchChange, Step, insert_events, raise_batch
from pust.db.alert_repository import Breach, routing_policy
from pust.db.alert_state_rows import new_row
from pust.db.lean import among
from pust.db.outbox import MQTT, Outgoing, enqueue_many
from pust.db.tables.readings import QuestionnaireResponse, Reading
from pust.domain.alert_aggregate import AlertState, LifecycleEvent
from pust.domain.alert_lifecycle import EventKind
from pust.domain.notices import out_of_hours_notice, submission_event_key
from pust.domain.routing import is_open, ladder_key
from pust.domain.severity import AlertKind, Severity
from pust.domain.triage import Triage
from pust.messaging.topics import DeviceChannel, Topics
from services.alerts.notifications import alert_notification


@dataclass(frozen=True, slots=True)
class Source:
    """The reading or response that was triaged."""

    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    device_id: str
    observed_at: datetime
    late: bool
    limit_set_id: uuid.UUID | None
    reading_id: int | None = None
    response_id: int | None = None


def _breach(
    source: Source,
    *,
    kind: AlertKind,
    rule_key: str,
    severity: Severity,
    reasons: list[dict[str, Any]],
    concern: str = "",
    value: float | None = None,
) -> Breach:
    """A breach of the source's citizen, from its reading or response."""
    return Breach(
        citizen_id=source.citizen_id,
        care_team_id=source.care_team_id,
        kind=kind,
        rule_key=rule_key,
        concern=concern,
        severity=severity,
        observed_at=source.observed_at,
        reasons=reasons,
        value=value,
        reading_id=source.reading_id,
        response_id=source.response_id,
        limit_set_id=source.limit_set_id,
        device_id=source.device_id,
    )


def technical_breach(source: Source, rule: str, reasons: list[dict[str, Any]]) -> Breach:
    return _breach(
        source,
        kind=AlertKind.TECHNICAL,
        rule_key=f"technical.{rule}",
        severity=Severity.RED,  # unknown is treated as possibly serious
        reasons=reasons,
    )


def triage_steps(triage: Triage, source: Source) -> list[Step]:
    """What a verdict asks of the alerts, in order: the concerns that breached (one breach
    each, every agreeing rule's reasons in it), the normal ones that resolve their alert,
    and a technical breach per rule that failed. A late one (older than 48 h on arrival) is
    shown as late in the citizen's data but never raises or resolves an alert."""
    if source.late:
        return []
    steps: list[Step] = []
    for concern in triage.concerns:  # the rules that agree on this reading: one alert
        if concern.severity is Severity.GREEN:
            if concern.auto_resolve:
                steps.append(
                    AutoResolve(
                        citizen_id=source.citizen_id,
                        concern=concern.key,
                        observed_at=source.observed_at,
                        detail=_ids(source),
                    )
                )
            continue
        steps.append(
            _breach(
                source,
                kind=concern.alert_kind,
                rule_key=concern.rules[0],
                concern=concern.key,
                severity=concern.severity,
                reasons=list(concern.reasons),
                value=concern.value,
            )
        )
    for failure in triage.failures:
        steps.append(technical_breach(source, failure.rule, [failure.reason()]))
    return steps


def apply_triages(
    session: Session, verdicts: Sequence[tuple[Triage, Source]], *, now: datetime, topics: Topics
) -> list[BatchChange]:
    """Alerts for a batch of triaged readings and responses, in their order: one set of
    reads and writes for all of them (:func:`pust.db.alert_batch.raise_batch`), then the
    out-of-hours routing of the alerts the batch opened."""
    steps = [step for triage, source in verdicts for step in triage_steps(triage, source)]
    changes = raise_batch(session, steps, now=now)
    opened = [change.state for change in changes if change.event is EventKind.OPENED]
    if opened:
        route_out_of_hours(session, alerts=opened, now=now, topics=topics)
    return changes


def _ids(source: Source) -> dict[str, Any]:
    if source.reading_id is not None:
        return {"reading_id": source.reading_id}
    return {"response_id": source.response_id}


def route_out_of_hours(
    session: Session, *, alerts: Sequence[AlertState], now: datetime, topics: Topics
) -> None:
    """New alerts while the clinic is closed: straight to on-call, or queued to the next
    opening with a notice to the citizen's tablet saying whom to call meanwhile (one notice
    per submission, however many of its rules opened an alert). A watch is not a task: it
    is never routed. The outbox rows of the whole batch are one statement, their events
    another."""
    messages: dict[str, Outgoing] = {}
    events: list[tuple[uuid.UUID, LifecycleEvent]] = []
    queued: list[tuple[AlertState, str]] = []  # (alert, its notice text)
    for alert in alerts:
        if alert.kind == AlertKind.WATCH:
            continue
        policy = routing_policy(session, alert.care_team_id)
        if not policy.opening_hours or is_open(policy, now):
            continue
        if policy.out_of_hours == "on_call":
            if ladder_key(alert.kind, alert.severity) not in policy.on_call_for:
                continue
            payload = alert_notification(new_row(alert), event="alert.out_of_hours", now=now)
            for index, recipient in enumerate(policy.on_call):
                key = f"ooh:{alert.id}:{index}"
                messages[key] = Outgoing(recipient.channel, recipient.address, payload, key)
            detail = {"mode": "on_call", "recipients": len(policy.on_call)}
            events.append(
                (alert.id, LifecycleEvent(EventKind.ROUTED_OUT_OF_HOURS, now, None, detail))
            )
            continue
        if alert.device_id is not None and alert.kind in (AlertKind.READING, AlertKind.TECHNICAL):
            queued.append((alert, policy.out_of_hours_notice_da))
        events.append(
            (alert.id, LifecycleEvent(EventKind.ROUTED_OUT_OF_HOURS, now, None, {"mode": "queue"}))
        )
    event_keys = out_of_hours_events(session, [alert for alert, _text in queued])
    for alert, notice_text in queued:
        if alert.device_id is None:
            continue
        notice = out_of_hours_notice(text=notice_text, event_key=event_keys[alert.id])
        messages.setdefault(
            notice.dedup_key,
            Outgoing(
                MQTT,
                topics.device(alert.device_id, DeviceChannel.NOTICES),
                notice.payload(sent_at=now),
                notice.dedup_key,
            ),
        )
    enqueue_many(session, list(messages.values()), now=now)
    insert_events(session, events)


def out_of_hours_events(session: Session, alerts: Sequence[AlertState]) -> dict[uuid.UUID, str]:
    """The submission (device message) that opened each alert, so that the rules it broke
    share one out-of-hours notice; the alert itself when it came from no submission. One
    query per table for all of them."""
    reading_ids = {a.last_reading_id for a in alerts if a.last_reading_id is not None}
    response_ids = {a.last_response_id for a in alerts if a.last_response_id is not None}
    readings: dict[int, tuple[str, str]] = {}
    responses: dict[int, tuple[str, str]] = {}
    for table, ids, found in (
        (Reading, reading_ids, readings),
        (QuestionnaireResponse, response_ids, responses),
    ):
        if ids:
            for row_id, device_id, message_id in session.execute(
                select(col(table.id), col(table.device_id), col(table.message_id)).where(
                    among(session, col(table.id), sorted(ids))
                )
            ).all():
                found[row_id] = (device_id, message_id)
    keys: dict[uuid.UUID, str] = {}
    for alert in alerts:
        source = None
        if alert.last_reading_id is not None:
            source = readings.get(alert.last_reading_id)
        elif alert.last_response_id is not None:
            source = responses.get(alert.last_response_id)
        if source is None:
            keys[alert.id] = f"ooh:alert:{alert.id}"
        else:
            keys[alert.id] = submission_event_key("ooh", device_id=source[0], message_id=source[1])
    return keys
