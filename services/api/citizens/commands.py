"""What nurses, team leads and administrators change about a citizen: enrolment, details,
limits and plan (versioned, with a reason), pauses, messages to the tablet, invalid
readings and notes. Each checks the role and the care team, changes the records through the
unit of work, and audits. The JSON routes and the web forms both call these."""

from __future__ import annotations

import uuid
from datetime import datetime

from pust.db.tables import Citizen, CitizenNote, LimitSet, PausePeriod, Plan, Reading
from pust.domain.cpr import Cpr
from pust.domain.limits import parse_rule_set
from pust.domain.plans import default_plan, parse_plan
from services.api.auth.principal import Principal, Role
from services.api.citizens.models import (
    CitizenCreate,
    CitizenUpdate,
    LimitSetUpdate,
    MessageCreate,
    NoteCreate,
    PauseCreate,
    PlanUpdate,
    ReadingInvalidate,
)
from services.api.problems import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from services.api.scoping import ensure_visible, require_action
from services.api.unit_of_work import UnitOfWork


def citizen_to_change(uow: UnitOfWork, *, actor: Principal, citizen_id: uuid.UUID) -> Citizen:
    require_action(actor)
    citizen = uow.citizens.get(citizen_id)
    ensure_visible(actor, citizen.care_team_id if citizen else None, "No such citizen.")
    assert citizen is not None
    return citizen


def enrol(
    uow: UnitOfWork, *, actor: Principal, command: CitizenCreate, now: datetime, timezone: str
) -> Citizen:
    """A new citizen with the team's default limits and the default plan (version 1 each)."""
    if actor.role not in (Role.ADMINISTRATOR, Role.TEAM_LEAD):
        raise ForbiddenError("Only a team lead or an administrator may enrol citizens.")
    ensure_visible(actor, command.care_team_id, "No such care team.")
    cpr = Cpr(command.cpr)
    if uow.citizens.cpr_taken(cpr):
        raise ConflictError("A citizen with this CPR number exists already.")
    citizen = Citizen(
        care_team_id=command.care_team_id,
        cpr=cpr,
        given_name=command.given_name,
        family_name=command.family_name,
        phone=command.phone,
        monitoring_started_at=now,
        created_at=now,
    )
    uow.citizens.add(citizen)
    uow.citizens.add_limits(
        LimitSet(
            citizen_id=citizen.id,
            version=1,
            rules=uow.citizens.team_default_rules(command.care_team_id),
            reason="Gruppens standardgrænser",
            created_by=actor.staff_id,
            created_at=now,
        )
    )
    plan = default_plan(starts_on=now.date(), timezone=timezone)
    uow.citizens.add_plan(
        Plan(
            citizen_id=citizen.id,
            version=1,
            schedule=plan.to_json(),
            reason="Standardplan",
            created_by=actor.staff_id,
            created_at=now,
        )
    )
    uow.audit.about_citizen(actor=actor, citizen=citizen, now=now, action="citizen.create")
    return citizen


def update(
    uow: UnitOfWork,
    *,
    actor: Principal,
    citizen_id: uuid.UUID,
    command: CitizenUpdate,
    now: datetime,
) -> Citizen:
    citizen = citizen_to_change(uow, actor=actor, citizen_id=citizen_id)
    if citizen.lock_version != command.expected_version:
        raise ConflictError("Someone else changed this citizen meanwhile. Reload first.")
    if command.care_team_id is not None:
        ensure_visible(actor, command.care_team_id, "No such care team.")
    changes = command.model_dump(exclude_unset=True, exclude={"expected_version"})
    for name, value in changes.items():
        if value is not None:
            setattr(citizen, name, value)
    citizen.lock_version += 1
    uow.flush()
    uow.audit.about_citizen(actor=actor, citizen=citizen, now=now, action="citizen.update")
    return citizen


def change_limits(
    uow: UnitOfWork,
    *,
    actor: Principal,
    citizen_id: uuid.UUID,
    command: LimitSetUpdate,
    now: datetime,
) -> LimitSet:
    """The next version of the citizen's limits (refused when someone saved one meanwhile)."""
    citizen = citizen_to_change(uow, actor=actor, citizen_id=citizen_id)
    rules = parse_rule_set(command.rules)
    uow.citizens.lock(citizen.id)
    current = uow.citizens.current_limits(citizen.id)
    version = current.version if current is not None else 0
    if version != command.expected_version:
        raise ConflictError(
            f"The limits were changed by someone else (now version {version}). Reload first."
        )
    saved = LimitSet(
        citizen_id=citizen.id,
        version=version + 1,
        rules=rules.to_json(),
        reason=command.reason,
        created_by=actor.staff_id,
        created_at=now,
    )
    uow.citizens.add_limits(saved)
    uow.audit.about_citizen(
        actor=actor,
        citizen=citizen,
        now=now,
        action="citizen.limits.change",
        resource_type="limit_set",
        resource_id=str(saved.id),
    )
    return saved


