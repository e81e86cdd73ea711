"""Random sequences of what happens to a citizen's alerts — breaches, normal values, nurses
claiming, acknowledging, resolving and re-opening, escalation sweeps, time passing — driven
through the alert aggregate as the alerts service and the API drive it. After every step:

* at most one not-resolved alert per citizen and concern (two SpO2 rules share one: a
  reading that breaks both is one alert carrying both rules' reasons);
* a not-resolved alert carries an acknowledgement only if a nurse acknowledged it since it
  (re-)opened;
* every transition is an event: each alert's status, claim, acknowledgement, resolution,
  count and escalation level follow from its event log alone;
* a resolved alert says who resolved it, when, and the outcome that was given (the system's
  only outcome is ``auto_resolved``; no other outcome appears that nobody chose).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pust.domain import alert_aggregate as agg
from pust.domain.alert_aggregate import AlertState, Breach, LifecycleEvent, Transition
from pust.domain.alert_lifecycle import AlertError, EventKind, Outcome
from pust.domain.routing import EscalationStep, Recipient, RoutingPolicy
from pust.domain.severity import AlertKind, AlertStatus, Severity

START = datetime(2026, 11, 23, 7, tzinfo=UTC)
CITIZEN, TEAM = uuid.UUID(int=10), uuid.UUID(int=20)
NURSES = [uuid.UUID(int=1), uuid.UUID(int=2)]
RULES = ["spo2.absolute", "spo2.baseline", "pulse.absolute"]


def concern(rule_key: str) -> str:
    """As the default rule set groups them: by measurement type."""
    return f"{rule_key.split('.', maxsplit=1)[0]}.*"


CONCERNS = sorted({concern(rule_key) for rule_key in RULES})
LEAD = Recipient(channel="email", address="lead@example.org")
POLICY = RoutingPolicy(
    opening_hours={},
    out_of_hours="queue",
    escalation={
        "yellow": (EscalationStep(name="lead", after_minutes=240, recipients=(LEAD,)),),
        "red": (
            EscalationStep(name="lead", after_minutes=30, recipients=(LEAD,)),
            EscalationStep(name="on call", after_minutes=90, recipients=(LEAD,)),
        ),
    },
)
NURSE_OUTCOMES = [o for o in Outcome if o is not Outcome.AUTO_RESOLVED]

rules = st.sampled_from(RULES)
nurses = st.sampled_from(NURSES)
severities = st.sampled_from([Severity.YELLOW, Severity.RED])


class AlertsOfOneCitizen(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.alerts: dict[uuid.UUID, AlertState] = {}  # every alert ever, in opening order
        self.log: dict[uuid.UUID, list[LifecycleEvent]] = {}
        self.reading = 0

    # helpers -----------------------------------------------------------------------------

    def _latest(self, rule_key: str) -> AlertState | None:
        """What the repository hands the aggregate: the not-resolved alert of the rule's
        concern, else the most recently resolved one."""
        mine = [a for a in self.alerts.values() if a.concern == concern(rule_key)]
        current = [a for a in mine if not a.is_resolved]
        if current:
            return current[0]
        resolved = sorted(
            (a for a in mine if a.resolved_at is not None), key=lambda a: a.resolved_at or START
        )
        return resolved[-1] if resolved else None

    def _apply(self, before: AlertState | None, transition: Transition) -> None:
        after = transition.state
        if not transition.events:
            assert before is not None and after == before, "a change without an event"
            return
        for event in transition.events:
            assert event.at == self.now
        self.alerts[after.id] = after
        self.log.setdefault(after.id, []).extend(transition.events)

    def _act(self, alert_id: uuid.UUID, action: str, nurse: uuid.UUID, **kw: object) -> None:
        before = self.alerts[alert_id]
        try:
            if action == "claim":
                transition = agg.claim(before, actor_id=nurse, now=self.now, **kw)  # type: ignore[arg-type]
            elif action == "acknowledge":
                transition = agg.acknowledge(before, actor_id=nurse, now=self.now, note="n")
            elif action == "resolve":
                transition = agg.resolve(before, actor_id=nurse, now=self.now, **kw)  # type: ignore[arg-type]
            else:
                transition = agg.reopen(
                    before,
                    actor_id=nurse,
                    now=self.now,
                    reason="r",
                    policy=POLICY,
                    another_is_open=any(
                        not a.is_resolved and a.concern == before.concern and a.id != before.id
                        for a in self.alerts.values()
                    ),
                )
        except AlertError:
            return  # refused: nothing changed
        self._apply(before, transition)

    # what happens ------------------------------------------------------------------------

    @rule(minutes=st.integers(min_value=1, max_value=26 * 60))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(rule_key=rules, severity=severities, again=st.booleans())
    def breach(self, rule_key: str, severity: Severity, again: bool) -> None:
        # a new reading; else the last one again: delivered a second time, or breaking
        # another rule of the same concern (merged into its alert)
        if not again:
            self.reading += 1
        latest = self._latest(rule_key)
        transition = agg.raise_or_repeat(
            latest,
            Breach(
                citizen_id=CITIZEN,
                care_team_id=TEAM,
                kind=AlertKind.READING,
                rule_key=rule_key,
                concern=concern(rule_key),
                severity=severity,
                observed_at=self.now,
                reasons=[{"rule": rule_key, "severity": severity.value}],
                reading_id=self.reading,
            ),
            now=self.now,
            policy=POLICY,
        )
        opened_new = latest is None or transition.state.id != latest.id
        self._apply(None if opened_new else latest, transition)

    @rule(rule_key=rules)
    def normal_value(self, rule_key: str) -> None:
        latest = self._latest(rule_key)
        if latest is None or latest.is_resolved:
            return
        self._apply(latest, agg.auto_resolve(latest, now=self.now, observed_at=self.now))

    @rule()
    def escalation_sweep(self) -> None:
        for alert in list(self.alerts.values()):
            self._apply(alert, agg.escalate(alert, now=self.now, policy=POLICY).transition)

    @rule(data=st.data(), nurse=nurses, take_over=st.booleans())
    def claim(self, data: st.DataObject, nurse: uuid.UUID, take_over: bool) -> None:
        if self.alerts:
            alert_id = data.draw(st.sampled_from(list(self.alerts)))
            self._act(alert_id, "claim", nurse, take_over=take_over)

    @rule(data=st.data(), nurse=nurses)
    def acknowledge(self, data: st.DataObject, nurse: uuid.UUID) -> None:
        if self.alerts:
            self._act(data.draw(st.sampled_from(list(self.alerts))), "acknowledge", nurse)

    @rule(data=st.data(), nurse=nurses, outcome=st.sampled_from(list(Outcome)))
    def resolve(self, data: st.DataObject, nurse: uuid.UUID, outcome: Outcome) -> None:
        if self.alerts:
            alert_id = data.draw(st.sampled_from(list(self.alerts)))
            self._act(alert_id, "resolve", nurse, outcome=outcome, note=None)

    @rule(data=st.data(), nurse=nurses)
    def reopen(self, data: st.DataObject, nurse: uuid.UUID) -> None:
        if self.alerts:
            self._act(data.draw(st.sampled_from(list(self.alerts))), "reopen", nurse)

    # invariants --------------------------------------------------------------------------

    @invariant()
    def one_open_alert_per_citizen_and_concern(self) -> None:
        for key in CONCERNS:
            current = [a for a in self.alerts.values() if a.concern == key]
            assert sum(not a.is_resolved for a in current) <= 1
            assert all(concern(rule) == key for a in current for rule in a.rules)

    @invariant()
    def the_severity_is_at_least_every_reason_of_the_last_breach(self) -> None:
        for alert in self.alerts.values():
            colours = [Severity(r["severity"]) for r in alert.reasons]
            assert alert.severity.rank >= Severity.worst(*colours).rank

    @invariant()
    def acknowledged_only_if_acknowledged_since_it_opened(self) -> None:
        for alert_id, alert in self.alerts.items():
            if alert.is_resolved:
                continue
            since_open = _since_last_opening(self.log[alert_id])
            acked = [e for e in since_open if e.kind is EventKind.ACKNOWLEDGED]
            if alert.acknowledged_by is None:
                assert not acked and alert.acknowledged_at is None
                assert alert.status is AlertStatus.OPEN
            else:
                assert acked and acked[-1].actor_id == alert.acknowledged_by
                assert alert.acknowledged_at == acked[-1].at
                assert alert.status is AlertStatus.ACKNOWLEDGED

    @invariant()
    def every_transition_is_an_event(self) -> None:
        for alert_id, alert in self.alerts.items():
            events = self.log[alert_id]
            assert events[0].kind is EventKind.OPENED
            assert sum(e.kind is EventKind.OPENED for e in events) == 1
            assert alert.status is _status_from(events)
            breaches = (EventKind.OPENED, EventKind.REPEATED)
            system_reopens = [
                e
                for e in events
                if e.kind is EventKind.REOPENED
                and "severity" in e.detail
                and "merged" not in e.detail  # the same reading: not a new breach
            ]
            assert alert.count == sum(e.kind in breaches for e in events) + len(system_reopens)
            claims = [e for e in events if e.kind is EventKind.CLAIMED]
            if claims:
                assert alert.claimed_by == claims[-1].actor_id
            elif alert.claimed_by is not None:  # taken by acknowledging or resolving unclaimed
                assert any(e.kind is EventKind.ACKNOWLEDGED for e in events)
            escalations = [e for e in _since_last_opening(events) if e.kind is EventKind.ESCALATED]
            assert alert.escalation_level == len(escalations)

    @invariant()
    def resolved_alerts_say_who_when_and_why(self) -> None:
        for alert_id, alert in self.alerts.items():
            if not alert.is_resolved:
                assert (alert.resolved_at, alert.resolved_by, alert.outcome) == (None,) * 3
                continue
            last = self.log[alert_id][-1]
            assert last.kind in (EventKind.RESOLVED, EventKind.AUTO_RESOLVED)
            assert alert.resolved_at == last.at
            assert alert.resolved_by == last.actor_id
            if last.kind is EventKind.AUTO_RESOLVED:
                assert (alert.outcome, alert.resolved_by) == (Outcome.AUTO_RESOLVED, None)
            else:
                assert alert.resolved_by in NURSES
                assert alert.outcome in NURSE_OUTCOMES
                assert alert.outcome is Outcome(last.detail["outcome"])


_STATUS_OF = {
    EventKind.OPENED: AlertStatus.OPEN,
    EventKind.REOPENED: AlertStatus.OPEN,
    EventKind.ACKNOWLEDGED: AlertStatus.ACKNOWLEDGED,
    EventKind.RESOLVED: AlertStatus.RESOLVED,
    EventKind.AUTO_RESOLVED: AlertStatus.RESOLVED,
}


def _status_from(events: list[LifecycleEvent]) -> AlertStatus:
    return [_STATUS_OF[e.kind] for e in events if e.kind in _STATUS_OF][-1]


def _since_last_opening(events: list[LifecycleEvent]) -> list[LifecycleEvent]:
    openings = [i for i, e in enumerate(events) if e.kind in (EventKind.OPENED, EventKind.REOPENED)]
    return events[openings[-1] + 1 :]


AlertsOfOneCitizen.TestCase.settings = settings(max_examples=300, stateful_step_count=40)
TestAlertsOfOneCitizen = AlertsOfOneCitizen.TestCase
