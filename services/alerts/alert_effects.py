"""From a triage verdict to alerts: raise or repeat breaches, auto-resolve, technical alerts
for rules that failed, and out-of-hours routing of a newly opened alert.

Runs inside the caller's transaction, together with the triage result and ``triaged_at``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from pust.db.alert_repository import (
    AlertChange,
    Breach,
    auto_resolve,
    raise_or_repeat,
    record_event,
    routing_policy,
)
from pust.db.outbox import enqueue, enqueue_notice
from pust.db.tables.alerts import Alert
from pust.db.tables.readings import QuestionnaireResponse, Reading
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


def technical_breach(source: Source, rule: str, reasons: list[dict[str, Any]]) -> Breach:
    return Breach(
        citizen_id=source.citizen_id,
        care_team_id=source.care_team_id,
        kind=AlertKind.TECHNICAL,
        rule_key=f"technical.{rule}",
        severity=Severity.RED,  # unknown is treated as possibly serious
        observed_at=source.observed_at,
        reasons=reasons,
        reading_id=source.reading_id,
        response_id=source.response_id,
        limit_set_id=source.limit_set_id,
        device_id=source.device_id,
    )


def alert_rules(triage: Triage) -> list[str]:
    """The concerns whose alert a (not late) verdict may touch."""
    keys = [c.key for c in triage.concerns if c.severity is not Severity.GREEN or c.auto_resolve]
    return keys + [f"technical.{failure.rule}" for failure in triage.failures]


def apply_triage(
    session: Session, *, triage: Triage, source: Source, now: datetime, topics: Topics
) -> list[AlertChange]:
    """Alerts for one triaged reading or response. A late one (older than 48 h on arrival)
    is shown as late in the citizen's data but never raises or resolves an alert."""
    changes: list[AlertChange] = []
    if source.late:
        return changes
    for concern in triage.concerns:  # the rules that agree on this reading: one alert
        if concern.severity is Severity.GREEN:
            if concern.auto_resolve:
                auto_resolve(
                    session,
                    citizen_id=source.citizen_id,
                    rule_key=concern.key,
                    now=now,
                    observed_at=source.observed_at,
                    detail=_ids(source),
                )
            continue
        breach = Breach(
            citizen_id=source.citizen_id,
            care_team_id=source.care_team_id,
            kind=concern.alert_kind,
            rule_key=concern.rules[0],
            concern=concern.key,
            severity=concern.severity,
            observed_at=source.observed_at,
            reasons=list(concern.reasons),
            value=concern.value,
            reading_id=source.reading_id,
            response_id=source.response_id,
            limit_set_id=source.limit_set_id,
            device_id=source.device_id,
        )
        changes.append(raise_or_repeat(session, breach=breach, now=now))
    for failure in triage.failures:
        breach = technical_breach(source, failure.rule, [failure.reason()])
        changes.append(raise_or_repeat(session, breach=breach, now=now))
    for change in changes:
        if change.event is EventKind.OPENED:
            route_out_of_hours(session, alert=change.alert, now=now, topics=topics)
    return changes


def _ids(source: Source) -> dict[str, Any]:
    if source.reading_id is not None:
        return {"reading_id": source.reading_id}
    return {"response_id": source.response_id}


def route_out_of_hours(session: Session, *, alert: Alert, now: datetime, topics: Topics) -> None:
    """A new alert while the clinic is closed: straight to on-call, or queued to the next
    opening with a notice to the citizen's tablet saying whom to call meanwhile. A watch is
    not a task: it is never routed."""
    if alert.kind == AlertKind.WATCH:
        return
    policy = routing_policy(session, alert.care_team_id)
    if not policy.opening_hours or is_open(policy, now):
        return
    ladder = ladder_key(AlertKind(alert.kind), Severity(alert.severity))
    if policy.out_of_hours == "on_call":
        if ladder not in policy.on_call_for:
            return
        payload = alert_notification(alert, event="alert.out_of_hours", now=now)
        for index, recipient in enumerate(policy.on_call):
            enqueue(
                session,
                channel=recipient.channel,
                destination=recipient.address,
                payload=payload,
                now=now,
                dedup_key=f"ooh:{alert.id}:{index}",
            )
        record_event(
            session,
            alert,
            EventKind.ROUTED_OUT_OF_HOURS,
            now=now,
            detail={"mode": "on_call", "recipients": len(policy.on_call)},
        )
        return
    if alert.device_id is not None and alert.kind in (AlertKind.READING, AlertKind.TECHNICAL):
        # one notice per submission, however many of its rules opened an alert
        enqueue_notice(
            session,
            destination=topics.device(alert.device_id, DeviceChannel.NOTICES),
            notice=out_of_hours_notice(
                text=policy.out_of_hours_notice_da, event_key=out_of_hours_event(session, alert)
            ),
            now=now,
        )
    record_event(session, alert, EventKind.ROUTED_OUT_OF_HOURS, now=now, detail={"mode": "queue"})


def out_of_hours_event(session: Session, alert: Alert) -> str:
    """The submission (device message) that opened the alert, so that the rules it broke
    share one out-of-hours notice; the alert itself when it came from no submission."""
    source: Reading | QuestionnaireResponse | None = None
    if alert.last_reading_id is not None:
        source = session.get(Reading, alert.last_reading_id)
    elif alert.last_response_id is not None:
        source = session.get(QuestionnaireResponse, alert.last_response_id)
    if source is None:
        return f"ooh:alert:{alert.id}"
    return submission_event_key("ooh", device_id=source.device_id, message_id=source.message_id)