def change_plan(
    uow: UnitOfWork,
    *,
    actor: Principal,
    citizen_id: uuid.UUID,
    command: PlanUpdate,
    now: datetime,
) -> Plan:
    """The next version of the plan; the citizen's tablet gets it through the outbox."""
    citizen = citizen_to_change(uow, actor=actor, citizen_id=citizen_id)
    plan = parse_plan(command.plan)
    uow.citizens.lock(citizen.id)
    current = uow.citizens.current_plan(citizen.id)
    version = current.version if current is not None else 0
    if version != command.expected_version:
        raise ConflictError(
            f"The plan was changed by someone else (now version {version}). Reload first."
        )
    stored = plan.model_copy(update={"version": version + 1})
    saved = Plan(
        citizen_id=citizen.id,
        version=version + 1,
        schedule=stored.to_json(),
        reason=command.reason,
        created_by=actor.staff_id,
        created_at=now,
    )
    uow.citizens.add_plan(saved)
    device_id = uow.tablets.device_of(citizen.id)
    if device_id is not None:
        uow.tablets.send_plan(device_id=device_id, plan=stored, version=saved.version, now=now)
    uow.audit.about_citizen(
        actor=actor,
        citizen=citizen,
        now=now,
        action="citizen.plan.change",
        resource_type="plan",
        resource_id=str(saved.id),
    )
    return saved


def pause(
    uow: UnitOfWork,
    *,
    actor: Principal,
    citizen_id: uuid.UUID,
    command: PauseCreate,
    now: datetime,
) -> PausePeriod:
    """Pause monitoring (admission, holiday): no missed-measurement alarms meanwhile."""
    citizen = citizen_to_change(uow, actor=actor, citizen_id=citizen_id)
    if command.starts_at.tzinfo is None or (
        command.ends_at is not None and command.ends_at.tzinfo is None
    ):
        raise InvalidInputError("Times need a time zone offset.")
    if command.ends_at is not None and command.ends_at <= command.starts_at:
        raise InvalidInputError("A pause must end after it starts.")
    period = PausePeriod(
        citizen_id=citizen.id,
        starts_at=command.starts_at,
        ends_at=command.ends_at,
        reason=command.reason,
        created_by=actor.staff_id,
        created_at=now,
    )
    uow.records.add_pause(period)
    uow.audit.about_citizen(
        actor=actor,
        citizen=citizen,
        now=now,
        action="citizen.pause",
        resource_type="pause",
        resource_id=str(period.id),
    )
    return period


def end_pause(
    uow: UnitOfWork,
    *,
    actor: Principal,
    citizen_id: uuid.UUID,
    pause_id: uuid.UUID,
    now: datetime,
) -> PausePeriod:
    citizen = citizen_to_change(uow, actor=actor, citizen_id=citizen_id)
    period = uow.records.pause(pause_id)
    if period is None or period.citizen_id != citizen.id:
        raise NotFoundError("No such pause.")
    if period.ends_at is not None and period.ends_at <= now:
        raise ConflictError("This pause has ended already.")
    period.ends_at = max(now, period.starts_at)
    uow.audit.about_citizen(
        actor=actor,
        citizen=citizen,
        now=now,
        action="citizen.pause_end",
        resource_type="pause",
        resource_id=str(period.id),
    )
    return period


def send_message(
    uow: UnitOfWork,
    *,
    actor: Principal,
    citizen_id: uuid.UUID,
    command: MessageCreate,
    now: datetime,
) -> tuple[uuid.UUID, str]:
    """A message shown on the citizen's tablet: (notice id, tablet id)."""
    citizen = citizen_to_change(uow, actor=actor, citizen_id=citizen_id)
    device_id = uow.tablets.device_of(citizen.id)
    notice_id = uow.tablets.notify(
        citizen_id=citizen.id, kind=command.kind, text=command.text, now=now
    )
    if notice_id is None or device_id is None:
        raise ConflictError("The citizen has no tablet assigned.")
    uow.audit.about_citizen(
        actor=actor,
        citizen=citizen,
        now=now,
        action="citizen.message",
        resource_type="notice",
        resource_id=str(notice_id),
    )
    return notice_id, device_id


def invalidate_reading(
    uow: UnitOfWork,
    *,
    actor: Principal,
    reading_id: int,
    command: ReadingInvalidate,
    now: datetime,
) -> Reading:
    """Marked invalid with a reason, never deleted."""
    require_action(actor)
    found = uow.records.reading(reading_id)
    ensure_visible(actor, found[1].care_team_id if found else None, "No such reading.")
    assert found is not None
    reading, citizen = found
    if not reading.valid:
        raise ConflictError("This reading is marked invalid already.")
    reading.valid = False
    reading.invalid_reason = command.reason
    reading.invalidated_by = actor.staff_id
    reading.invalidated_at = now
    uow.audit.about_citizen(
        actor=actor,
        citizen=citizen,
        now=now,
        action="reading.invalidate",
        resource_type="reading",
        resource_id=str(reading.id),
    )
    return reading


def write_note(
    uow: UnitOfWork,
    *,
    actor: Principal,
    citizen_id: uuid.UUID,
    command: NoteCreate,
    now: datetime,
) -> CitizenNote:
    citizen = citizen_to_change(uow, actor=actor, citizen_id=citizen_id)
    note = CitizenNote(
        citizen_id=citizen.id,
        author_id=actor.staff_id,
        text=command.text,
        remind_at=command.remind_at,
        created_at=now,
    )
    uow.records.add_note(note)
    uow.audit.about_citizen(
        actor=actor,
        citizen=citizen,
        now=now,
        action="note.create",
        resource_type="note",
        resource_id=str(note.id),
    )
    return note
