"""A message quarantined as ``internal_error`` (the backend, not the tablet, failed on it) is
a technical alert for the care team of the tablet's citizen, raised through the one alert
lifecycle (:func:`pust.db.alert_raising.raise_or_repeat`), in the quarantine's transaction.

It is also an operator matter: it is logged at ERROR with ids only, and counted
(``pust_ingest_outcomes_total`` and ``pust_ingest_rejections_total{code="internal_error"}``).
A tablet that is assigned to nobody has no care team to tell; the log line is all then.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from pust.db.alert_raising import Breach, raise_or_repeat
from pust.db.tables import Citizen, DeviceAssignment
from pust.domain.device_protocol import ErrorCode, Rejection
from pust.domain.severity import AlertKind, Severity

log = logging.getLogger(__name__)

RULE_KEY = "technical.ingest"


def raise_internal_error_alerts(connection: Connection, rejections: Sequence[Rejection]) -> None:
    failed = [r for r in rejections if ErrorCode.INTERNAL_ERROR.value in r.codes]
    for rejection in failed:
        log.error(
            "ingest.internal_error_quarantined device_id=%s message_id=%s",
            rejection.device_id[:64],
            (rejection.message_id or "")[:64],
        )
        try:
            _raise(connection, rejection)
        except SQLAlchemyError as exc:  # the quarantine matters more than the alert
            log.error(
                "ingest.internal_error_alert_failed device_id=%s error=%s",
                rejection.device_id[:64],
                type(exc).__name__,
            )


def _raise(connection: Connection, rejection: Rejection) -> None:
    at = rejection.received_at
    # a savepoint of its own: a failure here rolls back the alert, never the quarantine
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        row = session.execute(
            select(Citizen.id, Citizen.care_team_id)  # type: ignore[call-overload]
            .join(DeviceAssignment, col(DeviceAssignment.citizen_id) == col(Citizen.id))
            .where(DeviceAssignment.device_id == rejection.device_id)
            .where(DeviceAssignment.valid_from <= at)
            .where((col(DeviceAssignment.valid_to).is_(None)) | (DeviceAssignment.valid_to > at))  # type: ignore[operator]
        ).first()
        if row is None:
            return
        citizen_id, care_team_id = row
        raise_or_repeat(
            session,
            now=at,
            breach=Breach(
                citizen_id=citizen_id,
                care_team_id=care_team_id,
                kind=AlertKind.TECHNICAL,
                rule_key=RULE_KEY,
                severity=Severity.RED,  # unknown is treated as possibly serious
                observed_at=at,
                reasons=[
                    {
                        "rule": RULE_KEY,
                        "severity": None,
                        "error": ErrorCode.INTERNAL_ERROR.value,
                        "message_id": rejection.message_id,
                        "text_da": "En besked fra tabletten kunne ikke gemmes og ligger i "
                        "karantæne; driften skal se på den",
                    }
                ],
                device_id=rejection.device_id,
            ),
        )
        session.commit()  # releases the savepoint; the caller commits the transaction
