"""Fakes for the api's use cases (cosmicpython style): the unit of work and its repositories in
memory, as strict as the real ones where a use case relies on it (optimistic versions, the
alert aggregate itself, one current tablet per citizen). No database."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pust.db.alert_state_rows import state_of, write_state
from pust.db.tables import (
    Alert,
    CareTeam,
    Citizen,
    CitizenNote,
    Device,
    LimitSet,
    PairingCode,
    PausePeriod,
    Plan,
    Reading,
    StaffUser,
    TriageResult,
)
from pust.domain.alert_aggregate import AlertState, LifecycleEvent
from pust.domain.alert_lifecycle import AlertNotFoundError, StaleAlertError, open_key
from pust.domain.cpr import Cpr
from pust.domain.limits import default_rule_set
from pust.domain.plans import MeasurementPlan
from pust.domain.routing import RoutingPolicy, default_routing_policy
from pust.domain.severity import AlertStatus
from services.api.alerts.repository import Action, AlertRepository
from services.api.audit.trail import AuditTrail


@dataclass
class AuditEntry:
    action: str
    actor: str
    resource_type: str
    resource_id: str | None
    citizen_id: uuid.UUID | None
    care_team_id: uuid.UUID | None


class FakeAuditTrail(AuditTrail):
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.entries.extend(
            AuditEntry(
                r["action"],
                r["actor_username"],
                r["resource_type"],
                r["resource_id"],
                r["citizen_id"],
                r["care_team_id"],
            )
            for r in rows
        )

    def actions(self) -> list[str]:
        return [e.action for e in self.entries]


class FakeAlertRepository(AlertRepository):
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Alert] = {}
        self.events: list[tuple[uuid.UUID, LifecycleEvent]] = []

    def add(self, alert: Alert) -> Alert:
        alert.id = alert.id or uuid.uuid4()
        self.rows[alert.id] = alert
        return alert

    def get(self, alert_id: uuid.UUID) -> Alert | None:
        return self.rows.get(alert_id)

    def not_resolved_of(self, citizen_id: uuid.UUID) -> list[Alert]:
        mine = [
            a
            for a in self.rows.values()
            if a.citizen_id == citizen_id and a.status != AlertStatus.RESOLVED.value
        ]
        return sorted(mine, key=lambda a: (a.band_order, a.first_seen_at, str(a.id)))

    def open_in_band(self, care_team_id: uuid.UUID, band_order: int) -> list[Alert]:
        found = [
            a
            for a in self.rows.values()
            if a.care_team_id == care_team_id
            and a.status == AlertStatus.OPEN.value
            and a.band_order == band_order
        ]
        return sorted(found, key=lambda a: (a.first_seen_at, str(a.id)))

    def change(self, alert_id: uuid.UUID, expected_version: int | None, action: Action) -> Alert:
        alert = self.rows.get(alert_id)
        if alert is None:
            raise AlertNotFoundError(alert_id)
        if expected_version is not None and alert.lock_version != expected_version:
            raise StaleAlertError(alert_id, expected_version, alert.lock_version)
        transition = action(state_of(alert))
        write_state(alert, transition.state)
        self.events.extend((alert_id, event) for event in transition.events)
        return alert

    def another_is_open(self, state: AlertState) -> bool:
        return any(
            a.id != state.id and a.open_key == open_key(state.citizen_id, state.rule_key)
            for a in self.rows.values()
        )

    def routing_policy(self, care_team_id: uuid.UUID) -> RoutingPolicy:
        return default_routing_policy()


@dataclass
class SentNotice:
    citizen_id: uuid.UUID
    kind: str
    text: str


@dataclass
class SentPlan:
    device_id: str
    plan: MeasurementPlan
    version: int


class FakeTabletOutbox:
    def __init__(self) -> None:
        self.devices: dict[uuid.UUID, str] = {}
        self.notices: list[SentNotice] = []
        self.plans: list[SentPlan] = []

    def device_of(self, citizen_id: uuid.UUID) -> str | None:
        return self.devices.get(citizen_id)

    def notify(
        self, *, citizen_id: uuid.UUID, kind: Any, text: str, now: datetime
    ) -> uuid.UUID | None:
        if citizen_id not in self.devices:
            return None
        self.notices.append(SentNotice(citizen_id, str(kind), text))
        return uuid.uuid4()

    def send_plan(
        self, *, device_id: str, plan: MeasurementPlan, version: int, now: datetime
    ) -> None:
        self.plans.append(SentPlan(device_id, plan, version))


class FakeCitizenRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Citizen] = {}
        self.limits: list[LimitSet] = []
        self.plans: list[Plan] = []
        self.locked: list[uuid.UUID] = []

    def get(self, citizen_id: uuid.UUID) -> Citizen | None:
        return self.rows.get(citizen_id)

    def cpr_taken(self, cpr: Cpr) -> bool:
        return any(c.cpr == cpr for c in self.rows.values())

    def add(self, citizen: Citizen) -> None:
        citizen.id = citizen.id or uuid.uuid4()
        self.rows[citizen.id] = citizen

    def lock(self, citizen_id: uuid.UUID) -> None:
        self.locked.append(citizen_id)

    def team_default_rules(self, care_team_id: uuid.UUID) -> dict[str, object]:
        return default_rule_set().to_json()

    def current_limits(self, citizen_id: uuid.UUID) -> LimitSet | None:
        mine = [r for r in self.limits if r.citizen_id == citizen_id]
        return max(mine, key=lambda r: r.version, default=None)

    def add_limits(self, limits: LimitSet) -> None:
        limits.id = limits.id or uuid.uuid4()
        self.limits.append(limits)

    def current_plan(self, citizen_id: uuid.UUID) -> Plan | None:
        mine = [r for r in self.plans if r.citizen_id == citizen_id]
        return max(mine, key=lambda r: r.version, default=None)

    def add_plan(self, plan: Plan) -> None:
        plan.id = plan.id or uuid.uuid4()
        self.plans.append(plan)


class FakeCitizenRecords:
    def __init__(self, citizens: FakeCitizenRepository) -> None:
        self._citizens = citizens
        self.readings: dict[int, Reading] = {}
        self.triage: dict[int, TriageResult] = {}
        self.pauses: dict[uuid.UUID, PausePeriod] = {}
        self.notes: list[CitizenNote] = []

    def reading(self, reading_id: int) -> tuple[Reading, Citizen] | None:
        found = self.readings.get(reading_id)
        citizen = self._citizens.get(found.citizen_id) if found else None
        return None if found is None or citizen is None else (found, citizen)

    def triage_of(self, reading_id: int) -> TriageResult | None:
        return self.triage.get(reading_id)

    def pause(self, pause_id: uuid.UUID) -> PausePeriod | None:
        return self.pauses.get(pause_id)

    def add_pause(self, pause: PausePeriod) -> None:
        pause.id = pause.id or uuid.uuid4()
        self.pauses[pause.id] = pause

    def add_note(self, note: CitizenNote) -> None:
        note.id = note.id or uuid.uuid4()
        self.notes.append(note)


class FakeTeamRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, CareTeam] = {}

    def name_taken(self, name: str) -> bool:
        return any(t.name == name for t in self.rows.values())

    def get(self, team_id: uuid.UUID) -> CareTeam | None:
        return self.rows.get(team_id)

    def add(self, team: CareTeam) -> None:
        team.id = team.id or uuid.uuid4()
        self.rows[team.id] = team

    def all_exist(self, team_ids: Collection[uuid.UUID]) -> bool:
        return set(team_ids) <= set(self.rows)


class FakeStaffRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, StaffUser] = {}
        self.memberships: dict[uuid.UUID, set[uuid.UUID]] = {}
        self.revoked_sessions: list[tuple[uuid.UUID, str]] = []
        self.throttle_reset: list[str] = []

    def get(self, staff_id: uuid.UUID) -> StaffUser | None:
        return self.rows.get(staff_id)

    def username_taken(self, username: str) -> bool:
        return any(u.username == username for u in self.rows.values())

    def add(self, user: StaffUser) -> None:
        user.id = user.id or uuid.uuid4()
        self.rows[user.id] = user

    def teams_of(self, staff_id: uuid.UUID) -> list[uuid.UUID]:
        return sorted(self.memberships.get(staff_id, set()))

    def set_teams(self, staff_id: uuid.UUID, team_ids: Collection[uuid.UUID]) -> None:
        self.memberships[staff_id] = set(team_ids)

    def join(self, staff_id: uuid.UUID, team_id: uuid.UUID) -> None:
        self.memberships.setdefault(staff_id, set()).add(team_id)

    def revoke_sessions(self, staff_id: uuid.UUID, *, now: datetime, reason: str) -> int:
        self.revoked_sessions.append((staff_id, reason))
        return 1

    def reset_login_throttle(self, username: str) -> None:
        self.throttle_reset.append(username)


class FakeEnrolmentRepository:
    """Devices, assignments (one open one per device and per citizen) and pairing codes;
    ``broker_syncs`` lists the devices the broker channel was told about, in order."""

    def __init__(self, tablets: FakeTabletOutbox) -> None:
        self.tablets = tablets  # an assignment is the citizen's tablet (``device_of``) too
        self.devices: dict[str, Device] = {}
        self.holders: dict[str, uuid.UUID] = {}
        self.codes: dict[str, PairingCode] = {}
        self.passwords: dict[str, str] = {}
        self.broker_syncs: list[str] = []
        self.device_events: list[tuple[str, str]] = []

    def device(self, device_id: str) -> Device | None:
        return self.devices.get(device_id)

    def add_device(self, device: Device, *, now: datetime) -> None:
        self.devices[device.id] = device
        self.broker_syncs.append(device.id)

    def holder(self, device_id: str) -> uuid.UUID | None:
        return self.holders.get(device_id)

    def assign(
        self, *, device_id: str, citizen_id: uuid.UUID, now: datetime, by: uuid.UUID | None
    ) -> None:
        assert device_id not in self.holders and citizen_id not in self.holders.values()
        self.holders[device_id] = citizen_id
        self.tablets.devices[citizen_id] = device_id

    def add_code(self, code: PairingCode) -> None:
        assert code.code_hash not in self.codes
        code.id = code.id or uuid.uuid4()
        self.codes[code.code_hash] = code

    def code(self, code_hash: str) -> PairingCode | None:
        return self.codes.get(code_hash)

    def issue_password(self, device: Device, *, now: datetime) -> str:
        password = f"password-{len(self.passwords) + 1}"
        self.passwords[device.id] = password
        self.broker_syncs.append(device.id)
        return password

    def revoke(self, device: Device, *, now: datetime) -> None:
        device.status = "revoked"
        self.passwords.pop(device.id, None)
        self.broker_syncs.append(device.id)

    def device_event(self, *, device_id: str, citizen: Citizen, now: datetime, action: str) -> None:
        self.device_events.append((action, device_id))


@dataclass
class FakeUnitOfWork:
    audit: FakeAuditTrail = field(default_factory=FakeAuditTrail)
    alerts: FakeAlertRepository = field(default_factory=FakeAlertRepository)
    citizens: FakeCitizenRepository = field(default_factory=FakeCitizenRepository)
    tablets: FakeTabletOutbox = field(default_factory=FakeTabletOutbox)
    enrolment: FakeEnrolmentRepository = field(init=False)
    teams: FakeTeamRepository = field(default_factory=FakeTeamRepository)
    staff: FakeStaffRepository = field(default_factory=FakeStaffRepository)
    records: FakeCitizenRecords = field(init=False)
    rolled_back: bool = False

    def __post_init__(self) -> None:
        self.records = FakeCitizenRecords(self.citizens)
        self.enrolment = FakeEnrolmentRepository(self.tablets)

    def flush(self) -> None:
        pass

    def rollback(self) -> None:
        self.rolled_back = True
