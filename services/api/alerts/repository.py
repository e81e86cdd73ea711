"""Alerts as the nurses' use cases see them: load one, the open ones of a citizen or a team,
and the lifecycle transitions (decided by :mod:`pust.domain.alert_aggregate`, stored by
:mod:`pust.db.alert_repository`; one seam here, with a fake beside it in the unit tests that
drives the same aggregate)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, col, select

from pust.db import alert_repository
from pust.db.tables import Alert
from pust.domain.alert_lifecycle import Outcome
from pust.domain.severity import AlertStatus

NOT_RESOLVED = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)


class AlertRepository(Protocol):
    def get(self, alert_id: uuid.UUID) -> Alert | None: ...

    def not_resolved_of(self, citizen_id: uuid.UUID) -> list[Alert]:
        """The citizen's open and acknowledged alerts, worst band first, then oldest."""

    def open_in_band(self, care_team_id: uuid.UUID, band_order: int) -> list[Alert]:
        """A team's open alerts of one band, oldest first."""

    def claim(
        self,
        *,
        alert_id: uuid.UUID,
        actor_id: uuid.UUID,
        now: datetime,
        expected_version: int | None,
        take_over: bool,
    ) -> Alert: ...

    def acknowledge(
        self,
        *,
        alert_id: uuid.UUID,
        actor_id: uuid.UUID,
        now: datetime,
        expected_version: int | None,
        note: str | None,
    ) -> Alert: ...

    def resolve(
        self,
        *,
        alert_id: uuid.UUID,
        actor_id: uuid.UUID,
        now: datetime,
        outcome: Outcome,
        expected_version: int | None,
        note: str | None,
    ) -> Alert: ...

    def reopen(
        self,
        *,
        alert_id: uuid.UUID,
        actor_id: uuid.UUID,
        now: datetime,
        reason: str,
        expected_version: int | None,
    ) -> Alert: ...


class SqlAlertRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, alert_id: uuid.UUID) -> Alert | None:
        return self._session.get(Alert, alert_id)

    def not_resolved_of(self, citizen_id: uuid.UUID) -> list[Alert]:
        return list(
            self._session.exec(
                select(Alert)
                .where(Alert.citizen_id == citizen_id, col(Alert.status).in_(NOT_RESOLVED))
                .order_by(col(Alert.band_order), col(Alert.first_seen_at), col(Alert.id))
            ).all()
        )

    def open_in_band(self, care_team_id: uuid.UUID, band_order: int) -> list[Alert]:
        return list(
            self._session.exec(
                select(Alert)
                .where(
                    Alert.care_team_id == care_team_id,
                    Alert.status == AlertStatus.OPEN.value,
                    Alert.band_order == band_order,
                )
                .order_by(col(Alert.first_seen_at), col(Alert.id))
            ).all()
        )

    def claim(
        self,
        *,
        alert_id: uuid.UUID,
        actor_id: uuid.UUID,
        now: datetime,
        expected_version: int | None,
        take_over: bool,
    ) -> Alert:
        return alert_repository.claim_alert(
            self._session,
            alert_id=alert_id,
            actor_id=actor_id,
            now=now,
            expected_version=expected_version,
            take_over=take_over,
        )

    def acknowledge(
        self,
        *,
        alert_id: uuid.UUID,
        actor_id: uuid.UUID,
        now: datetime,
        expected_version: int | None,
        note: str | None,
    ) -> Alert:
        return alert_repository.acknowledge_alert(
            self._session,
            alert_id=alert_id,
            actor_id=actor_id,
            now=now,
            expected_version=expected_version,
            note=note,
        )

    def resolve(
        self,
        *,
        alert_id: uuid.UUID,
        actor_id: uuid.UUID,
        now: datetime,
        outcome: Outcome,
        expected_version: int | None,
        note: str | None,
    ) -> Alert:
        return alert_repository.resolve_alert(
            self._session,
            alert_id=alert_id,
            actor_id=actor_id,
            now=now,
            outcome=outcome,
            expected_version=expected_version,
            note=note,
        )

    def reopen(
        self,
        *,
        alert_id: uuid.UUID,
        actor_id: uuid.UUID,
        now: datetime,
        reason: str,
        expected_version: int | None,
    ) -> Alert:
        return alert_repository.reopen_alert(
            self._session,
            alert_id=alert_id,
            actor_id=actor_id,
            now=now,
            reason=reason,
            expected_version=expected_version,
        )
