"""The message inbox (idempotency), quarantine (rejected input) and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from pust.db.tables._base import big_pk, json_doc, timestamp
from pust.db.types import Blob


class InboxMessage(SQLModel, table=True):
    """One row per committed device message: (device_id, message_id) is seen once."""

    __tablename__ = "inbox_message"

    device_id: str = Field(primary_key=True, max_length=64)
    message_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)  # measurements | questionnaire-responses | status
    received_at: datetime = timestamp()


class QuarantinedMessage(SQLModel, table=True):
    """A rejected message, kept (size-capped) with its reasons for an administrator."""

    __tablename__ = "quarantined_message"

    id: int | None = big_pk()
    device_id: str | None = Field(default=None, max_length=200, index=True)
    topic: str = Field(max_length=500)
    message_id: str | None = Field(default=None, max_length=200)
    payload: bytes = Field(sa_type=Blob)
    payload_size: int
    truncated: bool = Field(default=False)
    errors: list[dict[str, Any]] = json_doc()
    received_at: datetime = timestamp(index=True)


class DeliveryAttempt(SQLModel, table=True):
    """A device message that ingest began to write and has not committed yet.

    Inserted (in a short transaction of its own) before a batch is written, deleted in the
    batch's own transaction. A row that is still here when the broker delivers the message
    again means the last attempt died; the message is then written on its own, and after
    ``PUST_INGEST_MAX_DELIVERIES`` attempts quarantined (``internal_error``). ``message_id``
    is the tablet's id, or ``sha256:…`` of the payload when it has none.
    """

    __tablename__ = "delivery_attempt"

    device_id: str = Field(primary_key=True, max_length=200)
    message_id: str = Field(primary_key=True, max_length=200)
    attempts: int = Field(default=1)
    first_attempt_at: datetime = timestamp()
    last_attempt_at: datetime = timestamp()


class BrokerSession(SQLModel, table=True):
    """When a service last connected to the broker with a persistent session: if it comes
    back within the session's expiry and the broker has no session for it, messages queued
    meanwhile may be gone, and the service says so."""

    __tablename__ = "broker_session"

    client_id: str = Field(primary_key=True, max_length=64)
    connected_at: datetime = timestamp()
    expiry_seconds: int


class OutboxMessage(SQLModel, table=True):
    """Work for the outside world, written in the same transaction as the change it reports.

    channel: mqtt (a receipt-less publish to a tablet: plan, notice), webhook, email, fhir.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "channel",
            "available_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: int | None = big_pk()
    channel: str = Field(max_length=16)
    destination: str = Field(max_length=500)
    payload: dict[str, Any] = json_doc()
    retain: bool = Field(default=False)
    # a second enqueue with the same key is a no-op (idempotent producers)
    dedup_key: str | None = Field(default=None, max_length=200, unique=True)
    status: str = Field(default="pending", max_length=8)  # pending | sent | dead
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = timestamp(default_now=True)
    available_at: datetime = timestamp(default_now=True)
    sent_at: datetime | None = timestamp(nullable=True)
