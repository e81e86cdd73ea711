"""Replay a recording (a simulated cohort, a cohort file, the clinic's history) through
pust's real domain logic, in simulated time.

Each message goes through the device-protocol validator (units, plausibility, late
marking) and then the real triage (:mod:`pust.domain.triage`) with the citizen's rule set
and run-in baselines (:mod:`pust.domain.baselines`). Alerts follow the lifecycle rule of
one open alert per citizen and rule; late readings are triaged but never raise a fresh
alarm. Missed measurements come from :mod:`pust.domain.missed_measurements` on the same
plan the citizens follow, and what a missed slot becomes (a reminder on the tablet, a blue
task) from the same policy the alerts service's sweep calls
(:func:`pust.domain.missed_measurement_policy.decide_missed_slot`); silent tablets from
``is_silent``. Every alert goes through
the alert aggregate the alerts service uses (:mod:`pust.domain.alert_aggregate`): a repeat
of an open alert is not new work, a normal value auto-resolves where the rule says so, and a
new breach within a day re-opens the auto-resolved alert (counted: it is back on the
worklist). The nurse reviews on weekdays at 09:00 and 13:00 and resolves everything open,
so a new breach after a review is a new item of work.
"""

from __future__ import annotations

import heapq
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo

from pust.domain.alert_aggregate import AlertState, Breach, auto_resolve, raise_or_repeat, resolve
from pust.domain.alert_lifecycle import EventKind, Outcome
from pust.domain.baselines import TimedValue, baseline_types, run_in_baseline
from pust.domain.device_protocol import (
    MeasurementSubmission,
    QuestionnaireSubmission,
    Rejection,
    validate_message,
)
from pust.domain.device_protocol.messages import ValidationResult
from pust.domain.limits import RuleSet
from pust.domain.missed_measurement_policy import (
    DEFAULT_POLICY,
    DecidedSlot,
    MissedMeasurementPolicy,
    RecentAlert,
    decide_missed_slot,
)
from pust.domain.missed_measurements import MISSED_RULE, SILENT_RULE, SlotStatus, decide_slot
from pust.domain.missed_measurements import is_silent as tablet_is_silent
from pust.domain.plans import MeasurementPlan, due_times
from pust.domain.routing import default_routing_policy
from pust.domain.severity import AlertKind, Severity
from pust.domain.triage import ReadingFacts, Triage, triage_reading, triage_response
from pust.evaluation.metrics import EvaluationInput, RaisedAlert, SentReminder, TriagedItem
from pust.evaluation.recording import RecordedMessage, Recording

REVIEW_TIMES = (time(9, 0), time(13, 0))
SILENT_AFTER = timedelta(hours=24)
SILENT_CHECK_EVERY = timedelta(hours=1)
REVIEW_OUTCOME = Outcome.CONTACTED_CITIZEN  # what the simulated nurse does at a review

_NAMESPACE = uuid.UUID("0d7b3a8e-2f61-4c55-9e0a-6576616c7561")  # simulated ids
_TEAM = uuid.uuid5(_NAMESPACE, "team")
_NURSE = uuid.uuid5(_NAMESPACE, "nurse")
_POLICY = default_routing_policy()
_RAISED = (EventKind.OPENED, EventKind.REOPENED)

# the citizen's rule set once the run-in has given baselines (device_id, baselines) → rules
RulesFor = Callable[[str, dict[str, float]], RuleSet]


def check(message: RecordedMessage) -> ValidationResult:
    """The device-protocol validator on one recorded message, as ingest runs it."""
    return validate_message(
        device_id=message.device_id,
        channel=message.kind,
        payload=json.dumps(message.payload).encode(),
        received_at=message.received_at,
    )


class Checked:
    """A recording whose messages are validated once, to be replayed under several
    configurations (the validator does not depend on the rules): ``Replay(checked.recording,
    ..., check=checked)``."""

    def __init__(self, recording: Recording) -> None:
        messages = tuple(recording.messages)
        self.recording = replace(recording, messages=messages)
        self._results = {id(message): check(message) for message in messages}

    def __call__(self, message: RecordedMessage) -> ValidationResult:
        found = self._results.get(id(message))
        return found if found is not None else check(message)


class _EventKind(IntEnum):
    # at the same instant: decide slots and silence before the nurse's review
    SLOT = 0
    SILENT_CHECK = 1
    REVIEW = 2


@dataclass(slots=True)
class _Citizen:
    device_id: str
    history: dict[str, list[TimedValue]] = field(default_factory=dict)
    submissions: list[datetime] = field(default_factory=list)
    baselines: dict[str, float] | None = None
    rules: RuleSet | None = None
    last_seen: datetime | None = None
    # the missed-measurement policy's inputs: decided slots, yellow/red reading alerts
    slots: list[DecidedSlot] = field(default_factory=list)
    recent_alerts: list[RecentAlert] = field(default_factory=list)


