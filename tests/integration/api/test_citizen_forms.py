"""The citizen page's forms answer a mistake beside the field, in Danish, with what was
typed kept, and save nothing; a correct form saves through the same code as the API."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pust.db.tables import LimitSet, PausePeriod, Plan
from tests.integration.api.test_web import login
from tests.integration.api.world import World


def _versions(engine: Engine, model: type[LimitSet] | type[Plan], citizen: object) -> int:
    with Session(engine) as s:
        return len(s.exec(select(model).where(col(model.citizen_id) == citizen)).all())


def _error_beside(html: str, input_id: str) -> str:
    """The error text the input points at with aria-describedby."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]*id="{input_id}"[^>]*>', html)
    assert tag is not None, f"no input {input_id}"
    assert 'aria-invalid="true"' in tag.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert described is not None
    error_id = next(i for i in described.group(1).split() if i.endswith("-err"))
    error = re.search(rf'id="{error_id}">([^<]+)<', html)
    assert error is not None
    return error.group(1)


def _value_of(html: str, input_id: str) -> str:
    tag = re.search(rf'<input[^>]*id="{input_id}"[^>]*>', html)
    assert tag is not None
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def test_contradictory_limits_are_answered_beside_the_field(
    client: TestClient, engine: Engine, world: World
) -> None:
    csrf = login(client, "nurse-a")
    citizen = world.a.citizen_ids[0]
    before = _versions(engine, LimitSet, citizen)
    response = client.post(
        f"/ui/citizens/{citizen}/limits",
        data={
            "csrf_token": csrf,
            "expected_version": "1",
            "reason": "Lægen har ringet",
            "r.absolute.0.red_low": "92",
            "r.absolute.0.yellow_low": "90",
            "r.absolute.1.red_high": "abc",
        },
    )
    assert response.status_code == 422
    html = response.text
    # a word where a number belongs is named first, before the rules are weighed
    assert _error_beside(html, "lim-absolute-1-red_high") == "Skal være et tal, fx 37,5."
    assert _value_of(html, "lim-absolute-0-red_low") == "92"
    assert _value_of(html, "lim-absolute-1-red_high") == "abc"
    assert _value_of(html, "lim-reason") == "Lægen har ringet"
    assert '<details id="sec-limits" open>' in html
    assert _versions(engine, LimitSet, citizen) == before

    # the number fixed: now the contradiction itself is named beside its field
    again = client.post(
        f"/ui/citizens/{citizen}/limits",
        data={
            "csrf_token": csrf,
            "expected_version": "1",
            "reason": "Lægen har ringet",
            "r.absolute.0.red_low": "92",
            "r.absolute.0.yellow_low": "90",
        },
    )
    assert again.status_code == 422
    assert (
        _error_beside(again.text, "lim-absolute-0-yellow_low")
        == "Gul under (90) skal være højere end rød under (92)."
    )
    assert _versions(engine, LimitSet, citizen) == before


