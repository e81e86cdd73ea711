"""Notices to a citizen's tablet: what kinds there are, their Danish texts, and the one
builder of the payload the tablet receives (device protocol v1, "Notice").

A notice belongs to the *event* that caused it (a submission that opened alerts out of
hours, a nurse's acknowledgement, a missed slot). Its id is derived from the event's key, so
the same event can never reach the tablet twice, however many alerts or replicas report it:
the outbox de-duplicates on that key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class NoticeKind(StrEnum):
    """The kinds the device protocol defines; the tablet shows ``text`` as it is."""

    ACKNOWLEDGED = "acknowledged"  # a nurse has reviewed the citizen's readings
    MESSAGE = "message"  # a message from the clinic (also: a reminder to measure)
    CONTACT_CLINIC = "contact_clinic"  # please call the clinic
    OUT_OF_HOURS = "out_of_hours"  # the clinic is closed; whom to call meanwhile


ACKNOWLEDGED_TEXT_DA = "Sygeplejerskerne har set dine målinger."

_NAMESPACE = uuid.UUID("6f3f5a52-8d0c-4b7e-9a55-7075737400a1")  # pust tablet notices


@dataclass(frozen=True, slots=True)
class TabletNotice:
    kind: NoticeKind
    text: str
    # what happened, e.g. "ooh:submission:<device>:<message_id>": one notice per key
    event_key: str

    @property
    def notice_id(self) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, self.event_key)

    @property
    def dedup_key(self) -> str:
        return f"notice:{self.event_key}"[:200]

    def payload(self, *, sent_at: datetime) -> dict[str, Any]:
        return {
            "notice_id": str(self.notice_id),
            "sent_at": sent_at.isoformat(),
            "kind": self.kind.value,
            "text": self.text,
        }


def acknowledged_notice(*, event_key: str, text: str = ACKNOWLEDGED_TEXT_DA) -> TabletNotice:
    return TabletNotice(NoticeKind.ACKNOWLEDGED, text, event_key)


def out_of_hours_notice(*, text: str, event_key: str) -> TabletNotice:
    return TabletNotice(NoticeKind.OUT_OF_HOURS, text, event_key)


def missed_slot_event_key(citizen_id: uuid.UUID, due_at: datetime) -> str:
    """One missed slot is one event: one reminder, however often the sweep runs."""
    return f"missed:{citizen_id}:{int(due_at.timestamp())}"


def missed_slot_notice(
    *, citizen_id: uuid.UUID, due_at: datetime, now: datetime, zone: ZoneInfo
) -> TabletNotice:
    """A reminder to measure after a missed slot (kind ``message``: the protocol has no
    reminder kind; the tablet shows the text as it is)."""
    due = due_at.astimezone(zone)
    when = "i dag" if due.date() == now.astimezone(zone).date() else f"{due.day}.{due.month}."
    text = f"Du mangler at måle {when} (kl. {due:%H:%M}). Mål venligst, når du kan."
    return TabletNotice(NoticeKind.MESSAGE, text, missed_slot_event_key(citizen_id, due_at))


def submission_event_key(prefix: str, *, device_id: str, message_id: str) -> str:
    """One device message (a submission of several readings) is one event."""
    return f"{prefix}:submission:{device_id}:{message_id}"
