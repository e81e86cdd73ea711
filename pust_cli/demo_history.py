"""The demo's few weeks of history, so the worklist and the charts are not empty.

The history is what the simulated demo tablets would have sent (pust_cli.simulator), taken
through the real ingest write path (validation, identity, inbox) with each message's own
arrival time, and through the real triage. Alerts older than two days are then resolved by
the team's nurse, as a clinic that keeps up with its worklist would have done; the last two
days stay open for the demo's nurse to work on.

The missed-measurement sweep is then run as the alerts service would have run it over the
last days (hourly, on a clock at each hour), so the citizen who stopped measuring (05) was
reminded on her tablet at the time and became a blue task when the citizen-first policy
says ("Påmindet N gange på tabletten"), at the demo's start whatever its time of day. A
reminder counts as delivered when the tablet was connected then: heard from within one
status interval before it, or after it (05's tablet still reports); the silent tablet's
(06) wait in the outbox as they would.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pust.db.alert_repository import resolve_alert
from pust.db.engine import session_scope
from pust.db.tables import Alert, Device, OutboxMessage, StaffMembership, StaffUser
from pust.domain.alert_lifecycle import Outcome
from pust.domain.clock import FrozenClock
from pust.domain.device_protocol import validate_message
from pust.domain.severity import AlertStatus
from pust.messaging.mqtt_client import ReceivedMessage
from pust.messaging.topics import DeviceChannel, Topics
from pust_cli.simulator.demo import (
    HISTORY_STATUS_INTERVAL,
    NOT_MEASURING_FOR,
    history_for_demo,
)
from pust_cli.simulator.messages import SimMessage
from services.alerts.settings import AlertsSettings
from services.alerts.sweeps import sweep_missed_measurements
from services.alerts.triage_worker import TriageWorker
from services.ingest.arrivals import Arrival
from services.ingest.batch_store import write_batch

HISTORY_SEED = 2026
KEEP_OPEN_FOR = timedelta(days=2)
_BATCH = 500


@dataclass(frozen=True, slots=True)
class HistorySummary:
    messages: int
    readings: int
    responses: int
    triaged: int
    resolved_alerts: int


def import_demo_history(
    engine: Engine, *, topics: Topics, now: datetime, days: int
) -> HistorySummary:
    messages = history_for_demo(HISTORY_SEED, days, now)
    handled_until = now - KEEP_OPEN_FOR
    older = [m for m in messages if m.publish_at < handled_until]
    recent = [m for m in messages if m.publish_at >= handled_until]
    worker = TriageWorker(engine=engine, clock=FrozenClock(now), topics=topics)
    # what came before the last two days has been seen to by the nurses …
    readings, responses = _write(engine, topics, older)
    triaged = worker.drain()
    resolved = _resolve_handled(engine, now=handled_until)
    # … and the last two days are waiting in the worklist
    recent_readings, recent_responses = _write(engine, topics, recent)
    triaged += worker.drain()
    _sweep_missed_as_it_happened(engine, topics=topics, now=now)
    return HistorySummary(
        len(messages), readings + recent_readings, responses + recent_responses, triaged, resolved
    )


def _sweep_missed_as_it_happened(engine: Engine, *, topics: Topics, now: datetime) -> None:
    """The alerts service's missed-measurement sweep, hourly over the days in which 05
    stopped measuring (and one before), each run on a clock at its hour."""
    lookback = timedelta(hours=AlertsSettings.model_fields["missed_lookback_hours"].default)
    at = (now - NOT_MEASURING_FOR - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    clock = FrozenClock(at)
    while at <= now:
        clock.set(at)
        sweep_missed_measurements(engine=engine, clock=clock, lookback=lookback, topics=topics)
        at += timedelta(hours=1)
    _delivered_when_heard(engine, topics=topics, now=now)


def _delivered_when_heard(engine: Engine, *, topics: Topics, now: datetime) -> None:
    """A notice queued in the history reached its tablet if the tablet was connected then
    (its last word less than a status interval before the notice, or after it): sent then,
    not again at the demo's start."""
    with session_scope(engine) as session:
        heard = {d.id: d.last_seen_at for d in session.exec(select(Device)).all()}
        queued = session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.status) == "pending", col(OutboxMessage.created_at) < now
            )
        ).all()
        for message in queued:
            device = next(
                (
                    d
                    for d in heard
                    if message.destination == topics.device(d, DeviceChannel.NOTICES)
                ),
                None,
            )
            last = heard.get(device) if device is not None else None
            if last is not None and last > message.created_at - HISTORY_STATUS_INTERVAL:
                message.status, message.sent_at = "sent", message.created_at


def _write(engine: Engine, topics: Topics, messages: list[SimMessage]) -> tuple[int, int]:
    readings = responses = 0
    for start in range(0, len(messages), _BATCH):
        arrivals = []
        for message in messages[start : start + _BATCH]:
            payload = json.dumps(message.payload).encode()
            result = validate_message(
                device_id=message.device_id,
                channel=message.channel.value,
                payload=payload,
                received_at=message.publish_at,
            )
            received = ReceivedMessage(
                topic=topics.device(message.device_id, message.channel),
                payload=payload,
                qos=1,
                retain=False,
                mid=0,
            )
            arrivals.append(Arrival(received, message.publish_at, result))
        with engine.begin() as connection:
            written = write_batch(connection, arrivals)
        readings += written.readings_written
        responses += written.responses_written
    return readings, responses


def _resolve_handled(engine: Engine, *, now: datetime) -> int:
    with Session(engine) as session:
        old = session.exec(
            select(Alert).where(col(Alert.status) != AlertStatus.RESOLVED.value)
        ).all()
        nurses = _nurse_per_team(session)
    for alert in old:
        nurse = nurses.get(alert.care_team_id)
        if nurse is None:
            continue
        with session_scope(engine) as session:
            resolve_alert(
                session,
                alert_id=alert.id,
                actor_id=nurse,
                now=min(now, alert.last_seen_at + timedelta(hours=4)),
                outcome=Outcome.CONTACTED_CITIZEN,
                note="Borgeren er ringet op (demohistorik).",
            )
    return len(old)


def _nurse_per_team(session: Session) -> dict[uuid.UUID, uuid.UUID]:
    rows = session.exec(
        select(StaffMembership.care_team_id, StaffUser.id)
        .join(StaffUser, col(StaffUser.id) == col(StaffMembership.staff_id))
        .where(col(StaffUser.role) == "nurse")
    ).all()
    return {team_id: staff_id for team_id, staff_id in rows}
