"""The demo's few weeks of history, so the worklist and the charts are not empty.

The history is what the simulated demo tablets would have sent (pust_cli.simulator), taken
through the real ingest write path (validation, identity, inbox) with each message's own
arrival time, and through the real triage. Alerts older than two days are then resolved by
the team's nurse, as a clinic that keeps up with its worklist would have done; the last two
days stay open for the demo's nurse to work on.
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
from pust.db.tables import Alert, StaffMembership, StaffUser
from pust.domain.alert_lifecycle import Outcome
from pust.domain.clock import SystemClock
from pust.domain.device_protocol import validate_message
from pust.domain.severity import AlertStatus
from pust.messaging.mqtt_client import ReceivedMessage
from pust.messaging.topics import Topics
from pust_cli.simulator.demo import history_for_demo
from pust_cli.simulator.messages import SimMessage
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
    worker = TriageWorker(engine=engine, clock=SystemClock(), topics=topics)
    # what came before the last two days has been seen to by the nurses …
    readings, responses = _write(engine, topics, older)
    triaged = worker.drain()
    resolved = _resolve_handled(engine, now=handled_until)
    # … and the last two days are waiting in the worklist
    recent_readings, recent_responses = _write(engine, topics, recent)
    triaged += worker.drain()
    return HistorySummary(
        len(messages), readings + recent_readings, responses + recent_responses, triaged, resolved
    )


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
