"""A watch ("Holdes øje med") closes by itself once its signal has gone: no new breach of it
for a day while the citizen kept measuring. Through the one alert aggregate; pure."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pust.domain.alert_aggregate import AlertState, Breach, raise_or_repeat, settle_watch
from pust.domain.alert_lifecycle import WATCH_SETTLES_AFTER, EventKind, Outcome
from pust.domain.clock import FrozenClock
from pust.domain.routing import default_routing_policy
from pust.domain.severity import AlertKind, AlertStatus, Severity

CLOCK = FrozenClock(datetime(2026, 11, 23, 8, tzinfo=UTC))
NOW = CLOCK.now()
POLICY = default_routing_policy()


def _alert(kind: AlertKind = AlertKind.WATCH, at: datetime = NOW) -> tuple[Breach, AlertState]:
    breach = Breach(
        citizen_id=uuid.uuid4(),
        care_team_id=uuid.uuid4(),
        kind=kind,
        rule_key="spo2.absolute.watch" if kind is AlertKind.WATCH else "spo2.*",
        severity=Severity.YELLOW,
        observed_at=at,
    )
    return breach, raise_or_repeat(None, breach, now=at, policy=POLICY).state


def test_a_watch_closes_after_a_quiet_day_of_normal_readings() -> None:
    _, watch = _alert()
    later = NOW + WATCH_SETTLES_AFTER
    settled = settle_watch(watch, now=later, heard_since=later - timedelta(hours=1))
    assert settled.state.status is AlertStatus.RESOLVED
    assert settled.state.outcome is Outcome.AUTO_RESOLVED
    assert settled.event is EventKind.AUTO_RESOLVED


def test_a_watch_stays_while_it_is_young_or_the_citizen_is_silent() -> None:
    _, watch = _alert()
    early = NOW + WATCH_SETTLES_AFTER - timedelta(minutes=1)
    assert not settle_watch(watch, now=early, heard_since=early).events
    later = NOW + timedelta(days=3)
    assert not settle_watch(watch, now=later, heard_since=None).events
    assert not settle_watch(watch, now=later, heard_since=NOW).events  # nothing since


def test_a_task_is_never_settled_and_the_signal_back_reopens_the_watch() -> None:
    _, task = _alert(AlertKind.READING)
    later = NOW + timedelta(days=3)
    assert not settle_watch(task, now=later, heard_since=later).events
    breach, watch = _alert()
    at = NOW + WATCH_SETTLES_AFTER
    settled = settle_watch(watch, now=at, heard_since=at).state
    again = raise_or_repeat(settled, replace(breach, observed_at=at), now=at, policy=POLICY)
    assert again.event is EventKind.REOPENED and again.state.id == watch.id
