"""Changing a citizen's records as use cases, on the fakes: versions, scoping, audit, what
reaches the tablet."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pust.db.tables import Reading
from pust.domain.limits import InvalidRuleSetError, default_rule_set
from pust.domain.plans import default_plan
from services.api.auth.principal import Role
from services.api.citizens import commands
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
from tests.unit.api.fakes import FakeUnitOfWork
from tests.unit.api.world import NOW, TEAM_A, TEAM_B, citizen, staff


def _enrol(uow: FakeUnitOfWork, cpr: str = "050505-1111") -> object:
    return commands.enrol(
        uow,
        actor=staff(Role.TEAM_LEAD, name="lead-a"),
        command=CitizenCreate(
            care_team_id=TEAM_A, cpr=cpr, given_name="Poul", family_name="Hansen"
        ),
        now=NOW,
        timezone="Europe/Copenhagen",
    )


def test_enrolment_starts_with_version_1_limits_and_plan() -> None:
    uow = FakeUnitOfWork()
    poul = _enrol(uow)
    assert [(r.citizen_id, r.version) for r in uow.citizens.limits] == [(poul.id, 1)]  # type: ignore[attr-defined]
    assert [p.version for p in uow.citizens.plans] == [1]
    assert uow.audit.actions() == ["citizen.create"]


def test_enrolment_refuses_a_nurse_and_a_known_cpr() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(ForbiddenError):
        commands.enrol(
            uow,
            actor=staff(),
            command=CitizenCreate(
                care_team_id=TEAM_A, cpr="050505-1111", given_name="P", family_name="H"
            ),
            now=NOW,
            timezone="Europe/Copenhagen",
        )
    _enrol(uow)
    with pytest.raises(ConflictError):
        _enrol(uow)


def test_update_needs_the_version_the_nurse_saw() -> None:
    uow = FakeUnitOfWork()
    anna = citizen(uow)
    with pytest.raises(ConflictError):
        commands.update(
            uow,
            actor=staff(),
            citizen_id=anna.id,
            command=CitizenUpdate(expected_version=9, phone="1"),
            now=NOW,
        )
    changed = commands.update(
        uow,
        actor=staff(),
        citizen_id=anna.id,
        command=CitizenUpdate(expected_version=1, phone="12345678"),
        now=NOW,
    )
    assert (changed.phone, changed.lock_version) == ("12345678", 2)


def test_limits_get_the_next_version_or_a_conflict() -> None:
    uow = FakeUnitOfWork()
    anna = citizen(uow)
    rules = default_rule_set().to_json()
    first = commands.change_limits(
        uow,
        actor=staff(),
        citizen_id=anna.id,
        command=LimitSetUpdate(expected_version=0, rules=rules, reason="lægens ordination"),
        now=NOW,
    )
    assert first.version == 1
    assert uow.citizens.locked == [anna.id]
    with pytest.raises(ConflictError):
        commands.change_limits(
            uow,
            actor=staff(),
            citizen_id=anna.id,
            command=LimitSetUpdate(expected_version=0, rules=rules, reason="igen"),
            now=NOW,
        )
    bad = {"absolute": [{"kind": "absolute", "type": "spo2", "red_low": 95, "yellow_low": 90}]}
    with pytest.raises(InvalidRuleSetError):
        commands.change_limits(
            uow,
            actor=staff(),
            citizen_id=anna.id,
            command=LimitSetUpdate(expected_version=1, rules=bad, reason="forkert"),
            now=NOW,
        )
    assert [r.version for r in uow.citizens.limits] == [1]


def test_a_new_plan_goes_to_the_citizens_tablet() -> None:
    uow = FakeUnitOfWork()
    anna = citizen(uow)
    uow.tablets.devices[anna.id] = "tablet-7"
    plan = default_plan(starts_on=NOW.date()).to_json()
    saved = commands.change_plan(
        uow,
        actor=staff(),
        citizen_id=anna.id,
        command=PlanUpdate(expected_version=0, plan=plan, reason="to gange dagligt"),
        now=NOW,
    )
    assert [(p.device_id, p.version) for p in uow.tablets.plans] == [("tablet-7", saved.version)]


def test_pause_must_end_after_it_starts_and_ends_once() -> None:
    uow = FakeUnitOfWork()
    anna = citizen(uow)
    with pytest.raises(InvalidInputError):
        commands.pause(
            uow,
            actor=staff(),
            citizen_id=anna.id,
            command=PauseCreate(starts_at=NOW, ends_at=NOW - timedelta(days=1), reason="ferie"),
            now=NOW,
        )
    period = commands.pause(
        uow,
        actor=staff(),
        citizen_id=anna.id,
        command=PauseCreate(starts_at=NOW - timedelta(days=1), reason="indlagt"),
        now=NOW,
    )
    ended = commands.end_pause(uow, actor=staff(), citizen_id=anna.id, pause_id=period.id, now=NOW)
    assert ended.ends_at == NOW
    with pytest.raises(ConflictError):
        commands.end_pause(
            uow, actor=staff(), citizen_id=anna.id, pause_id=period.id, now=NOW + timedelta(1)
        )
    assert uow.audit.actions() == ["citizen.pause", "citizen.pause_end"]


def test_a_message_needs_a_tablet() -> None:
    uow = FakeUnitOfWork()
    anna = citizen(uow)
    with pytest.raises(ConflictError):
        commands.send_message(
            uow,
            actor=staff(),
            citizen_id=anna.id,
            command=MessageCreate(text="Ring til os"),
            now=NOW,
        )
    uow.tablets.devices[anna.id] = "tablet-1"
    _notice, device = commands.send_message(
        uow, actor=staff(), citizen_id=anna.id, command=MessageCreate(text="Ring til os"), now=NOW
    )
    assert device == "tablet-1"
    assert [n.text for n in uow.tablets.notices] == ["Ring til os"]


def test_another_teams_citizen_and_reading_are_missing() -> None:
    uow = FakeUnitOfWork()
    bodil = citizen(uow, TEAM_B, cpr="0303003456")
    uow.records.readings[5] = Reading(
        id=5,
        citizen_id=bodil.id,
        device_id="t",
        message_id="m",
        type="spo2",
        value=90,
        unit="%",
        original_value=90,
        original_unit="%",
        measured_at=NOW,
        received_at=NOW,
    )
    with pytest.raises(NotFoundError):
        commands.write_note(
            uow, actor=staff(), citizen_id=bodil.id, command=NoteCreate(text="x"), now=NOW
        )
    with pytest.raises(NotFoundError):
        commands.invalidate_reading(
            uow,
            actor=staff(),
            reading_id=5,
            command=ReadingInvalidate(reason="wrong finger"),
            now=NOW,
        )
    assert uow.records.readings[5].valid
    assert uow.audit.entries == []


def test_an_invalid_reading_keeps_its_value_and_cannot_be_invalidated_twice() -> None:
    uow = FakeUnitOfWork()
    anna = citizen(uow)
    nurse = staff()
    uow.records.readings[6] = Reading(
        id=6,
        citizen_id=anna.id,
        device_id="t",
        message_id="m",
        type="spo2",
        value=70,
        unit="%",
        original_value=70,
        original_unit="%",
        measured_at=NOW,
        received_at=NOW,
    )
    done = commands.invalidate_reading(
        uow, actor=nurse, reading_id=6, command=ReadingInvalidate(reason="kold finger"), now=NOW
    )
    assert (done.valid, done.value, done.invalidated_by) == (False, 70, nurse.staff_id)
    with pytest.raises(ConflictError):
        commands.invalidate_reading(
            uow, actor=nurse, reading_id=6, command=ReadingInvalidate(reason="igen"), now=NOW
        )
