"""The alert aggregate's values: a :class:`Breach` (why to raise), the immutable
:class:`AlertState`, and what an action returns — a :class:`Transition` (the new state and
its :class:`LifecycleEvent` records) or, for escalation, an :class:`Escalation`. The
actions are :mod:`pust.domain.alert_aggregate`'s."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pust.domain.alert_lifecycle import EventKind, Outcome, open_key
from pust.domain.routing import EscalationStep
from pust.domain.severity import AlertKind, AlertStatus, Severity, band_for


@dataclass(frozen=True, slots=True)
class Breach:
    """A reason to raise (or repeat) an alert for one citizen and concern.

    ``rule_key``: the (worst) rule broken; ``concern``: what the alert is about — the merge
    group of the rules that agree on this reading (triage's
    :class:`~pust.domain.triage.Concern`), by default the rule alone. ``reasons`` carry
    each broken rule's key."""

    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    kind: AlertKind
    rule_key: str
    severity: Severity
    observed_at: datetime
    reasons: list[dict[str, Any]] = field(default_factory=list)
    value: float | None = None
    reading_id: int | None = None
    response_id: int | None = None
    limit_set_id: uuid.UUID | None = None
    device_id: str | None = None
    concern: str = ""  # "": the rule alone (``rule_key``)

    def __post_init__(self) -> None:
        if not self.concern:
            object.__setattr__(self, "concern", self.rule_key)


@dataclass(frozen=True, slots=True)
class AlertState:
    id: uuid.UUID
    citizen_id: uuid.UUID
    care_team_id: uuid.UUID
    kind: AlertKind
    rule_key: str  # the rule that opened it (``reasons`` name every rule of the last breach)
    severity: Severity  # the highest severity seen while not resolved
    status: AlertStatus
    first_seen_at: datetime
    last_seen_at: datetime
    updated_at: datetime
    count: int = 1
    device_id: str | None = None
    last_value: float | None = None
    last_reading_id: int | None = None
    last_response_id: int | None = None
    reasons: tuple[Mapping[str, Any], ...] = ()
    limit_set_id: uuid.UUID | None = None
    claimed_by: uuid.UUID | None = None
    claimed_at: datetime | None = None
    acknowledged_by: uuid.UUID | None = None
    acknowledged_at: datetime | None = None
    acknowledge_note: str | None = None
    resolved_by: uuid.UUID | None = None  # None with an outcome: the system resolved it
    resolved_at: datetime | None = None
    outcome: Outcome | None = None
    resolve_note: str | None = None
    escalation_level: int = 0
    next_escalation_at: datetime | None = None
    lock_version: int = 1  # optimistic concurrency for nurses' actions
    concern: str = ""  # what the alert is about (see Breach); "": the rule alone

    def __post_init__(self) -> None:
        if not self.concern:
            object.__setattr__(self, "concern", self.rule_key)

    @property
    def is_resolved(self) -> bool:
        return self.status is AlertStatus.RESOLVED

    @property
    def open_key(self) -> str | None:
        """Unique among not-resolved alerts: one open alert per citizen and concern."""
        return None if self.is_resolved else open_key(self.citizen_id, self.concern)

    @property
    def rules(self) -> tuple[str, ...]:
        """The rules whose reasons the alert carries (its last breach), worst first."""
        found = [str(r["rule"]) for r in self.reasons if r.get("rule")]
        return tuple(dict.fromkeys(found)) or (self.rule_key,)

    @property
    def band_order(self) -> int:
        return band_for(self.kind, self.severity).order


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    kind: EventKind
    at: datetime
    actor_id: uuid.UUID | None = None  # None: the system
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transition:
    state: AlertState
    events: tuple[LifecycleEvent, ...] = ()

    @property
    def event(self) -> EventKind | None:
        """The kind of the (one) event, None when nothing changed."""
        return self.events[-1].kind if self.events else None


@dataclass(frozen=True, slots=True)
class Escalation:
    transition: Transition
    step: EscalationStep | None  # the step that fired; None: nothing fired
