"""Actions on the worklist beyond one alert: all of a citizen's alerts at once; every open
green alert of a team (the JSON API only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pust.domain.notices import ACKNOWLEDGED_TEXT_DA
from pust.domain.severity import AlertKind, AlertStatus
from services.api.alerts import commands as alert_commands
from services.api.alerts.models import AlertAcknowledgeCreate, AlertResolveCreate
from services.api.auth.principal import Principal
from services.api.citizens.commands import citizen_to_change
from services.api.problems import ConflictError, DocumentationMissingError
from services.api.scoping import ensure_visible, require_action
from services.api.unit_of_work import UnitOfWork
from services.api.worklist.models import (
    BulkAcknowledgeCreate,
    CitizenSettleCreate,
    CitizenSettlePublic,
)
from services.api.worklist.queries import BAND_ORDER


def acknowledge_green(
    uow: UnitOfWork, *, actor: Principal, command: BulkAcknowledgeCreate, now: datetime
) -> list[uuid.UUID]:
    require_action(actor)
    ensure_visible(actor, command.care_team_id, "No such care team.")
    done: list[uuid.UUID] = []
    notified: set[uuid.UUID] = set()
    for green in uow.alerts.open_in_band(command.care_team_id, BAND_ORDER["green"]):
        if green.kind == AlertKind.WATCH.value:
            continue  # a watch is not a task: it is closed on the citizen's page (issue 13)
        alert = alert_commands.acknowledge(
            uow,
            actor=actor,
            alert_id=green.id,
            command=AlertAcknowledgeCreate(expected_version=green.lock_version, note=command.note),
            now=now,
        )
        done.append(alert.id)
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


def settle_citizen(
    uow: UnitOfWork,
    *,
    actor: Principal,
    citizen_id: uuid.UUID,
    command: CitizenSettleCreate,
    now: datetime,
) -> CitizenSettlePublic:
    """ "Kvittér/afslut alle for borgeren": one decision for the alerts the nurse saw, in one
    transaction (all or nothing). Each alert goes through the same use case as a single
    acknowledgement or resolution (scope, lifecycle, audit, a note for a red); the citizen
    gets at most one receipt on the tablet."""
    citizen = citizen_to_change(uow, actor=actor, citizen_id=citizen_id)
    if command.resolve and command.outcome is None:
        raise DocumentationMissingError(
            "An outcome is required.", field="outcome", message_key="outcome_required"
        )
    current = {a.id: a for a in uow.alerts.not_resolved_of(citizen.id)}
    missing = set(command.alert_versions) - set(current)
    if missing:
        raise ConflictError(
            "Some of these alerts were resolved by someone else. Reload and decide again."
        )
    acknowledged: list[uuid.UUID] = []
    resolved: list[uuid.UUID] = []
    notify = command.notify_citizen
    for alert_id, seen_version in command.alert_versions.items():
        alert = current[alert_id]
        version = seen_version
        if alert.status == AlertStatus.OPEN.value:
            alert = alert_commands.acknowledge(
                uow,
                actor=actor,
                alert_id=alert_id,
                command=AlertAcknowledgeCreate(
                    expected_version=version, note=command.note, notify_citizen=notify
                ),
                now=now,
            )
            notify = False
            acknowledged.append(alert_id)
            version = alert.lock_version
        if command.resolve:
            assert command.outcome is not None
            alert_commands.resolve(
                uow,
                actor=actor,
                alert_id=alert_id,
                command=AlertResolveCreate(
                    expected_version=version, outcome=command.outcome, note=command.note
                ),
                now=now,
            )
            resolved.append(alert_id)
    return CitizenSettlePublic(acknowledged=acknowledged, resolved=resolved)
