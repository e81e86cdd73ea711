"""The clinical evaluation's arithmetic, kept apart from the replay so it can be checked by
hand: what the triage said about each reading, which alerts a nurse would have seen, and
the simulated ground truth (exacerbations, silent tablets)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from pust.domain.severity import AlertKind, Severity
from pust.evaluation.recording import Episode as Exacerbation

DETECTION_WINDOW = timedelta(hours=24)
LATER_DETECTION_WINDOW = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class TriagedItem:
    """One reading or questionnaire response after triage (``at``: when it was received).
    ``severity``: the colour of the nurse's task it makes (a watch is green here);
    ``watched``: it made a watch and no task."""

    device_id: str
    at: datetime
    severity: Severity
    is_questionnaire: bool = False
    late: bool = False  # arrived more than 48 h after it was measured: shown as late only
    watched: bool = False


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    """An alert opened (or re-opened) for a nurse."""

    device_id: str
    at: datetime
    kind: AlertKind
    severity: Severity
    rule_key: str


@dataclass(frozen=True, slots=True)
class SentReminder:
    """A reminder to measure sent to the citizen's tablet after a missed slot (not a nurse's
    task)."""

    device_id: str
    at: datetime
    due_at: datetime


@dataclass(frozen=True, slots=True)
class EvaluationInput:
    citizens: int
    days: int
    exacerbations: Sequence[Exacerbation]
    triaged: Sequence[TriagedItem]
    alerts: Sequence[RaisedAlert]
    rejected_messages: int = 0
    reminders: Sequence[SentReminder] = ()


@dataclass(frozen=True, slots=True)
class Evaluation:
    citizens: int
    weeks: float
    exacerbations: int
    flagged_within_24h: int
    flagged_within_48h: int
    flagged_during_episode: int
    median_hours_to_flag: float | None
    readings: int
    readings_green: int
    reading_alerts: int
    reading_alerts_outside_episodes: int
    red_alerts: int
    missed_measurement_alerts: int
    silent_tablet_alerts: int
    rejected_messages: int
    reminders_sent: int = 0  # on the citizen's tablet, before (or beside) a blue task
    watch_alerts: int = 0  # shown in the lower band, not a task (not in nurse_alerts)
    watch_alerts_outside_episodes: int = 0

    @property
    def citizen_weeks(self) -> float:
        return self.citizens * self.weeks

    @property
    def share_flagged_within_24h(self) -> float | None:
        return _share(self.flagged_within_24h, self.exacerbations)

    @property
    def share_flagged_within_48h(self) -> float | None:
        return _share(self.flagged_within_48h, self.exacerbations)

    @property
    def share_outside_episodes(self) -> float | None:
        return _share(self.reading_alerts_outside_episodes, self.reading_alerts)

    @property
    def tasks_per_citizen_week(self) -> float | None:
        return self.per_citizen_week(self.nurse_alerts)

    @property
    def share_flagged_during_episode(self) -> float | None:
        return _share(self.flagged_during_episode, self.exacerbations)

    @property
    def share_needing_no_nurse(self) -> float | None:
        return _share(self.readings_green, self.readings)

    def per_citizen_week(self, count: int) -> float | None:
        return count / self.citizen_weeks if self.citizen_weeks else None

    @property
    def nurse_alerts(self) -> int:
        """Everything that lands in a nurse's worklist: reading, missed and silent alerts."""
        return self.reading_alerts + self.missed_measurement_alerts + self.silent_tablet_alerts


def _share(part: int, whole: int) -> float | None:
    """None rather than 0 when there is nothing to share out."""
    return part / whole if whole else None


def _first_flag(episode: Exacerbation, flags: Sequence[TriagedItem]) -> datetime | None:
    """The first task-making flag from the prodrome (:attr:`Exacerbation.starts`, the days
    before the symptom onset when things already change) to the end of the episode."""
    during = [f.at for f in flags if episode.starts <= f.at < episode.end]
    return min(during, default=None)


def _in_episode(alert: RaisedAlert, episodes: Sequence[Exacerbation]) -> bool:
    """An alert in an episode or its prodrome is not a false alarm: it is an early one."""
    return any(e.device_id == alert.device_id and e.starts <= alert.at < e.end for e in episodes)


def evaluate(data: EvaluationInput) -> Evaluation:
    flags_by_device: dict[str, list[TriagedItem]] = {}
    for item in data.triaged:
        if item.severity is not Severity.GREEN and not item.late:
            flags_by_device.setdefault(item.device_id, []).append(item)
    within = 0
    within_48h = 0
    during = 0
    delays: list[float] = []
    for episode in data.exacerbations:
        first = _first_flag(episode, flags_by_device.get(episode.device_id, []))
        if first is None:
            continue
        during += 1
        delay = max(timedelta(0), first - episode.onset)  # a warning in the prodrome: 0 h
        delays.append(delay.total_seconds() / 3600.0)
        if delay <= DETECTION_WINDOW:
            within += 1
        if delay <= LATER_DETECTION_WINDOW:
            within_48h += 1
    reading_alerts = [a for a in data.alerts if a.kind is AlertKind.READING]
    watches = [a for a in data.alerts if a.kind is AlertKind.WATCH]
    return Evaluation(
        citizens=data.citizens,
        weeks=data.days / 7.0,
        exacerbations=len(data.exacerbations),
        flagged_within_24h=within,
        flagged_within_48h=within_48h,
        flagged_during_episode=during,
        median_hours_to_flag=median(delays) if delays else None,
        readings=sum(1 for t in data.triaged if not t.is_questionnaire),
        readings_green=sum(
            1 for t in data.triaged if not t.is_questionnaire and t.severity is Severity.GREEN
        ),
        reading_alerts=len(reading_alerts),
        reading_alerts_outside_episodes=sum(
            1 for a in reading_alerts if not _in_episode(a, data.exacerbations)
        ),
        red_alerts=sum(1 for a in reading_alerts if a.severity is Severity.RED),
        missed_measurement_alerts=sum(
            1 for a in data.alerts if a.kind is AlertKind.MISSED_MEASUREMENT
        ),
        silent_tablet_alerts=sum(1 for a in data.alerts if a.kind is AlertKind.SILENT_DEVICE),
        rejected_messages=data.rejected_messages,
        reminders_sent=len(data.reminders),
        watch_alerts=len(watches),
        watch_alerts_outside_episodes=sum(
            1 for a in watches if not _in_episode(a, data.exacerbations)
        ),
    )
