"""Administration use cases on the fakes."""

from __future__ import annotations

import pytest

from pust.db.tables import CareTeam, StaffUser
from services.api.admin import commands
from services.api.admin.models import CareTeamCreate, StaffCreate, StaffUpdate
from services.api.auth.principal import Role
from services.api.problems import ConflictError, ForbiddenError, NotFoundError
from tests.unit.api.fakes import FakeUnitOfWork
from tests.unit.api.world import NOW, TEAM_A, staff


def test_the_creator_of_a_team_is_its_first_member() -> None:
    uow = FakeUnitOfWork()
    admin = staff(Role.ADMINISTRATOR, name="admin")
    team = commands.create_team(
        uow, actor=admin, command=CareTeamCreate(name="Klinik Øst"), now=NOW
    )
    assert uow.staff.teams_of(admin.staff_id) == [team.id]
    assert uow.audit.actions() == ["care_team.create"]
    with pytest.raises(ConflictError):
        commands.create_team(uow, actor=admin, command=CareTeamCreate(name="Klinik Øst"), now=NOW)


def test_only_an_administrator_manages_staff() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(ForbiddenError):
        commands.create_team(uow, actor=staff(), command=CareTeamCreate(name="Klinik"), now=NOW)


def test_staff_need_known_teams_and_a_free_username() -> None:
    uow = FakeUnitOfWork()
    admin = staff(Role.ADMINISTRATOR, name="admin")
    command = StaffCreate(
        username="sofie", display_name="Sofie", role="nurse", care_team_ids=[TEAM_A]
    )
    with pytest.raises(NotFoundError):
        commands.create_staff(uow, actor=admin, command=command, now=NOW)
    uow.teams.add(CareTeam(id=TEAM_A, name="Nord"))
    sofie = commands.create_staff(uow, actor=admin, command=command, now=NOW)
    assert uow.staff.teams_of(sofie.id) == [TEAM_A]
    with pytest.raises(ConflictError):
        commands.create_staff(uow, actor=admin, command=command, now=NOW)
    commands.update_staff(
        uow, actor=admin, staff_id=sofie.id, command=StaffUpdate(unlock=True), now=NOW
    )
    assert uow.staff.throttle_reset == ["sofie"]
    assert uow.audit.actions() == ["staff.create", "staff.update"]


def test_deactivation_and_a_new_password_end_the_staff_members_sessions() -> None:
    uow = FakeUnitOfWork()
    admin = staff(Role.ADMINISTRATOR, name="admin")
    sofie = StaffUser(username="sofie", display_name="Sofie", role="nurse")
    uow.staff.add(sofie)
    commands.update_staff(
        uow, actor=admin, staff_id=sofie.id, command=StaffUpdate(display_name="S"), now=NOW
    )
    assert uow.staff.revoked_sessions == []
    commands.update_staff(
        uow,
        actor=admin,
        staff_id=sofie.id,
        command=StaffUpdate(password="a long new passphrase"),
        now=NOW,
    )
    commands.update_staff(
        uow, actor=admin, staff_id=sofie.id, command=StaffUpdate(active=False), now=NOW
    )
    # deactivating someone already inactive ends nothing more
    commands.update_staff(
        uow, actor=admin, staff_id=sofie.id, command=StaffUpdate(active=False), now=NOW
    )
    assert uow.staff.revoked_sessions == [(sofie.id, "password_changed"), (sofie.id, "deactivated")]
