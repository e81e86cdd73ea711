"""Severities of triage results and alerts, and the worklist order."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """Triage colour of a reading or questionnaire response (OpenTele / FUT traffic light)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @staticmethod
    def worst(*severities: Severity) -> Severity:
        return max(severities, key=lambda s: s.rank, default=Severity.GREEN)


_RANK = {Severity.GREEN: 0, Severity.YELLOW: 1, Severity.RED: 2}


class AlertKind(StrEnum):
    """What raised an alert; decides its place in the nurse's worklist."""

    READING = "reading"  # a red or yellow reading or questionnaire answer
    MISSED_MEASUREMENT = "missed_measurement"  # blue: the plan said measure, nothing came
    SILENT_DEVICE = "silent_device"  # the tablet itself went quiet
    TECHNICAL = "technical"  # a reading could not be triaged; never silence
    # "Tjek målingen": a reading that cannot be physiological (wrong person, unit, device);
    # a low-priority check, never a red/yellow clinical alert (pust.domain.plausibility_rules)
    DATA_QUALITY = "data_quality"
    # "Holdes øje med": a signal not yet worth a nurse's time (one yellow reading, one
    # symptom). Shown on the citizen's page and in the worklist's lower band; not a task: no
    # escalation, no on-call, no notice to the tablet (issue 13)
    WATCH = "watch"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class WorklistBand(StrEnum):
    """Worklist order: red → yellow → missed (blue) → silent tablet → green."""

    RED = "red"
    YELLOW = "yellow"
    BLUE = "blue"
    SILENT = "silent"
    GREEN = "green"

    @property
    def order(self) -> int:
        return _BAND_ORDER[self]


_BAND_ORDER = {
    WorklistBand.RED: 0,
    WorklistBand.YELLOW: 1,
    WorklistBand.BLUE: 2,
    WorklistBand.SILENT: 3,
    WorklistBand.GREEN: 4,
}


def band_for(kind: AlertKind, severity: Severity) -> WorklistBand:
    """The worklist band of an alert. Technical alerts are shown with the reds: unknown is
    treated as possibly serious. A data-quality check is known not to be clinical."""
    if kind is AlertKind.MISSED_MEASUREMENT:
        return WorklistBand.BLUE
    if kind is AlertKind.SILENT_DEVICE:
        return WorklistBand.SILENT
    if kind is AlertKind.TECHNICAL:
        return WorklistBand.RED
    if kind is AlertKind.DATA_QUALITY:
        return WorklistBand.BLUE  # low priority: after every clinical alert, with the checks
    if kind is AlertKind.WATCH:
        return WorklistBand.GREEN  # the lower band: seen, not a task
    return {
        Severity.RED: WorklistBand.RED,
        Severity.YELLOW: WorklistBand.YELLOW,
        Severity.GREEN: WorklistBand.GREEN,
    }[severity]
