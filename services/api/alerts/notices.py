"""Notices to a citizen's tablet go through the outbox (never a direct publish): the row is
written in the same transaction as the action it reports. The payload and the Danish texts
are :mod:`pust.domain.notices`'s, the outbox row :func:`pust.db.outbox.enqueue_notice`'s."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlmodel import Session

from pust.db.outbox import enqueue_notice
from pust.domain.notices import NoticeKind, TabletNotice
from pust.messaging.topics import DeviceChannel, Topics
from services.api.scoping import current_device_id

NoticeKindName = Literal["acknowledged", "message", "contact_clinic", "out_of_hours"]


def queue_notice(
    *,
    session: Session,
    topic_root: str,
    citizen_id: uuid.UUID,
    now: datetime,
    kind: NoticeKindName | NoticeKind,
    text: str,
    event_key: str | None = None,
) -> uuid.UUID | None:
    """Queue a notice for the citizen's current tablet; None when no tablet is assigned.

    ``event_key`` names the event the notice reports (e.g. one acknowledgement of all of a
    citizen's alerts): a second notice for the same event is not queued. Without it the
    notice is its own event (a nurse's message)."""
    device_id = current_device_id(session, citizen_id)
    if device_id is None:
        return None
    notice = TabletNotice(NoticeKind(kind), text, event_key or f"api:{uuid.uuid4()}")
    enqueue_notice(
        session,
        destination=Topics(topic_root).device(device_id, DeviceChannel.NOTICES),
        notice=notice,
        now=now,
    )
    return notice.notice_id
