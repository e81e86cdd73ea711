"""What goes to a citizen's tablet (notices, the measurement plan) as use cases see it. The
api never publishes: every message is an outbox row in the request's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from pust.domain.plans import MeasurementPlan
from services.api.alerts.notices import NoticeKindName, queue_notice
from services.api.citizens.service import queue_plan
from services.api.scoping import current_device_id


class TabletOutbox(Protocol):
    def device_of(self, citizen_id: uuid.UUID) -> str | None:
        """The tablet assigned to the citizen now, if any."""

    def notify(
        self, *, citizen_id: uuid.UUID, kind: NoticeKindName, text: str, now: datetime
    ) -> uuid.UUID | None:
        """Queue a notice for the citizen's tablet; None when no tablet is assigned."""

    def send_plan(
        self, *, device_id: str, plan: MeasurementPlan, version: int, now: datetime
    ) -> None: ...


class SqlTabletOutbox:
    def __init__(self, session: Session, *, topic_root: str) -> None:
        self._session = session
        self._topic_root = topic_root

    def device_of(self, citizen_id: uuid.UUID) -> str | None:
        return current_device_id(self._session, citizen_id)

    def notify(
        self, *, citizen_id: uuid.UUID, kind: NoticeKindName, text: str, now: datetime
    ) -> uuid.UUID | None:
        return queue_notice(
            session=self._session,
            topic_root=self._topic_root,
            citizen_id=citizen_id,
            now=now,
            kind=kind,
            text=text,
        )

    def send_plan(
        self, *, device_id: str, plan: MeasurementPlan, version: int, now: datetime
    ) -> None:
        queue_plan(
            session=self._session,
            topic_root=self._topic_root,
            device_id=device_id,
            plan=plan,
            version=version,
            now=now,
        )
