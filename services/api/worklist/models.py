"""Schemas of the worklist."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from pust.domain.alert_lifecycle import Outcome

Band = Literal["red", "yellow", "blue", "silent", "green"]
BANDS: tuple[Band, ...] = ("red", "yellow", "blue", "silent", "green")


class WorklistRowPublic(BaseModel):
    """One citizen with open work; the alert shown is the worst and, within it, the oldest."""

    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    citizen_name: str
    cpr: str
    band: Band
    alert_id: uuid.UUID
    alert_kind: str
    rule_key: str
    severity: str
    reasons: list[dict[str, Any]]
    last_value: float | None
    first_seen_at: datetime
    last_seen_at: datetime
    age_seconds: int = Field(description="How long the alert has waited, in seconds")
    late: bool
    lock_version: int
    claimed_by: str | None
    open_alerts: int = Field(
        description="Open alerts of this citizen in this list (tasks, or watches)"
    )


class WorklistPagePublic(BaseModel):
    """A page of the tasks, and apart from them the citizens being watched (issue 13: a
    watch is not a task, so it is never one of ``items`` nor counted in ``total``)."""

    items: list[WorklistRowPublic]
    total: int = Field(description="Citizens with an open task (not counting watches)")
    limit: int
    offset: int
    watches: list[WorklistRowPublic] = Field(
        description="The lower band: citizens with an open watch (up to `limit`, worst and "
        "oldest first, whatever the page and band filter); a citizen may be in both lists"
    )
    watch_total: int = Field(description="Citizens with an open watch")


class BulkAcknowledgeCreate(BaseModel):
    care_team_id: uuid.UUID
    note: str | None = Field(default=None, max_length=4000)
    notify_citizen: bool = False


class BulkAcknowledgePublic(BaseModel):
    acknowledged: int
    alert_ids: list[uuid.UUID]


class CitizenSettleCreate(BaseModel):
    """One decision for all of a citizen's alerts the nurse saw: acknowledge them, or
    resolve them (acknowledging the open ones first) with one outcome and one note.
    ``alert_versions`` are the alerts and lock versions on her screen: an alert that came
    or changed since is not touched (a conflict)."""

    resolve: bool = False
    alert_versions: dict[uuid.UUID, int] = Field(min_length=1)
    outcome: Outcome | None = None
    note: str | None = Field(default=None, max_length=4000)
    notify_citizen: bool = False


class CitizenSettlePublic(BaseModel):
    acknowledged: list[uuid.UUID]
    resolved: list[uuid.UUID]