def test_baseline_and_change_rules_are_edited_in_danish_numbers(
    client: TestClient, engine: Engine, world: World
) -> None:
    csrf = login(client, "nurse-a")
    citizen = world.a.citizen_ids[0]
    page = client.get(f"/citizens/{citizen}?open=limits")
    assert "I forhold til basislinjen" in page.text and "Ændring over dage" in page.text
    response = client.post(
        f"/ui/citizens/{citizen}/limits",
        data={
            "csrf_token": csrf,
            "expected_version": "1",
            "reason": "Ordineret af lungeklinikken",
            "r.baseline.1.yellow": "75",
            "r.baseline.1.red": "55",
            "r.change.0.window_days": "5",
            "r.change.0.yellow": "1,5",
            "r.change.0.red": "2,5",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert "done=saved_limits" in response.headers["location"]
    with Session(engine) as s:
        newest = s.exec(
            select(LimitSet).where(LimitSet.citizen_id == citizen, LimitSet.version == 2)
        ).one()
    fev1 = next(r for r in newest.rules["baseline"] if r["type"] == "fev1")
    weight = next(r for r in newest.rules["change"] if r["type"] == "weight")
    assert (fev1["yellow"], fev1["red"], fev1["mode"]) == (75, 55, "percent")
    assert (weight["window_days"], weight["yellow"], weight["red"]) == (5, 1.5, 2.5)
    shown = client.get(response.headers["location"])
    assert "Grænseværdierne er gemt." in shown.text
    assert "Ordineret af lungeklinikken" in shown.text  # the history: why
    assert _value_of(shown.text, "lim-change-0-yellow") == "1,5"

    # a red percentage above the yellow one is a contradiction for "below"
    bad = client.post(
        f"/ui/citizens/{citizen}/limits",
        data={
            "csrf_token": csrf,
            "expected_version": "2",
            "reason": "Forsøg",
            "r.baseline.1.yellow": "60",
            "r.baseline.1.red": "80",
        },
    )
    assert bad.status_code == 422
    assert _error_beside(bad.text, "lim-baseline-1-red") == "Rød (80 %) skal være højst gul (60 %)."


def test_a_new_rule_is_added_from_the_editor(
    client: TestClient, engine: Engine, world: World
) -> None:
    csrf = login(client, "nurse-a")
    citizen = world.a.citizen_ids[0]
    response = client.post(
        f"/ui/citizens/{citizen}/limits",
        data={
            "csrf_token": csrf,
            "expected_version": "1",
            "reason": "Temperatur følges",
            "n.change.type": "temperature",
            "n.change.window_days": "3",
            "n.change.yellow": "1,0",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    with Session(engine) as s:
        newest = s.exec(
            select(LimitSet).where(LimitSet.citizen_id == citizen, LimitSet.version == 2)
        ).one()
    temperature = next(r for r in newest.rules["change"] if r["type"] == "temperature")
    assert temperature["unit"] == "Cel" and temperature["yellow"] == 1.0


def test_a_bad_plan_time_is_answered_beside_the_field(
    client: TestClient, engine: Engine, world: World
) -> None:
    csrf = login(client, "nurse-a")
    citizen = world.a.citizen_ids[0]
    before = _versions(engine, Plan, citizen)
    data = {
        "csrf_token": csrf,
        "expected_version": "1",
        "weekdays": ["mon", "thu"],
        "times": "08:00, 25:00",
        "measurements": ["spo2", "pulse"],
        "grace_minutes": "120",
        "reminder_minutes": "0, 60",
        "reason": "Ny rytme",
    }
    response = client.post(f"/ui/citizens/{citizen}/plan", data=data)
    assert response.status_code == 422
    assert (
        _error_beside(response.text, "plan-times")
        == "Tidspunktet 25:00 findes ikke; brug 00:00–23:59."
    )
    assert _value_of(response.text, "plan-times") == "08:00, 25:00"
    assert "mandag" in response.text and "torsdag" in response.text
    assert _versions(engine, Plan, citizen) == before

    # a grace period of 45 minutes with the old reminder at 60: named at the reminders
    short = client.post(
        f"/ui/citizens/{citizen}/plan", data={**data, "times": "08:00", "grace_minutes": "45"}
    )
    assert short.status_code == 422
    assert (
        _error_beside(short.text, "plan-reminders")
        == "Påmindelsen 60 min efter måletid ligger uden for fristen på 45 min."
    )
    fixed = client.post(
        f"/ui/citizens/{citizen}/plan",
        data={**data, "times": "08:00", "grace_minutes": "45", "reminder_minutes": "0, 30"},
        follow_redirects=False,
    )
    assert fixed.status_code == 303, fixed.text
    with Session(engine) as s:
        plan = s.exec(select(Plan).where(Plan.citizen_id == citizen, Plan.version == 2)).one()
    assert plan.schedule["grace_minutes"] == 45
    assert plan.schedule["reminder_minutes"] == [0, 30]


def test_pause_note_and_message_errors_keep_the_input(
    client: TestClient, engine: Engine, world: World
) -> None:
    csrf = login(client, "nurse-a")
    citizen = world.a.citizen_ids[0]
    pause = client.post(
        f"/ui/citizens/{citizen}/pauses",
        data={
            "csrf_token": csrf,
            "starts_on": "2026-12-09",
            "ends_on": "2026-12-01",
            "reason": "Indlagt",
        },
    )
    assert pause.status_code == 422
    assert _error_beside(pause.text, "pause-end") == "Slutdatoen skal ligge efter startdatoen."
    assert _value_of(pause.text, "pause-reason") == "Indlagt"
    note = client.post(f"/ui/citizens/{citizen}/notes", data={"csrf_token": csrf, "text": ""})
    assert note.status_code == 422
    assert "Skal være mindst 1 tegn." in note.text or "Skal udfyldes." in note.text
    message = client.post(
        f"/ui/citizens/{citizen}/messages",
        data={"csrf_token": csrf, "text": "x" * 501, "kind": "message"},
    )
    assert message.status_code == 422
    assert "Må højst være 500 tegn." in message.text
    assert "x" * 501 in message.text

    # a pause "until 9 December" is shown as ending on 9 December, not 10.12 00.00
    saved = client.post(
        f"/ui/citizens/{citizen}/pauses",
        data={
            "csrf_token": csrf,
            "starts_on": "2026-12-01",
            "ends_on": "2026-12-09",
            "reason": "Sommerhus i Skagen",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    page = client.get(saved.headers["location"])
    assert "01.12.2026 – 09.12.2026: Sommerhus i Skagen" in page.text
    with Session(engine) as s:
        assert s.exec(select(PausePeriod).where(PausePeriod.reason == "Sommerhus i Skagen")).one()
