"""The messages nurses sent to a citizen's tablet, with who and when: the text from the
outbox row that carried it, the sender from the audit event that recorded the sending."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from pust.db.tables import AuditEvent, DeviceAssignment, OutboxMessage, StaffUser
from pust.messaging.topics import DeviceChannel, Topics

_NURSE_KINDS = ("message", "contact_clinic")


@dataclass(frozen=True, slots=True)
class SentMessage:
    at: datetime
    kind: str
    text: str
    sent_by: str
    status: str  # pending | sent | dead


def sent_messages(
    session: Session, citizen_id: uuid.UUID, *, topic_root: str, limit: int = 20
) -> list[SentMessage]:
    devices = session.exec(
        select(DeviceAssignment.device_id).where(DeviceAssignment.citizen_id == citizen_id)
    ).all()
    if not devices:
        return []
    topics = Topics(topic_root)
    destinations = [topics.device(d, DeviceChannel.NOTICES) for d in set(devices)]
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.destination).in_(destinations))
        .order_by(col(OutboxMessage.created_at).desc())
        .limit(200)
    ).all()
    nurse_rows = [r for r in rows if (r.payload or {}).get("kind") in _NURSE_KINDS][:limit]
    if not nurse_rows:
        return []
    senders: dict[str, str] = {}
    for event, name in session.exec(
        select(AuditEvent, StaffUser.display_name)
        .join(StaffUser, col(StaffUser.id) == col(AuditEvent.actor_id), isouter=True)
        .where(AuditEvent.citizen_id == citizen_id, AuditEvent.action == "citizen.message")
    ).all():
        if event.resource_id:
            senders[event.resource_id] = name or event.actor_username
    return [
        SentMessage(
            at=r.created_at,
            kind=str(r.payload.get("kind")),
            text=str(r.payload.get("text", "")),
            sent_by=senders.get(str(r.payload.get("notice_id")), ""),
            status=r.status,
        )
        for r in nurse_rows
    ]
