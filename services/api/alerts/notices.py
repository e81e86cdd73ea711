"""Notices to a citizen's tablet go through the outbox (never a direct publish): the row is
written in the same transaction as the action it reports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlmodel import Session

from pust.db.tables import OutboxMessage
from pust.messaging.topics import DeviceChannel, Topics
from services.api.scoping import current_device_id

NoticeKind = Literal["acknowledged", "message", "contact_clinic", "out_of_hours"]

ACKNOWLEDGED_TEXT = "Sygeplejerskerne har set dine målinger."


def notice_payload(
    *, notice_id: uuid.UUID, now: datetime, kind: NoticeKind, text: str
) -> dict[str, Any]:
    return {
        "notice_id": str(notice_id),
        "sent_at": now.isoformat(),
        "kind": kind,
        "text": text,
    }


def queue_notice(
    *,
    session: Session,
    topic_root: str,
    citizen_id: uuid.UUID,
    now: datetime,
    kind: NoticeKind,
    text: str,
) -> uuid.UUID | None:
    """Queue a notice for the citizen's current tablet; None when no tablet is assigned."""
    device_id = current_device_id(session, citizen_id)
    if device_id is None:
        return None
    notice_id = uuid.uuid4()
    session.add(
        OutboxMessage(
            channel="mqtt",
            destination=Topics(topic_root).device(device_id, DeviceChannel.NOTICES),
            payload=notice_payload(notice_id=notice_id, now=now, kind=kind, text=text),
            retain=False,
            dedup_key=f"notice:{notice_id}",
            created_at=now,
            available_at=now,
        )
    )
    return notice_id
