"""What-if on the clinic's own history: the same past weeks replayed under the rules in
force and under a proposed rule set, citizen by citizen.

Each citizen is replayed on its own recording (its own plan, its baselines in force), so
the result does not depend on who else is in the team. The alerts compared are the ones a
nurse would have seen: reading/questionnaire alerts and missed-measurement alerts (these
do not depend on limits, so they are the same in both). Silent-tablet alerts are left out:
heartbeats are not stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pust.domain.limits import RuleSet
from pust.domain.severity import AlertKind
from pust.evaluation.metrics import RaisedAlert
from pust.evaluation.recording import Recording
from pust.evaluation.replay import Replay


@dataclass(frozen=True, slots=True)
class CitizenHistory:
    """One citizen's recording (one device key) and the two rule sets to compare."""

    key: str
    recording: Recording
    current: RuleSet
    proposed: RuleSet


# what a changed limit can make appear or disappear: a nurse's task from a reading, or a
# watch (shown in the worklist's lower band, not a task) under rules where one yellow is one
_SHOWN = (AlertKind.READING, AlertKind.WATCH)


@dataclass(frozen=True, slots=True)
class CitizenOutcome:
    key: str
    current: tuple[RaisedAlert, ...]
    proposed: tuple[RaisedAlert, ...]
    rejected_messages: int

    @staticmethod
    def _readings(alerts: Sequence[RaisedAlert]) -> list[tuple[str, str, str]]:
        return [
            (a.at.isoformat(), a.rule_key, a.severity.value) for a in alerts if a.kind in _SHOWN
        ]

    @property
    def appeared(self) -> tuple[RaisedAlert, ...]:
        """Reading alerts and watches only the proposal raises (same time and rule)."""
        before = set(self._readings(self.current))
        return tuple(
            a
            for a in self.proposed
            if a.kind in _SHOWN and (a.at.isoformat(), a.rule_key, a.severity.value) not in before
        )

    @property
    def disappeared(self) -> tuple[RaisedAlert, ...]:
        after = set(self._readings(self.proposed))
        return tuple(
            a
            for a in self.current
            if a.kind in _SHOWN and (a.at.isoformat(), a.rule_key, a.severity.value) not in after
        )

    @property
    def changed(self) -> bool:
        return bool(self.appeared or self.disappeared)


@dataclass(frozen=True, slots=True)
class WhatIf:
    days: int
    citizens: tuple[CitizenOutcome, ...]

    @property
    def citizen_weeks(self) -> float:
        return len(self.citizens) * self.days / 7.0

    def _per_citizen_week(self, count: int) -> float | None:
        return count / self.citizen_weeks if self.citizen_weeks else None

    def tasks_per_citizen_week(self, *, proposed: bool) -> float | None:
        """Every alert a nurse would have had to handle, all kinds."""
        return self._per_citizen_week(
            sum(len(c.proposed if proposed else c.current) for c in self.citizens)
        )

    def reading_alerts_per_citizen_week(self, *, proposed: bool) -> float | None:
        return self._per_citizen_week(
            sum(
                1
                for c in self.citizens
                for a in (c.proposed if proposed else c.current)
                if a.kind in _SHOWN
            )
        )

    @property
    def changed(self) -> tuple[CitizenOutcome, ...]:
        return tuple(c for c in self.citizens if c.changed)


def _alerts(recording: Recording, rules: RuleSet) -> tuple[tuple[RaisedAlert, ...], int]:
    replay = Replay(recording, lambda _device, _baselines: rules)
    data = replay.run()
    # a stored history keeps no heartbeats, so silence cannot be replayed from it (and it
    # does not depend on limits): silent-tablet alerts are left out of both sides
    kept = tuple(a for a in data.alerts if a.kind is not AlertKind.SILENT_DEVICE)
    return kept, data.rejected_messages


def what_if(histories: Sequence[CitizenHistory], *, days: int) -> WhatIf:
    outcomes = []
    for history in histories:
        current, rejected = _alerts(history.recording, history.current)
        if history.proposed == history.current:
            proposed = current
        else:
            proposed, _ = _alerts(history.recording, history.proposed)
        outcomes.append(CitizenOutcome(history.key, current, proposed, rejected))
    return WhatIf(days, tuple(outcomes))
