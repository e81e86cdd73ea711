"""Readings, questionnaire responses and the triage result of each."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from pust.db.tables._base import big_pk, json_doc, timestamp


class Reading(SQLModel, table=True):
    __tablename__ = "reading"
    __table_args__ = (
        # the reading identity: the same reading re-sent under a new message id is a duplicate
        UniqueConstraint("device_id", "type", "measured_at", "value", name="uq_reading_identity"),
        Index("ix_reading_citizen_type_time", "citizen_id", "type", "measured_at"),
        Index("ix_reading_citizen_time", "citizen_id", "measured_at"),
        # the alerts service's work queue: readings not yet triaged
        Index(
            "ix_reading_untriaged",
            "id",
            postgresql_where=text("triaged_at IS NULL"),
            sqlite_where=text("triaged_at IS NULL"),
        ),
    )

    id: int | None = big_pk()
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id")
    device_id: str = Field(foreign_key="device.id", max_length=64)
    message_id: str = Field(max_length=64)
    type: str = Field(max_length=32)
    value: float  # canonical unit
    unit: str = Field(max_length=16)  # canonical UCUM unit
    original_value: float
    original_unit: str = Field(max_length=16)
    measured_at: datetime = timestamp()
    sent_at: datetime = timestamp()
    received_at: datetime = timestamp()
    entry: str = Field(default="device", max_length=8)  # device | manual
    peripheral_id: int | None = Field(default=None, foreign_key="peripheral.id")
    late: bool = Field(default=False)
    valid: bool = Field(default=True)
    invalid_reason: str | None = Field(default=None, max_length=500)
    invalidated_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    invalidated_at: datetime | None = timestamp(nullable=True)
    severity: str | None = Field(default=None, max_length=8)  # set by triage
    triaged_at: datetime | None = timestamp(nullable=True)


class QuestionnaireResponse(SQLModel, table=True):
    __tablename__ = "questionnaire_response"
    __table_args__ = (
        UniqueConstraint("device_id", "questionnaire", "answered_at", name="uq_response_identity"),
        Index("ix_response_citizen_time", "citizen_id", "answered_at"),
        Index(
            "ix_response_untriaged",
            "id",
            postgresql_where=text("triaged_at IS NULL"),
            sqlite_where=text("triaged_at IS NULL"),
        ),
    )

    id: int | None = big_pk()
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id")
    device_id: str = Field(foreign_key="device.id", max_length=64)
    message_id: str = Field(max_length=64)
    questionnaire: str = Field(max_length=64)
    answered_at: datetime = timestamp()
    sent_at: datetime = timestamp()
    received_at: datetime = timestamp()
    answers: list[dict[str, Any]] = json_doc()
    late: bool = Field(default=False)
    valid: bool = Field(default=True)
    invalid_reason: str | None = Field(default=None, max_length=500)
    severity: str | None = Field(default=None, max_length=8)
    triaged_at: datetime | None = timestamp(nullable=True)


class TriageResult(SQLModel, table=True):
    """The outcome of the rules for one reading or response, with the limits that decided it."""

    __tablename__ = "triage_result"
    __table_args__ = (Index("ix_triage_citizen_time", "citizen_id", "evaluated_at"),)

    id: int | None = big_pk()
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id")
    reading_id: int | None = Field(default=None, foreign_key="reading.id", unique=True)
    questionnaire_response_id: int | None = Field(
        default=None, foreign_key="questionnaire_response.id", unique=True
    )
    severity: str = Field(max_length=8)
    # machine-readable reasons: [{"rule": "spo2.absolute", "severity": "red", "value": 86, ...}]
    reasons: list[dict[str, Any]] = json_doc()
    limit_set_id: uuid.UUID | None = Field(default=None, foreign_key="limit_set.id")
    late: bool = Field(default=False)
    evaluated_at: datetime = timestamp(default_now=True)
