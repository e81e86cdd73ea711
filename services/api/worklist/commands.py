"""Actions on the worklist as a whole: acknowledge every open green alert of a team."""

from __future__ import annotations

import uuid
from datetime import datetime

from pust.domain.notices import ACKNOWLEDGED_TEXT_DA
from services.api.auth.principal import Principal
from services.api.scoping import ensure_visible, require_action
from services.api.unit_of_work import UnitOfWork
from services.api.worklist.models import BulkAcknowledgeCreate
from services.api.worklist.queries import BAND_ORDER


def acknowledge_green(
    uow: UnitOfWork, *, actor: Principal, command: BulkAcknowledgeCreate, now: datetime
) -> list[uuid.UUID]:
    require_action(actor)
    ensure_visible(actor, command.care_team_id, "No such care team.")
    done: list[uuid.UUID] = []
    notified: set[uuid.UUID] = set()
    for green in uow.alerts.open_in_band(command.care_team_id, BAND_ORDER["green"]):
        alert = uow.alerts.acknowledge(
            alert_id=green.id,
            actor_id=actor.staff_id,
            now=now,
            expected_version=green.lock_version,
            note=command.note or None,
        )
        done.append(alert.id)
        uow.audit.record(
            actor=actor,
            now=now,
            action="alert.acknowledge",
            resource_type="alert",
            resource_id=str(alert.id),
            citizen_id=alert.citizen_id,
            care_team_id=alert.care_team_id,
        )
        if command.notify_citizen and alert.citizen_id not in notified:
            notified.add(alert.citizen_id)
            uow.tablets.notify(
                citizen_id=alert.citizen_id, kind="acknowledged", text=ACKNOWLEDGED_TEXT_DA, now=now
            )
    uow.audit.record(
        actor=actor,
        now=now,
        action="worklist.acknowledge_green",
        resource_type="care_team",
        resource_id=str(command.care_team_id),
        care_team_id=command.care_team_id,
    )
    return done
