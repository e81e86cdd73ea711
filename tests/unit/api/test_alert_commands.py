"""The nurses' alert actions as use cases, on the fakes: who may act, what is audited, what
reaches the tablet. (The same actions through HTTP and a database: tests/integration/api.)"""

from __future__ import annotations

import pytest

from pust.domain.alert_lifecycle import Outcome, StaleAlertError
from services.api.alerts import commands
from services.api.alerts.models import (
    AlertAcknowledgeCreate,
    AlertClaimCreate,
    AlertReopenCreate,
    AlertResolveCreate,
)
from services.api.auth.principal import Role
from services.api.problems import DocumentationMissingError, ForbiddenError, NotFoundError
from tests.unit.api.fakes import FakeUnitOfWork
from tests.unit.api.world import NOW, TEAM_B, alert, citizen, staff


def test_acknowledge_with_a_receipt_audits_and_notifies_the_tablet() -> None:
    uow = FakeUnitOfWork()
    anna = citizen(uow)
    uow.tablets.devices[anna.id] = "tablet-1"
    red = alert(uow, anna)
    done = commands.acknowledge(
        uow,
        actor=staff(),
        alert_id=red.id,
        command=AlertAcknowledgeCreate(expected_version=1, note="ringet op", notify_citizen=True),
        now=NOW,
    )
    assert done.status == "acknowledged"
    assert done.acknowledge_note == "ringet op"
    assert uow.audit.actions() == ["alert.acknowledge"]
    assert uow.audit.entries[0].citizen_id == anna.id
    assert [n.kind for n in uow.tablets.notices] == ["acknowledged"]


def test_another_teams_alert_is_answered_like_a_missing_one() -> None:
    uow = FakeUnitOfWork()
    theirs = alert(uow, citizen(uow, TEAM_B))
    with pytest.raises(NotFoundError):
        commands.claim(
            uow,
            actor=staff(),
            alert_id=theirs.id,
            command=AlertClaimCreate(expected_version=1),
            now=NOW,
        )
    assert theirs.claimed_by is None
    assert uow.audit.entries == []


def test_a_read_only_account_may_not_act() -> None:
    uow = FakeUnitOfWork()
    red = alert(uow, citizen(uow))
    with pytest.raises(ForbiddenError):
        commands.resolve(
            uow,
            actor=staff(Role.INTEGRATOR),
            alert_id=red.id,
            command=AlertResolveCreate(expected_version=1, outcome=Outcome.NO_ACTION_NEEDED),
            now=NOW,
        )
    assert red.status == "open"


def test_a_stale_version_changes_nothing() -> None:
    uow = FakeUnitOfWork()
    red = alert(uow, citizen(uow))
    with pytest.raises(StaleAlertError):
        commands.acknowledge(
            uow,
            actor=staff(),
            alert_id=red.id,
            command=AlertAcknowledgeCreate(expected_version=7, note="set"),
            now=NOW,
        )
    assert red.status == "open"
    assert uow.audit.entries == []


@pytest.mark.parametrize("note", [None, "", "   "])
def test_a_red_acknowledged_without_a_note_is_refused_and_nothing_is_written(
    note: str | None,
) -> None:
    uow = FakeUnitOfWork()
    red = alert(uow, citizen(uow))
    with pytest.raises(DocumentationMissingError) as refused:
        commands.acknowledge(
            uow,
            actor=staff(),
            alert_id=red.id,
            command=AlertAcknowledgeCreate(expected_version=1, note=note, notify_citizen=True),
            now=NOW,
        )
    assert (refused.value.field, refused.value.message_key) == ("note", "note_required_red_ack")
    assert refused.value.field_errors()[0]["msg"] == "En rød alarm kvitteres kun med en note"
    assert red.status == "open" and red.acknowledged_at is None
    assert uow.audit.entries == [] and uow.tablets.notices == []


def test_a_yellow_may_be_acknowledged_without_a_note() -> None:
    uow = FakeUnitOfWork()
    yellow = alert(uow, citizen(uow), severity="yellow", band=1)
    commands.acknowledge(
        uow,
        actor=staff(),
        alert_id=yellow.id,
        command=AlertAcknowledgeCreate(expected_version=1),
        now=NOW,
    )
    assert yellow.status == "acknowledged" and yellow.acknowledge_note is None


def test_resolve_then_reopen_is_audited_twice() -> None:
    uow = FakeUnitOfWork()
    red = alert(uow, citizen(uow))
    nurse = staff()
    commands.resolve(
        uow,
        actor=nurse,
        alert_id=red.id,
        command=AlertResolveCreate(
            expected_version=1, outcome=Outcome.CONTACTED_CITIZEN, note="talt med borger"
        ),
        now=NOW,
    )
    commands.reopen(
        uow,
        actor=nurse,
        alert_id=red.id,
        command=AlertReopenCreate(expected_version=2, reason="forkert borger"),
        now=NOW,
    )
    assert red.status == "open"
    assert red.outcome is None
    assert uow.audit.actions() == ["alert.resolve", "alert.reopen"]
