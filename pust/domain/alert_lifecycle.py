"""The alert state machine: what may happen to an alert, and what happens on a repeat.

States: ``open`` → ``acknowledged`` (a nurse has reviewed it, "kvitteret") → ``resolved``
(with an outcome and a note). A nurse may *claim* an open alert ("I am on it") before
acknowledging it; ack and resolve are separate actions, and resolving an open alert
acknowledges it implicitly.

Re-open policy (explicit):

* Rules that agree on one reading (the same citizen and *concern*: by default the clinical
  rules on one measurement type, see :meth:`pust.domain.limits.RuleSet.concern_of`) share
  one alert: a second rule broken by the same reading is *merged* into it (its reasons
  added, the worst severity kept; not a new breach), and a later breach of any of them
  repeats it. Below, "rule" means concern.
* A repeat (same citizen and rule) while the alert is open or acknowledged updates it:
  count, last value, last time, highest severity. If an *acknowledged* alert repeats with a
  severity worse than the one the nurse acknowledged, it goes back to ``open`` (the nurse
  acknowledged yellow; red is news). A repeat at the same or a milder severity stays
  acknowledged.
* After a *nurse* resolved an alert, a new breach opens a *new* alert (a new episode).
* After the system auto-resolved an alert (readings back to normal), a new breach within
  :data:`AUTO_RESOLVE_REOPEN_WINDOW` re-opens that alert instead (a flapping value is one
  problem, not many rows).
* A nurse may re-open a resolved alert by hand, unless another alert for the same citizen
  and rule is open meanwhile.
* A *watch* (a signal shown on the citizen's page, not a task) closes by itself once its
  signal has gone: no breach of it for :data:`WATCH_SETTLES_AFTER` while the citizen has
  measured or answered since (so the quiet is normal readings or a sheet without the
  symptom, not a silent tablet). It is an auto-resolution: the same signal within
  :data:`AUTO_RESOLVE_REOPEN_WINDOW` re-opens it.

This module is the vocabulary (event kinds, outcomes, errors); the transitions themselves
are :mod:`pust.domain.alert_aggregate`'s, the one place an alert changes state.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum

from pust.domain.severity import AlertStatus

AUTO_RESOLVE_REOPEN_WINDOW = timedelta(hours=24)
# a watch without a new breach for this long, while the citizen keeps measuring, has settled
WATCH_SETTLES_AFTER = timedelta(hours=24)


class EventKind(StrEnum):
    OPENED = "opened"
    REPEATED = "repeated"
    MERGED = "merged"  # another rule of the same concern, broken by the same reading
    CLAIMED = "claimed"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    AUTO_RESOLVED = "auto_resolved"
    REOPENED = "reopened"
    ESCALATED = "escalated"
    ROUTED_OUT_OF_HOURS = "routed_out_of_hours"


class Outcome(StrEnum):
    """Why an alert was resolved."""

    CONTACTED_CITIZEN = "contacted_citizen"
    NO_ACTION_NEEDED = "no_action_needed"
    REFERRED_TO_GP = "referred_to_gp"
    ADMITTED = "admitted"
    MEASUREMENT_ERROR = "measurement_error"
    OTHER = "other"
    AUTO_RESOLVED = "auto_resolved"  # system only: the readings returned to normal


class AlertError(Exception):
    """Base of every error a caller of the alert actions may see."""


class AlertNotFoundError(AlertError):
    def __init__(self, alert_id: uuid.UUID) -> None:
        super().__init__(f"alert {alert_id} does not exist")
        self.alert_id = alert_id


class StaleAlertError(AlertError):
    """Someone else changed the alert since the caller read it (optimistic concurrency):
    reload and decide again."""

    def __init__(self, alert_id: uuid.UUID, expected_version: int, actual_version: int) -> None:
        super().__init__(
            f"alert {alert_id} was changed by someone else "
            f"(expected version {expected_version}, now {actual_version})"
        )
        self.alert_id = alert_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class InvalidTransitionError(AlertError):
    def __init__(self, action: str, status: AlertStatus, why: str = "") -> None:
        detail = f": {why}" if why else ""
        super().__init__(f"cannot {action} an alert that is {status.value}{detail}")
        self.action = action
        self.status = status


class AlreadyClaimedError(AlertError):
    def __init__(self, claimed_by: uuid.UUID) -> None:
        super().__init__(f"the alert is already claimed by staff {claimed_by}")
        self.claimed_by = claimed_by


class AlreadyOpenError(AlertError):
    """Re-opening would make a second open alert for the same citizen and rule."""


def open_key(citizen_id: uuid.UUID, concern: str) -> str:
    """The value that the database keeps unique among not-resolved alerts: one open alert
    per citizen and concern (a rule's key, or the key of the merge group it belongs to)."""
    return f"{citizen_id}:{concern}"
