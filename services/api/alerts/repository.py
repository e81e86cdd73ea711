"""Alerts as the nurses' use cases see them: load one, the open ones of a citizen or a team,
and one changed by a lifecycle transition. The use cases (``commands.py``) let
:mod:`pust.domain.alert_aggregate` decide and hand the decision to :meth:`AlertRepository.change`,
so a repository only stores (the SQL one below, through :mod:`pust.db.alert_repository`; the
fake beside the unit tests), and no transition is written twice."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable

from sqlmodel import Session, col, select

from pust.db import alert_repository
from pust.db.alert_rows import find_open, remember_open
from pust.db.alert_rows import routing_policy as stored_routing_policy
from pust.db.tables import Alert
from pust.domain.alert_aggregate import AlertState, Transition
from pust.domain.routing import RoutingPolicy
from pust.domain.severity import AlertStatus

NOT_RESOLVED = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)

Action = Callable[[AlertState], Transition]  # the aggregate's decision on a loaded alert


class AlertRepository(ABC):
    """What the use cases need of stored alerts; the decisions are the aggregate's."""

    @abstractmethod
    def get(self, alert_id: uuid.UUID) -> Alert | None: ...

    @abstractmethod
    def not_resolved_of(self, citizen_id: uuid.UUID) -> list[Alert]:
        """The citizen's open and acknowledged alerts, worst band first, then oldest."""

    @abstractmethod
    def open_in_band(self, care_team_id: uuid.UUID, band_order: int) -> list[Alert]:
        """A team's open alerts of one band, oldest first."""

    @abstractmethod
    def change(self, alert_id: uuid.UUID, expected_version: int | None, action: Action) -> Alert:
        """Load the alert locked (:class:`StaleAlertError` when ``expected_version`` is not
        its version), store the state and events the action decides."""

    @abstractmethod
    def another_is_open(self, state: AlertState) -> bool:
        """Another alert for the same citizen and rule is open (a reopen is refused)."""

    @abstractmethod
    def routing_policy(self, care_team_id: uuid.UUID) -> RoutingPolicy: ...


class SqlAlertRepository(AlertRepository):
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

    def change(self, alert_id: uuid.UUID, expected_version: int | None, action: Action) -> Alert:
        alert = alert_repository.change_alert(self._session, alert_id, expected_version, action)
        remember_open(self._session, alert)
        return alert

    def another_is_open(self, state: AlertState) -> bool:
        other = find_open(self._session, state.citizen_id, state.rule_key)
        return other is not None and other.id != state.id

    def routing_policy(self, care_team_id: uuid.UUID) -> RoutingPolicy:
        return stored_routing_policy(self._session, care_team_id)
