"""The alert aggregate: the one place where an alert changes state.

An :class:`AlertState` is immutable. Each action is a function from a state (and what it
needs to know: the routing policy, the time, the nurse) to a :class:`Transition`: the new
state and the events that record the change. A change without an event does not exist;
an action that changes nothing (the same reading seen twice, a nurse claiming her own
claim again) returns the state unchanged and no events. Invalid actions raise the errors
of :mod:`pust.domain.alert_lifecycle`.

The alerts service (through :mod:`pust.db.alert_raising` and
:mod:`pust.db.alert_repository`), the API and the evaluation (``pust evaluate``) all drive
these functions; the values are :mod:`pust.domain.alert_state`'s, and
:mod:`pust.db.alert_state_rows` maps a state to its table row and back.

States and the re-open policy are described in :mod:`pust.domain.alert_lifecycle`. Both
ways back to ``open`` from ``resolved`` (a nurse re-opens by hand; the system re-opens an
auto-resolved alert on a new breach) go through :func:`_back_to_open`, which clears the
resolution *and* the acknowledgement: a re-opened alert is news to the nurse.

One alert per citizen and *concern*: rules that agree on one reading (by default the
clinical rules on one measurement type) share an alert. Triage already hands over one
breach per concern and reading, with every broken rule's reason; should a second breach of
the same concern for the same reading arrive anyway, :func:`raise_or_repeat` *merges* it
(its rules' reasons join, the worst severity is kept, the count is not raised) instead of
dropping it as a reading seen twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pust.domain.alert_lifecycle import (
    AUTO_RESOLVE_REOPEN_WINDOW,
    WATCH_SETTLES_AFTER,
    AlreadyClaimedError,
    AlreadyOpenError,
    EventKind,
    InvalidTransitionError,
    Outcome,
)
from pust.domain.alert_state import AlertState, Breach, Escalation, LifecycleEvent, Transition
from pust.domain.routing import (
    RoutingPolicy,
    first_escalation_at,
    following_escalation_at,
    ladder_key,
    step_at,
)
from pust.domain.severity import AlertKind, AlertStatus, Severity

__all__ = [
    "AlertState",
    "Breach",
    "Escalation",
    "LifecycleEvent",
    "Transition",
    "acknowledge",
    "auto_resolve",
    "claim",
    "escalate",
    "open_alert",
    "raise_or_repeat",
    "reopen",
    "reopens_after_resolution",
    "resolve",
    "settle_watch",
]


def _unchanged(state: AlertState) -> Transition:
    return Transition(state)


def _touched(state: AlertState, now: datetime, **changes: Any) -> AlertState:
    return replace(state, lock_version=state.lock_version + 1, updated_at=now, **changes)


def _scheduled(state: AlertState, policy: RoutingPolicy, *, start: datetime) -> AlertState:
    ladder = ladder_key(state.kind, state.severity)
    return replace(
        state,
        escalation_level=0,
        next_escalation_at=first_escalation_at(policy, ladder=ladder, opened_at=start),
    )


def _breach_detail(breach: Breach) -> dict[str, Any]:
    detail: dict[str, Any] = {"severity": breach.severity.value}
    if breach.reading_id is not None:
        detail["reading_id"] = breach.reading_id
    if breach.response_id is not None:
        detail["response_id"] = breach.response_id
    return detail


def _with_latest(state: AlertState, breach: Breach) -> AlertState:
    """The breach's reading becomes the alert's latest one unless it is older."""
    if breach.observed_at < state.last_seen_at:
        return state
    return replace(
        state,
        last_seen_at=breach.observed_at,
        last_value=breach.value,
        last_reading_id=breach.reading_id,
        last_response_id=breach.response_id,
        reasons=tuple(breach.reasons),
        limit_set_id=breach.limit_set_id,
    )


def _already_counted(state: AlertState, breach: Breach) -> bool:
    if breach.reading_id is not None:
        return state.last_reading_id == breach.reading_id
    if breach.response_id is not None:
        return state.last_response_id == breach.response_id
    return False


def _back_to_open(state: AlertState, policy: RoutingPolicy, *, now: datetime) -> AlertState:
    """Resolved or acknowledged → open: whatever a nurse did since it opened is undone, and
    the escalation clock starts again."""
    reopened = replace(
        state,
        status=AlertStatus.OPEN,
        acknowledged_by=None,
        acknowledged_at=None,
        acknowledge_note=None,
        resolved_by=None,
        resolved_at=None,
        outcome=None,
        resolve_note=None,
    )
    return _scheduled(reopened, policy, start=now)


# the system ------------------------------------------------------------------------------


def open_alert(
    breach: Breach, *, now: datetime, policy: RoutingPolicy, alert_id: uuid.UUID | None = None
) -> Transition:
    state = AlertState(
        id=alert_id or uuid.uuid4(),
        citizen_id=breach.citizen_id,
        care_team_id=breach.care_team_id,
        device_id=breach.device_id,
        kind=breach.kind,
        rule_key=breach.rule_key,
        concern=breach.concern,
        severity=breach.severity,
        status=AlertStatus.OPEN,
        first_seen_at=breach.observed_at,
        last_seen_at=breach.observed_at,
        last_value=breach.value,
        last_reading_id=breach.reading_id,
        last_response_id=breach.response_id,
        reasons=tuple(breach.reasons),
        limit_set_id=breach.limit_set_id,
        updated_at=now,
    )
    state = _scheduled(state, policy, start=now)
    return Transition(state, (LifecycleEvent(EventKind.OPENED, now, None, _breach_detail(breach)),))


def reopens_after_resolution(state: AlertState, *, now: datetime) -> bool:
    """Does a new breach re-open this resolved alert (instead of opening a new one)? Only
    a recent auto-resolution does: a flapping value is one problem, not many rows."""
    if not state.is_resolved or state.resolved_at is None:
        return False
    if state.outcome is not Outcome.AUTO_RESOLVED:
        return False
    return now - state.resolved_at <= AUTO_RESOLVE_REOPEN_WINDOW


def raise_or_repeat(
    latest: AlertState | None,
    breach: Breach,
    *,
    now: datetime,
    policy: RoutingPolicy,
    new_id: uuid.UUID | None = None,
) -> Transition:
    """A breach for a citizen and concern. ``latest``: the not-resolved alert for them,
    else the most recently resolved one, else None.

    Repeats the open alert, re-opens a recently auto-resolved one, or opens a new alert (a
    state whose id is not ``latest``'s). The same reading or response seen twice changes
    nothing; the same reading breaking another rule of the concern is merged."""
    if latest is None or (latest.is_resolved and not reopens_after_resolution(latest, now=now)):
        return open_alert(breach, now=now, policy=policy, alert_id=new_id)
    if latest.is_resolved:
        # a new episode of the same problem: its severity is the new breach's
        state = replace(latest, severity=breach.severity, count=latest.count + 1)
        state = _with_latest(_back_to_open(state, policy, now=now), breach)
        event = LifecycleEvent(EventKind.REOPENED, now, None, _breach_detail(breach))
        return Transition(_touched(state, now), (event,))
    return _repeat(latest, breach, now=now, policy=policy)


def _got_worse(state: AlertState, worst: Severity) -> bool:
    return state.status is AlertStatus.OPEN and worst.rank > state.severity.rank


def _repeat(
    state: AlertState, breach: Breach, *, now: datetime, policy: RoutingPolicy
) -> Transition:
    if _already_counted(state, breach):
        return _merge(state, breach, now=now, policy=policy)
    worst = Severity.worst(state.severity, breach.severity)
    # ``state.severity`` is the worst seen so far, so while acknowledged it is at least what
    # the nurse saw: anything above it is news to her.
    back = state.status is AlertStatus.ACKNOWLEDGED and breach.severity.rank > state.severity.rank
    new = _with_latest(replace(state, severity=worst, count=state.count + 1), breach)
    kind = EventKind.REPEATED
    if back:
        new = _back_to_open(new, policy, now=now)
        kind = EventKind.REOPENED
    elif _got_worse(state, worst) and new.escalation_level == 0:
        # a worse severity may have a faster ladder (red after yellow)
        new = _scheduled(new, policy, start=new.first_seen_at)
    detail = _breach_detail(breach) | {"count": new.count}
    return Transition(_touched(new, now), (LifecycleEvent(kind, now, None, detail),))


def _rules_of(reasons: Sequence[Mapping[str, Any]], default: str) -> list[str]:
    return list(dict.fromkeys(str(r.get("rule") or default) for r in reasons)) or [default]


def _worst_first(reasons: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    known = {severity.value: severity.rank for severity in Severity}

    def rank(reason: Mapping[str, Any]) -> int:
        # a reason without a colour (a rule that failed) is possibly serious: first
        return -known.get(str(reason.get("severity")), len(known))

    return tuple(sorted(reasons, key=rank))  # stable: equal severities keep their order


def _merge(
    state: AlertState, breach: Breach, *, now: datetime, policy: RoutingPolicy
) -> Transition:
    """The reading the alert last counted broke another rule of its concern: that rule's
    reasons join the alert's (worst first) and the worst severity is kept; it is not a new
    breach (the count stays). The same rules seen again change nothing. Worse than what a
    nurse acknowledged re-opens it, as a repeat would."""
    known = set(state.rules)
    added = [rule for rule in _rules_of(breach.reasons, breach.rule_key) if rule not in known]
    if not added:
        return _unchanged(state)
    new_reasons = [
        dict(r) for r in breach.reasons if str(r.get("rule") or breach.rule_key) in added
    ]
    if not new_reasons:  # a breach without reasons still names its rule
        new_reasons = [{"rule": breach.rule_key, "severity": breach.severity.value}]
    worst = Severity.worst(state.severity, breach.severity)
    new = replace(state, severity=worst, reasons=_worst_first([*state.reasons, *new_reasons]))
    detail = _breach_detail(breach) | {"merged": added}
    kind = EventKind.MERGED
    if state.status is AlertStatus.ACKNOWLEDGED and breach.severity.rank > state.severity.rank:
        new = _back_to_open(new, policy, now=now)
        kind = EventKind.REOPENED
    elif _got_worse(state, worst) and new.escalation_level == 0:
        new = _scheduled(new, policy, start=new.first_seen_at)
    return Transition(_touched(new, now), (LifecycleEvent(kind, now, None, detail),))


def auto_resolve(
    state: AlertState,
    *,
    now: datetime,
    observed_at: datetime | None = None,
    detail: Mapping[str, Any] | None = None,
) -> Transition:
    """The readings are back to normal (the tablet is heard from again). With
    ``observed_at``, a normal value older than the alert's last breach resolves nothing."""
    if state.is_resolved:
        raise InvalidTransitionError("auto-resolve", state.status)
    if observed_at is not None and observed_at < state.last_seen_at:
        return _unchanged(state)
    closed = _closed(state, outcome=Outcome.AUTO_RESOLVED, actor_id=None, note=None, now=now)
    return Transition(closed, (LifecycleEvent(EventKind.AUTO_RESOLVED, now, None, detail or {}),))


def settle_watch(
    state: AlertState,
    *,
    now: datetime,
    heard_since: datetime | None,
    quiet_for: timedelta = WATCH_SETTLES_AFTER,
) -> Transition:
    """A watch whose signal has gone closes by itself (an auto-resolution): no breach of it
    for ``quiet_for`` and the citizen measured or answered after its last breach
    (``heard_since``: the citizen's latest valid reading or sheet) — every later reading
    or sheet was within the citizen's limits. A task is never settled: a nurse closes it."""
    if state.kind is not AlertKind.WATCH or state.is_resolved:
        return _unchanged(state)
    if now - state.last_seen_at < quiet_for:
        return _unchanged(state)
    if heard_since is None or heard_since <= state.last_seen_at:
        return _unchanged(state)  # silence is not a normal reading
    hours = int((now - state.last_seen_at).total_seconds() // 3600)
    return auto_resolve(state, now=now, detail={"settled": True, "quiet_hours": hours})


def escalate(state: AlertState, *, now: datetime, policy: RoutingPolicy) -> Escalation:
    """Fire the escalation step that fell due. Escalation does not change ``lock_version``:
    a nurse acknowledging meanwhile is not acting on a stale screen."""
    due_at = state.next_escalation_at
    if state.status is not AlertStatus.OPEN or due_at is None or due_at > now:
        return Escalation(_unchanged(state), None)
    ladder = ladder_key(state.kind, state.severity)
    level = state.escalation_level
    step = step_at(policy, ladder=ladder, level=level)
    if step is None:  # the policy changed: nothing more to climb
        return Escalation(_unchanged(replace(state, next_escalation_at=None)), None)
    new = replace(
        state,
        escalation_level=level + 1,
        next_escalation_at=following_escalation_at(
            policy, ladder=ladder, level=level + 1, previous_due=due_at
        ),
    )
    detail = {
        "level": level + 1,
        "step": step.name,
        "recipients": len(step.recipients),
        "due_at": due_at.isoformat(),
    }
    event = LifecycleEvent(EventKind.ESCALATED, now, None, detail)
    return Escalation(Transition(new, (event,)), step)


# nurses ----------------------------------------------------------------------------------


def claim(
    state: AlertState, *, actor_id: uuid.UUID, now: datetime, take_over: bool = False
) -> Transition:
    """A nurse takes an open alert ("I am on it"). Taking someone else's claim needs
    ``take_over``; claiming one's own again changes nothing."""
    if state.status is not AlertStatus.OPEN:
        raise InvalidTransitionError("claim", state.status)
    previous = state.claimed_by
    if previous == actor_id:
        return _unchanged(state)
    if previous is not None and not take_over:
        raise AlreadyClaimedError(previous)
    new = _touched(state, now, claimed_by=actor_id, claimed_at=now)
    detail = {"taken_over_from": str(previous)} if previous else {}
    return Transition(new, (LifecycleEvent(EventKind.CLAIMED, now, actor_id, detail),))


def acknowledge(
    state: AlertState, *, actor_id: uuid.UUID, now: datetime, note: str | None = None
) -> Transition:
    """The nurse has reviewed the alert ("kvitteret"); escalation stops."""
    if state.status is not AlertStatus.OPEN:
        raise InvalidTransitionError("acknowledge", state.status)
    claimed = (state.claimed_by, state.claimed_at)
    if state.claimed_by is None:
        claimed = (actor_id, now)
    new = _touched(
        state,
        now,
        status=AlertStatus.ACKNOWLEDGED,
        acknowledged_by=actor_id,
        acknowledged_at=now,
        acknowledge_note=note,
        claimed_by=claimed[0],
        claimed_at=claimed[1],
        next_escalation_at=None,
    )
    detail = {"severity": state.severity.value, "with_note": note is not None}
    return Transition(new, (LifecycleEvent(EventKind.ACKNOWLEDGED, now, actor_id, detail),))


def resolve(
    state: AlertState, *, actor_id: uuid.UUID, now: datetime, outcome: Outcome, note: str | None
) -> Transition:
    """Close the alert with the nurse's outcome (an open alert is acknowledged by the same
    act). There is no default outcome: the nurse names one."""
    if state.is_resolved:
        raise InvalidTransitionError("resolve", state.status)
    if outcome is Outcome.AUTO_RESOLVED:
        raise InvalidTransitionError("resolve", state.status, "auto_resolved is for the system")
    if state.status is AlertStatus.OPEN:
        state = replace(state, acknowledged_by=actor_id, acknowledged_at=now)
    closed = _closed(state, outcome=outcome, actor_id=actor_id, note=note, now=now)
    detail = {"outcome": outcome.value, "with_note": note is not None}
    return Transition(closed, (LifecycleEvent(EventKind.RESOLVED, now, actor_id, detail),))


def reopen(
    state: AlertState,
    *,
    actor_id: uuid.UUID,
    now: datetime,
    reason: str,
    policy: RoutingPolicy,
    another_is_open: bool,
) -> Transition:
    """A nurse re-opens a resolved alert by hand, unless another alert for the same citizen
    and concern is open meanwhile (``another_is_open``: the caller looked)."""
    if not state.is_resolved:
        raise InvalidTransitionError("reopen", state.status)
    if another_is_open:
        raise AlreadyOpenError(
            f"another alert for {state.concern} is open for this citizen; use that one"
        )
    new = _touched(_back_to_open(state, policy, now=now), now)
    event = LifecycleEvent(EventKind.REOPENED, now, actor_id, {"reason": reason})
    return Transition(new, (event,))


def _closed(
    state: AlertState,
    *,
    outcome: Outcome,
    actor_id: uuid.UUID | None,
    note: str | None,
    now: datetime,
) -> AlertState:
    return _touched(
        state,
        now,
        status=AlertStatus.RESOLVED,
        resolved_by=actor_id,
        resolved_at=now,
        outcome=outcome,
        resolve_note=note,
        next_escalation_at=None,
    )
