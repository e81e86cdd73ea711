"""Alerts (one open per citizen and concern) and their event history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from pust.db.tables._base import big_pk, json_doc, timestamp, uuid_pk


def _rule_key_of_row(context: Any) -> Any:
    return context.get_current_parameters()["rule_key"]


class Alert(SQLModel, table=True):
    __tablename__ = "alert"
    __table_args__ = (
        Index("ix_alert_worklist", "care_team_id", "status", "band_order", "first_seen_at"),
        Index("ix_alert_citizen", "citizen_id", "status"),
        # the worklist's lead alert per citizen: open alerts of a team, in citizen order with
        # the ranking columns, so the ranking is an index-only scan (docs/performance.md)
        Index(
            "ix_alert_open_lead",
            "care_team_id",
            "citizen_id",
            "band_order",
            "first_seen_at",
            "id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id")
    care_team_id: uuid.UUID = Field(foreign_key="care_team.id")
    device_id: str | None = Field(default=None, foreign_key="device.id", max_length=64)
    kind: str = Field(max_length=32)  # reading | missed_measurement | silent_device | technical
    rule_key: str = Field(max_length=120)  # e.g. "spo2.absolute", "questionnaire.anthonisen"
    # what it is about: the rules that agree on a reading share one alert (e.g. "spo2.*" for
    # the SpO2 absolute and baseline rules); not given: the rule's own key
    concern: str = Field(max_length=120, sa_column_kwargs={"default": _rule_key_of_row})
    severity: str = Field(max_length=8)  # highest severity seen while open
    band_order: int  # worklist order: 0 red, 1 yellow, 2 blue, 3 silent, 4 green
    status: str = Field(default="open", max_length=16)  # open | acknowledged | resolved
    # "<citizen_id>:<concern>" while not resolved, NULL once resolved: the unique constraint
    # makes "one open alert per citizen and concern" a database fact on every backend
    open_key: str | None = Field(default=None, max_length=200, unique=True)
    count: int = Field(default=1)
    first_seen_at: datetime = timestamp()
    last_seen_at: datetime = timestamp()
    last_value: float | None = None
    last_reading_id: int | None = Field(default=None, foreign_key="reading.id")
    last_response_id: int | None = Field(default=None, foreign_key="questionnaire_response.id")
    reasons: list[dict[str, Any]] = json_doc()
    limit_set_id: uuid.UUID | None = Field(default=None, foreign_key="limit_set.id")
    late: bool = Field(default=False)
    claimed_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    claimed_at: datetime | None = timestamp(nullable=True)
    acknowledged_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    acknowledged_at: datetime | None = timestamp(nullable=True)
    acknowledge_note: str | None = Field(default=None, max_length=4000)
    resolved_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    resolved_at: datetime | None = timestamp(nullable=True)
    outcome: str | None = Field(default=None, max_length=64)
    resolve_note: str | None = Field(default=None, max_length=4000)
    escalation_level: int = Field(default=0)
    next_escalation_at: datetime | None = timestamp(nullable=True, index=True)
    lock_version: int = Field(default=1)  # optimistic concurrency for nurses' actions
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)


class AlertEvent(SQLModel, table=True):
    """Every transition of an alert, with who and when."""

    __tablename__ = "alert_event"

    id: int | None = big_pk()
    alert_id: uuid.UUID = Field(foreign_key="alert.id", index=True)
    at: datetime = timestamp()
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")  # None: system
    kind: str = Field(max_length=32)  # opened | repeated | acknowledged | resolved | ...
    detail: dict[str, Any] = json_doc()