@dataclass(slots=True)
class Replay:
    recording: Recording
    rules_for: RulesFor
    missed_policy: MissedMeasurementPolicy = DEFAULT_POLICY
    check: Callable[[RecordedMessage], ValidationResult] = check
    triaged: list[TriagedItem] = field(default_factory=list)
    alerts: list[RaisedAlert] = field(default_factory=list)
    reminders: list[SentReminder] = field(default_factory=list)
    rejected: int = 0
    rejections: list[tuple[RecordedMessage, Rejection]] = field(default_factory=list)
    # the latest alert per (device, rule): the open one, else the last resolved one
    _alerts: dict[tuple[str, str], AlertState] = field(default_factory=dict)
    # each citizen's yellow/red reading alerts (the policy's "recent yellow/red")
    _recent: dict[str, list[RecentAlert]] = field(default_factory=dict)

    def run(self) -> EvaluationInput:
        spec = self.recording
        measurement_plan = spec.plan
        tz = ZoneInfo(measurement_plan.timezone)
        end = spec.start + timedelta(days=spec.days)
        citizens = {d: _Citizen(d) for d in spec.device_ids}
        self._recent = {device: citizen.recent_alerts for device, citizen in citizens.items()}
        events = list(self._events(measurement_plan, tz, end))
        heapq.heapify(events)
        for message in spec.messages:
            if message.received_at >= end:
                continue  # an upload after the evaluated period
            while events and events[0][0] <= message.received_at:
                self._handle_event(heapq.heappop(events), citizens, measurement_plan)
            self._handle_message(message, citizens[message.device_id])
        while events:
            self._handle_event(heapq.heappop(events), citizens, measurement_plan)
        return EvaluationInput(
            citizens=len(spec.device_ids),
            days=spec.days,
            exacerbations=spec.episodes or (),
            triaged=self.triaged,
            alerts=self.alerts,
            rejected_messages=self.rejected,
            reminders=self.reminders,
        )

    # events ----------------------------------------------------------------------------

    def _events(
        self, plan: MeasurementPlan, tz: ZoneInfo, end: datetime
    ) -> Iterator[tuple[datetime, int, str]]:
        start = self.recording.start
        for due in due_times(plan, start, end):
            decided = due + plan.grace + timedelta(minutes=1)  # the sweep after the grace
            if decided < end:
                yield decided, _EventKind.SLOT, due.isoformat()
        moment = start + SILENT_CHECK_EVERY
        while moment < end:
            yield moment, _EventKind.SILENT_CHECK, ""
            moment += SILENT_CHECK_EVERY
        day: date = start.astimezone(tz).date()
        while (first := datetime.combine(day, time(0), tzinfo=tz)) < end:
            if day.weekday() < 5:
                for at in REVIEW_TIMES:
                    review = datetime.combine(day, at, tzinfo=tz)
                    if start <= review < end:
                        yield review, _EventKind.REVIEW, ""
            day = first.date() + timedelta(days=1)

    def _handle_event(
        self,
        event: tuple[datetime, int, str],
        citizens: dict[str, _Citizen],
        plan: MeasurementPlan,
    ) -> None:
        at, kind, detail = event
        if kind == _EventKind.REVIEW:
            self._review(at)
        elif kind == _EventKind.SLOT:
            due = datetime.fromisoformat(detail)
            for citizen in citizens.values():
                self._decide_slot(citizen, due, at, plan)
        else:
            since = self.recording.start
            for citizen in citizens.values():
                if tablet_is_silent(citizen.last_seen, since=since, now=at, threshold=SILENT_AFTER):
                    self._raise(
                        citizen.device_id, at, AlertKind.SILENT_DEVICE, Severity.GREEN, SILENT_RULE
                    )
                else:
                    self._auto_resolve(citizen.device_id, at, SILENT_RULE)

    def _decide_slot(
        self, citizen: _Citizen, due: datetime, at: datetime, plan: MeasurementPlan
    ) -> None:
        """The sweep after the slot's grace: met, or missed and then what the policy says
        (a reminder on the tablet; a blue task only after a run of misses or a recent
        yellow/red), as the alerts service's sweep does it."""
        status = decide_slot(
            due, grace=plan.grace, now=at, submissions=citizen.submissions, pauses=()
        )
        slot = DecidedSlot(due, status)
        citizen.slots.append(slot)
        if status is not SlotStatus.MISSED:
            return
        horizon = at - timedelta(days=15)
        citizen.slots = [s for s in citizen.slots if s.due_at >= horizon]
        citizen.recent_alerts[:] = [a for a in citizen.recent_alerts if a.at >= horizon]
        decision = decide_missed_slot(
            slot,
            history=citizen.slots,
            last_submission_at=max((s for s in citizen.submissions if s <= at), default=None),
            recent_alerts=citizen.recent_alerts,
            policy=self.missed_policy,
            zone=plan.zone,
            now=at,
        )
        if decision.remind:
            self.reminders.append(SentReminder(citizen.device_id, at, due))
        if decision.task:
            self._raise(
                citizen.device_id, at, AlertKind.MISSED_MEASUREMENT, Severity.GREEN, MISSED_RULE
            )

    def _raise(
        self, device_id: str, at: datetime, kind: AlertKind, severity: Severity, rule: str
    ) -> None:
        """One open alert per citizen and concern (``rule``): a repeat while open is not new
        work."""
        if kind is AlertKind.READING and device_id in self._recent:
            self._recent[device_id].append(RecentAlert(at, severity))
        breach = Breach(
            citizen_id=uuid.uuid5(_NAMESPACE, device_id),
            care_team_id=_TEAM,
            kind=kind,
            rule_key=rule,
            severity=severity,
            observed_at=at,
        )
        transition = raise_or_repeat(
            self._alerts.get((device_id, rule)), breach, now=at, policy=_POLICY
        )
        self._alerts[(device_id, rule)] = transition.state
        if transition.event in _RAISED:
            self.alerts.append(RaisedAlert(device_id, at, kind, severity, rule))

    def _auto_resolve(self, device_id: str, at: datetime, rule: str) -> None:
        state = self._alerts.get((device_id, rule))
        if state is not None and not state.is_resolved:
            self._alerts[(device_id, rule)] = auto_resolve(state, now=at).state

    def _review(self, at: datetime) -> None:
        for key, state in self._alerts.items():
            if not state.is_resolved:
                resolved = resolve(
                    state, actor_id=_NURSE, now=at, outcome=REVIEW_OUTCOME, note=None
                )
                self._alerts[key] = resolved.state

    # messages --------------------------------------------------------------------------

    def _handle_message(self, message: RecordedMessage, citizen: _Citizen) -> None:
        received = message.received_at
        citizen.last_seen = received
        result = self.check(message)
        if isinstance(result, Rejection):
            self.rejected += 1
            self.rejections.append((message, result))
            return
        if isinstance(result, MeasurementSubmission):
            for observation in result.observations:
                facts = ReadingFacts(
                    observation.type.value, observation.value, observation.measured_at
                )
                history = citizen.history.setdefault(facts.type, [])
                verdict = triage_reading(
                    facts,
                    self._rules(citizen, received),
                    baselines=citizen.baselines or {},
                    history=citizen.history,  # every type: combinations look at partners
                )
                history.append(TimedValue(facts.measured_at, facts.value))
                citizen.submissions.append(facts.measured_at)
                self._record(citizen, received, verdict, late=observation.late, questionnaire=False)
        elif isinstance(result, QuestionnaireSubmission):
            answers = {answer.item: answer.value for answer in result.answers}
            for item, value in answers.items():  # earlier sheets, by item id (yes/no: 1/0)
                if isinstance(value, (int, float)):
                    citizen.history.setdefault(item, []).append(
                        TimedValue(result.answered_at, float(value))
                    )
            verdict = triage_response(
                result.questionnaire,
                answers,
                self._rules(citizen, received),
                baselines=citizen.baselines or {},
                answered_at=result.answered_at,
                history=citizen.history,
            )
            citizen.submissions.append(result.answered_at)
            self._record(citizen, received, verdict, late=result.late, questionnaire=True)

    def _rules(self, citizen: _Citizen, now: datetime) -> RuleSet:
        """The rule set in force: the starting configuration during the run-in, then the
        citizen's (possibly personalised) one with the run-in baselines."""
        run_in_end = self.recording.start + timedelta(days=self.recording.run_in_days)
        if citizen.rules is not None:
            return citizen.rules
        known = self.recording.baselines
        if known is not None:  # the baselines in force (a stored history): no run-in here
            citizen.baselines = dict(known.get(citizen.device_id, {}))
            citizen.rules = self.rules_for(citizen.device_id, citizen.baselines)
            return citizen.rules
        default = self.rules_for(citizen.device_id, {})
        if now < run_in_end:
            return default
        baselines: dict[str, float] = {}
        for type_ in baseline_types(default):
            value = run_in_baseline(
                type_,
                citizen.history.get(type_, []),
                monitoring_started_at=self.recording.start,
                days=self.recording.run_in_days,
            )
            if value is not None:
                baselines[type_] = value
        citizen.baselines = baselines
        citizen.rules = self.rules_for(citizen.device_id, baselines)
        return citizen.rules

    def _record(
        self,
        citizen: _Citizen,
        received: datetime,
        verdict: Triage,
        *,
        late: bool,
        questionnaire: bool,
    ) -> None:
        self.triaged.append(
            TriagedItem(
                citizen.device_id,
                received,
                verdict.task_severity,
                is_questionnaire=questionnaire,
                late=late,
                watched=verdict.watched,
            )
        )
        if late:
            return  # shown to the nurse as late, never raises or resolves an alarm
        for concern in verdict.concerns:  # rules that agree on the reading: one alert
            if concern.severity is not Severity.GREEN:
                self._raise(
                    citizen.device_id, received, concern.alert_kind, concern.severity, concern.key
                )
            elif concern.auto_resolve:
                self._auto_resolve(citizen.device_id, received, concern.key)
