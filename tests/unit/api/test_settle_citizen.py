"""Truthful documentation on the fakes: a red is resolved only with a note, no outcome is
ever filled in for the nurse, and one decision covers every alert of a citizen she saw (one
receipt on the tablet, all or nothing)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pust.domain.alert_lifecycle import Outcome, StaleAlertError
from services.api.alerts import commands
from services.api.alerts.models import AlertResolveCreate
from services.api.problems import ConflictError, DocumentationMissingError
from services.api.worklist.commands import settle_citizen
from services.api.worklist.models import CitizenSettleCreate
from tests.unit.api.fakes import FakeUnitOfWork
from tests.unit.api.world import NOW, alert, citizen, staff


def test_a_red_is_not_resolved_without_a_note() -> None:
    uow = FakeUnitOfWork()
    red = alert(uow, citizen(uow))
    for note in (None, "", "   "):
        with pytest.raises(DocumentationMissingError) as refused:
            commands.resolve(
                uow,
                actor=staff(),
                alert_id=red.id,
                command=AlertResolveCreate(
                    expected_version=1, outcome=Outcome.CONTACTED_CITIZEN, note=note
                ),
                now=NOW,
            )
        assert refused.value.field == "note"
    assert red.status == "open"
    assert uow.audit.entries == []


def test_a_yellow_may_be_resolved_with_only_an_outcome() -> None:
    uow = FakeUnitOfWork()
    yellow = alert(uow, citizen(uow), severity="yellow", band=1)
    done = commands.resolve(
        uow,
        actor=staff(),
        alert_id=yellow.id,
        command=AlertResolveCreate(expected_version=1, outcome=Outcome.NO_ACTION_NEEDED),
        now=NOW,
    )
    assert done.status == "resolved"


def test_one_decision_for_all_of_a_citizens_alerts() -> None:
    uow = FakeUnitOfWork()
    anna = citizen(uow)
    uow.tablets.devices[anna.id] = "tablet-1"
    red = alert(uow, anna)
    yellow = alert(uow, anna, severity="yellow", band=1, rule="pulse.absolute")
    done = settle_citizen(
        uow,
        actor=staff(),
        citizen_id=anna.id,
        command=CitizenSettleCreate(
            alert_versions={red.id: 1, yellow.id: 1}, note="Ringet op", notify_citizen=True
        ),
        now=NOW,
    )
    assert set(done.acknowledged) == {red.id, yellow.id}
    assert (red.status, yellow.status) == ("acknowledged", "acknowledged")
    assert red.acknowledge_note == "Ringet op"
    assert [n.kind for n in uow.tablets.notices] == ["acknowledged"]  # one, not two


def test_resolving_all_needs_an_outcome_and_a_note_for_the_red() -> None:
    uow = FakeUnitOfWork()
    anna = citizen(uow)
    red = alert(uow, anna)
    yellow = alert(uow, anna, severity="yellow", band=1, rule="pulse.absolute")
    seen = {red.id: 1, yellow.id: 1}
    with pytest.raises(DocumentationMissingError) as no_outcome:
        settle_citizen(
            uow,
            actor=staff(),
            citizen_id=anna.id,
            command=CitizenSettleCreate(resolve=True, alert_versions=seen, note="x"),
            now=NOW,
        )
    assert no_outcome.value.field == "outcome"
    with pytest.raises(DocumentationMissingError) as no_note:
        settle_citizen(
            uow,
            actor=staff(),
            citizen_id=anna.id,
            command=CitizenSettleCreate(
                resolve=True, alert_versions=seen, outcome=Outcome.CONTACTED_CITIZEN
            ),
            now=NOW,
        )
    assert no_note.value.field == "note"


def test_an_alert_she_did_not_see_is_left_alone_and_a_changed_one_is_refused() -> None:
    uow = FakeUnitOfWork()
    anna = citizen(uow)
    red = alert(uow, anna)
    newer = alert(uow, anna, severity="yellow", band=1, rule="pulse.absolute", age=timedelta())
    settle_citizen(
        uow,
        actor=staff(),
        citizen_id=anna.id,
        command=CitizenSettleCreate(alert_versions={red.id: 1}, note="Set"),
        now=NOW,
    )
    assert newer.status == "open"
    with pytest.raises(StaleAlertError):
        settle_citizen(
            uow,
            actor=staff(),
            citizen_id=anna.id,
            command=CitizenSettleCreate(alert_versions={newer.id: 7}),
            now=NOW,
        )
    red.status = "resolved"
    with pytest.raises(ConflictError):
        settle_citizen(
            uow,
            actor=staff(),
            citizen_id=anna.id,
            command=CitizenSettleCreate(alert_versions={red.id: 2}),
            now=NOW,
        )
