import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pust.domain.alert_lifecycle import (
    AlertSnapshot,
    AlreadyClaimedError,
    InvalidTransitionError,
    Outcome,
    check_acknowledge,
    check_claim,
    check_reopen,
    check_resolve,
    on_repeat,
    reopens_after_resolution,
)
from pust.domain.severity import AlertStatus, Severity

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
A, B = uuid.uuid4(), uuid.uuid4()


def snap(status: AlertStatus, severity: Severity = Severity.YELLOW, **kw: object) -> AlertSnapshot:
    return AlertSnapshot(status=status, severity=severity, **kw)  # type: ignore[arg-type]


def test_claim_rules() -> None:
    check_claim(snap(AlertStatus.OPEN), actor_id=A, take_over=False)
    check_claim(snap(AlertStatus.OPEN, claimed_by=A), actor_id=A, take_over=False)
    with pytest.raises(AlreadyClaimedError):
        check_claim(snap(AlertStatus.OPEN, claimed_by=A), actor_id=B, take_over=False)
    check_claim(snap(AlertStatus.OPEN, claimed_by=A), actor_id=B, take_over=True)
    with pytest.raises(InvalidTransitionError):
        check_claim(snap(AlertStatus.RESOLVED), actor_id=A, take_over=False)


def test_acknowledge_resolve_reopen_rules() -> None:
    check_acknowledge(snap(AlertStatus.OPEN))
    for status in (AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED):
        with pytest.raises(InvalidTransitionError):
            check_acknowledge(snap(status))
    check_resolve(snap(AlertStatus.OPEN), outcome=Outcome.OTHER)
    check_resolve(snap(AlertStatus.ACKNOWLEDGED), outcome=Outcome.OTHER)
    with pytest.raises(InvalidTransitionError):
        check_resolve(snap(AlertStatus.RESOLVED), outcome=Outcome.OTHER)
    with pytest.raises(InvalidTransitionError, match="for the system"):
        check_resolve(snap(AlertStatus.OPEN), outcome=Outcome.AUTO_RESOLVED)
    check_reopen(snap(AlertStatus.RESOLVED))
    with pytest.raises(InvalidTransitionError):
        check_reopen(snap(AlertStatus.OPEN))


@pytest.mark.parametrize(
    ("status", "held", "new", "worst", "back"),
    [
        (AlertStatus.OPEN, Severity.YELLOW, Severity.RED, Severity.RED, False),
        (AlertStatus.OPEN, Severity.RED, Severity.YELLOW, Severity.RED, False),
        (AlertStatus.ACKNOWLEDGED, Severity.YELLOW, Severity.RED, Severity.RED, True),
        (AlertStatus.ACKNOWLEDGED, Severity.YELLOW, Severity.YELLOW, Severity.YELLOW, False),
        (AlertStatus.ACKNOWLEDGED, Severity.RED, Severity.YELLOW, Severity.RED, False),
    ],
)
def test_repeat_keeps_highest_severity_and_reopens_only_when_worse(
    status: AlertStatus, held: Severity, new: Severity, worst: Severity, back: bool
) -> None:
    decision = on_repeat(snap(status, held), new)
    assert (decision.severity, decision.back_to_open) == (worst, back)


def test_only_recent_auto_resolution_reopens() -> None:
    auto = snap(AlertStatus.RESOLVED, resolved_at=NOW, outcome="auto_resolved")
    assert reopens_after_resolution(auto, now=NOW + timedelta(hours=23))
    assert not reopens_after_resolution(auto, now=NOW + timedelta(hours=25))
    nurse = snap(AlertStatus.RESOLVED, resolved_at=NOW, outcome="contacted_citizen")
    assert not reopens_after_resolution(nurse, now=NOW + timedelta(minutes=1))
