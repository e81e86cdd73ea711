"""Resolved timing (ehealth-resolved-timing) from the citizen's measurement plan. Pure.

FUT (``fsh/ehealth-ext-resolved-timing.fsh``): resolved timing "reflects whether a
measurement has been performed ad-hoc or as fulfillment of a measurement regime time slot in
which case the extent of the time slot is given by start and end". CodeSystem
resolved-timing-type: Resolved, Unresolved, Adhoc, Extra; ``ehealth-include-as-extra`` on the
ServiceRequest: it "may also be performed outside the resolved timing slots".

pust's choice (README "Resolved timing"):

- the plan in force lists the type (or questionnaire) and the reading falls in a slot's
  submission window ``[due - grace, due + grace]`` that no earlier reading of the same kind
  has met: ``Resolved`` with ``start``/``end`` = the window;
- otherwise, if the ServiceRequest allows extra measurements (``include_as_extra`` in the
  regional link): ``Extra``; else ``Adhoc`` (the IG's own example).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pust.domain.plans import MeasurementPlan, due_times

RESOLVED, EXTRA, ADHOC = "Resolved", "Extra", "Adhoc"


@dataclass(frozen=True, slots=True)
class Timing:
    type: str
    start: datetime | None = None
    end: datetime | None = None


def _planned(plan: MeasurementPlan, key: str) -> bool:
    return key in {m.value for m in plan.measurements} or key in plan.questionnaires


def resolve_timing(
    plan: MeasurementPlan | None,
    key: str,
    at: datetime,
    *,
    earlier: Sequence[datetime],
    include_as_extra: bool,
) -> Timing:
    """``key``: the measurement type (``spo2``; blood pressure ``bp_systolic``) or the
    questionnaire id; ``earlier``: the times of the citizen's other valid readings of that
    kind before ``at`` (only those within the window matter)."""
    outside = Timing(EXTRA if include_as_extra else ADHOC)
    if plan is None or not _planned(plan, key):
        return outside
    grace = plan.grace
    slots = due_times(plan, at - grace, at + grace + timedelta(microseconds=1))
    for due in sorted(slots, key=lambda d: abs(d - at)):
        start, end = due - grace, due + grace
        if not start <= at <= end:
            continue
        if any(start <= e < at for e in earlier):
            continue  # the slot is met already
        return Timing(RESOLVED, start, end)
    return outside


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What :func:`resolve_timing` needs besides the ServiceRequest's include-as-extra."""

    plan: MeasurementPlan | None
    key: str
    at: datetime
    earlier: tuple[datetime, ...] = ()

    def resolve(self, *, include_as_extra: bool) -> Timing:
        return resolve_timing(
            self.plan, self.key, self.at, earlier=self.earlier, include_as_extra=include_as_extra
        )
