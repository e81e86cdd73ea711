"""Random sequences of nurse actions and repeats: the state machine never lets an alert
skip a state, severity never drops while it is not resolved, and a worse repeat always
brings an acknowledged alert back in front of the nurse."""

import uuid
from dataclasses import replace

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pust.domain.alert_lifecycle import (
    AlertError,
    AlertSnapshot,
    Outcome,
    check_acknowledge,
    check_claim,
    check_resolve,
    on_repeat,
)
from pust.domain.severity import AlertStatus, Severity

NURSES = [uuid.UUID(int=1), uuid.UUID(int=2)]
severities = st.sampled_from([Severity.YELLOW, Severity.RED])


class AlertMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.alert = AlertSnapshot(status=AlertStatus.OPEN, severity=Severity.YELLOW)
        self.highest = Severity.YELLOW

    @rule(nurse=st.sampled_from(NURSES), take_over=st.booleans())
    def claim(self, nurse: uuid.UUID, take_over: bool) -> None:
        try:
            check_claim(self.alert, actor_id=nurse, take_over=take_over)
        except AlertError:
            assert self.alert.status is not AlertStatus.OPEN or (
                self.alert.claimed_by not in (None, nurse) and not take_over
            )
            return
        self.alert = replace(self.alert, claimed_by=nurse)

    @rule()
    def acknowledge(self) -> None:
        try:
            check_acknowledge(self.alert)
        except AlertError:
            assert self.alert.status is not AlertStatus.OPEN
            return
        self.alert = replace(self.alert, status=AlertStatus.ACKNOWLEDGED)

    @rule()
    def resolve(self) -> None:
        try:
            check_resolve(self.alert, outcome=Outcome.CONTACTED_CITIZEN)
        except AlertError:
            assert self.alert.status is AlertStatus.RESOLVED
            return
        self.alert = replace(self.alert, status=AlertStatus.RESOLVED)

    @rule(severity=severities)
    def repeat(self, severity: Severity) -> None:
        if self.alert.status is AlertStatus.RESOLVED:
            return
        before = self.alert
        decision = on_repeat(before, severity)
        assert decision.severity.rank >= before.severity.rank
        if before.status is AlertStatus.ACKNOWLEDGED and severity.rank > before.severity.rank:
            assert decision.back_to_open
        status = AlertStatus.OPEN if decision.back_to_open else before.status
        self.alert = replace(before, severity=decision.severity, status=status)
        self.highest = Severity.worst(self.highest, severity)

    @invariant()
    def severity_is_the_highest_seen(self) -> None:
        assert self.alert.severity is self.highest


TestAlertMachine = AlertMachine.TestCase
