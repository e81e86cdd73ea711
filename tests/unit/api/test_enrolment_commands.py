"""Pairing, revocation and rotation use cases on the fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pust.db.tables import Device
from services.api.auth.principal import Role
from services.api.enrolment import commands
from services.api.problems import ConflictError, ForbiddenError, NotFoundError
from tests.unit.api.fakes import FakeUnitOfWork
from tests.unit.api.world import NOW, TEAM_B, citizen, staff

ADMIN = staff(Role.ADMINISTRATOR, name="admin")
FIFTEEN_MINUTES = timedelta(minutes=15)


def _code(uow: FakeUnitOfWork, citizen_id: object, **kwargs: object) -> str:
    issued = commands.create_pairing_code(
        uow,
        actor=kwargs.pop("actor", ADMIN),  # type: ignore[arg-type]
        citizen_id=citizen_id,  # type: ignore[arg-type]
        now=NOW,
        valid_for=FIFTEEN_MINUTES,
        nurses_may_pair=bool(kwargs.pop("nurses_may_pair", False)),
    )
    return issued.code


def test_a_code_pairs_a_new_tablet_once_and_assigns_it() -> None:
    uow = FakeUnitOfWork()
    holder = citizen(uow)
    code = _code(uow, holder.id)
    assert code not in uow.enrolment.codes  # only the hash is kept
    credentials = commands.pair(
        uow, code=code.lower(), device_id="ipad-1", now=NOW, topic_root="pust/v1"
    )
    assert credentials.mqtt_username == credentials.mqtt_client_id == "ipad-1"
    assert uow.enrolment.passwords["ipad-1"] == credentials.mqtt_password
    assert uow.enrolment.holder("ipad-1") == holder.id
    assert uow.enrolment.broker_syncs == ["ipad-1", "ipad-1"]  # enrolled, then its password
    assert uow.enrolment.device_events == [("device.pair", "ipad-1")]
    with pytest.raises(commands.PairingRefused):
        commands.pair(uow, code=code, device_id="ipad-2", now=NOW, topic_root="pust/v1")


def test_an_expired_or_unknown_code_is_refused_alike() -> None:
    uow = FakeUnitOfWork()
    code = _code(uow, citizen(uow).id)
    refusals = []
    for attempt, at in ((code, NOW + FIFTEEN_MINUTES), ("ZZZZ-ZZZZ", NOW)):
        with pytest.raises(commands.PairingRefused) as refused:
            commands.pair(uow, code=attempt, device_id="ipad-1", now=at, topic_root="pust/v1")
        refusals.append(refused.value.detail)
    assert refusals[0] == refusals[1]
    assert uow.enrolment.passwords == {}


def test_another_citizens_tablet_is_not_paired_away() -> None:
    uow = FakeUnitOfWork()
    first, second = citizen(uow), citizen(uow, cpr="0202002345")
    commands.pair(uow, code=_code(uow, first.id), device_id="ipad-1", now=NOW, topic_root="pust/v1")
    with pytest.raises(ConflictError):
        commands.pair(
            uow, code=_code(uow, second.id), device_id="ipad-1", now=NOW, topic_root="pust/v1"
        )


def test_who_may_create_codes() -> None:
    uow = FakeUnitOfWork()
    own = citizen(uow)
    with pytest.raises(ForbiddenError):
        _code(uow, own.id, actor=staff())
    assert _code(uow, own.id, actor=staff(), nurses_may_pair=True)
    with pytest.raises(NotFoundError):
        _code(uow, citizen(uow, TEAM_B, cpr="0303003456").id, actor=staff(), nurses_may_pair=True)


def test_revoked_tablets_are_not_rotated_and_only_administrators_revoke() -> None:
    uow = FakeUnitOfWork()
    uow.enrolment.devices["ipad-1"] = Device(id="ipad-1")
    with pytest.raises(ForbiddenError):
        commands.revoke_device(uow, actor=staff(), device_id="ipad-1", now=NOW)
    commands.revoke_device(uow, actor=ADMIN, device_id="ipad-1", now=NOW)
    with pytest.raises(ConflictError):
        commands.rotate_device(uow, actor=ADMIN, device_id="ipad-1", now=NOW, topic_root="pust/v1")
    assert uow.audit.actions() == ["device.revoke"]
