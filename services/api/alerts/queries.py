"""Read models of alerts (the session directly; tested against a database)."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from pust.db.tables import Alert, AlertEvent
from services.api.alerts.models import AlertEventPublic, AlertPublic


def alert_public(alert: Alert) -> AlertPublic:
    return AlertPublic.model_validate(alert, from_attributes=True)


def alert_events(session: Session, alert_id: uuid.UUID) -> list[AlertEventPublic]:
    events = session.exec(
        select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(col(AlertEvent.id))
    ).all()
    return [AlertEventPublic.model_validate(e, from_attributes=True) for e in events]
