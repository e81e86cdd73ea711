"""What-if on a team's stored history (issue 13.5), on SQLite and PostgreSQL: moving the
SpO2 yellow limit makes named citizens' alerts disappear or appear, a citizen with limits of
their own keeps them, another team's citizens are never read, and the read is audited."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from pust.db.engine import session_scope
from pust.db.tables import AuditEvent, CareTeam, Citizen, LimitSet
from pust.domain.limits import AbsoluteLimit, RuleSet, population_rule_set
from pust.domain.measurement_types import MeasurementType
from pust.domain.severity import AlertKind
from pust_cli.evaluate.what_if_run import (
    AUDIT_ACTION,
    Actor,
    TeamWhatIf,
    render_what_if,
    team_what_if,
)
from tests.integration.alerts.world import NOW, AlertsWorld, add_reading, seed

ACTOR = Actor("cli:tester", "administrator")


def _with_spo2_yellow(rules: RuleSet, yellow_low: float) -> RuleSet:
    return RuleSet(
        rules=tuple(
            limit.model_copy(update={"yellow_low": yellow_low})
            if isinstance(limit, AbsoluteLimit) and limit.type is MeasurementType.SPO2
            else limit
            for limit in rules.rules
        )
    )


def _daily_spo2(engine: Engine, world: AlertsWorld, citizen: int, value: float) -> None:
    for day in range(1, 11):
        at = NOW - timedelta(days=day, hours=2)
        add_reading(
            engine, world, type_="spo2", value=value, unit="%", measured_at=at, citizen=citizen
        )
        add_reading(
            engine, world, type_="pulse", value=80, unit="/min", measured_at=at, citizen=citizen
        )


@pytest.fixture
def history(engine: Engine) -> tuple[AlertsWorld, AlertsWorld]:
    # the team works with the population limits (v1: one yellow reading is a task), so the
    # yellow limit decides nurse work; under the shipped v2 it makes only watches
    world = seed(engine, citizens=4, rules=population_rule_set())
    with session_scope(engine) as session:  # citizen 3 belongs to another team
        other_team = CareTeam(name=f"Anden klinik {world.team_id.hex[:8]}")
        session.add(other_team)
        session.flush()
        moved = session.get(Citizen, world.citizen_ids[3])
        assert moved is not None
        moved.care_team_id = other_team.id
        session.add(moved)
    team = replace(world, citizen_ids=world.citizen_ids[:3], device_ids=world.device_ids[:3])
    other = replace(
        world,
        team_id=other_team.id,
        citizen_ids=world.citizen_ids[3:],
        device_ids=world.device_ids[3:],
    )
    _daily_spo2(engine, team, 0, 89.5)  # yellow now; green with the limit at 89
    _daily_spo2(engine, team, 1, 91.5)  # green now; yellow with the limit at 92
    _daily_spo2(engine, team, 2, 89.5)  # has limits of her own: keeps them
    _daily_spo2(engine, other, 0, 80.0)  # red, but in another team
    with session_scope(engine) as session:
        session.add(  # enrolment copies the team's limits: still the team's limits
            LimitSet(
                citizen_id=team.citizen_ids[0],
                version=1,
                rules=population_rule_set().to_json(),
                reason="Gruppens standardgrænser",
            )
        )
        session.add(
            LimitSet(
                citizen_id=team.citizen_ids[2],
                version=1,
                rules=_with_spo2_yellow(population_rule_set(), 89.0).to_json(),
                reason="lives low",
            )
        )
    return team, other


def _run(engine: Engine, world: AlertsWorld, proposed: RuleSet) -> TeamWhatIf:
    with session_scope(engine) as session:
        team = session.get(CareTeam, world.team_id)
        assert team is not None
        return team_what_if(
            session,
            team_name=team.name,
            since=timedelta(days=14),
            proposed=proposed,
            now=NOW,
            actor=ACTOR,
        )


def test_lowering_the_spo2_yellow_limit_removes_named_citizens_alerts(
    engine: Engine, history: tuple[AlertsWorld, AlertsWorld]
) -> None:
    team, other = history
    run = _run(engine, team, _with_spo2_yellow(population_rule_set(), 89.0))

    # every one of Borger 0's SpO2 alerts goes (ten days of 89.5 %; the weekend's repeat
    # of an alert nobody reviewed is not a new one), nobody gets a new one
    (changed,) = run.result.changed
    assert run.history.citizen(changed.key).name == "Test Borger 0"
    assert changed.appeared == ()
    readings_now = [a for a in changed.current if a.kind is AlertKind.READING]
    assert len(changed.disappeared) == len(readings_now) >= 6
    # the SpO2 rules share one concern: every alert that goes is an SpO2 alert
    assert {a.rule_key for a in changed.disappeared} == {"spo2.*"}
    assert sorted(c.citizen_id for c in run.history.citizens) == sorted(team.citizen_ids)
    assert other.citizen_ids[0] not in {c.citizen_id for c in run.history.citizens}
    before = run.result.reading_alerts_per_citizen_week(proposed=False)
    after = run.result.reading_alerts_per_citizen_week(proposed=True)
    assert before is not None and after is not None and after < before
    report = render_what_if(run)
    assert f"Test Borger 0: +0 −{len(changed.disappeared)} (spo2.*" in report
    assert "1 citizen(s) have limits of their own" in report

    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == AUDIT_ACTION)).all()
    assert {e.care_team_id for e in events} == {team.team_id}
    assert {e.citizen_id for e in events if e.citizen_id} == set(team.citizen_ids)
    assert [e.resource_type for e in events if e.citizen_id is None] == ["care_team"]
    assert all(e.actor_username == "cli:tester" for e in events)


def test_raising_the_spo2_yellow_limit_adds_named_citizens_alerts(
    engine: Engine, history: tuple[AlertsWorld, AlertsWorld]
) -> None:
    team, _other = history
    run = _run(engine, team, _with_spo2_yellow(population_rule_set(), 92.0))
    (changed,) = run.result.changed
    assert run.history.citizen(changed.key).name == "Test Borger 1"
    assert changed.disappeared == ()
    assert len(changed.appeared) >= 6
    assert not any(a.kind is AlertKind.READING for a in changed.current)
    with Session(engine) as session:
        readers = session.exec(
            select(AuditEvent.citizen_id).where(
                AuditEvent.action == AUDIT_ACTION, col(AuditEvent.citizen_id).is_not(None)
            )
        ).all()
    assert sorted(readers) == sorted(team.citizen_ids)  # type: ignore[type-var]


def test_a_rules_file_that_contradicts_itself_is_rejected_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pust_cli.main import main

    document = population_rule_set().to_json()
    spo2 = next(r for r in document["absolute"] if r["type"] == "spo2")
    spo2["yellow_low"] = 80  # below the red limit
    pulse = next(r for r in document["absolute"] if r["type"] == "pulse")
    pulse["yellow_high"] = 130  # above the red limit
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(document), encoding="utf-8")

    code = main(["evaluate", "--from-database", "--team", "Nord", "--rules", str(rules)])

    out = capsys.readouterr().out
    assert code == 2
    problems = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(problems) == 2, out
    assert "absolute.0" in out and "absolute.1" in out


@pytest.mark.clock_sensitive
def test_the_cli_prints_the_team_leads_report(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from datetime import UTC, datetime

    from pust_cli.main import main

    now = datetime.now(UTC)
    world = seed(engine, citizens=1, now=now)
    for day in range(1, 8):
        at = now - timedelta(days=day, hours=1)
        add_reading(engine, world, type_="spo2", value=91.0, unit="%", measured_at=at)
    with Session(engine) as session:
        team = session.get(CareTeam, world.team_id)
        assert team is not None
        name = team.name
    rules = tmp_path / "proposal.json"
    rules.write_text(json.dumps(_with_spo2_yellow(population_rule_set(), 92.0).to_json()))
    monkeypatch.setenv("PUST_DATABASE_URL", db_url)
    monkeypatch.setenv("PUST_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("PUST_SERVICE_MQTT_PASSWORD", "cli-test-password")

    code = main(
        ["evaluate", "--from-database", "--team", name, "--since", "2w", "--rules", str(rules)]
    )

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"what-if for {name}: 1 citizens, 14 days" in out
    assert "Test Borger 0: +" in out
    with Session(engine) as session:
        actors = set(
            session.exec(
                select(AuditEvent.actor_username).where(AuditEvent.action == AUDIT_ACTION)
            ).all()
        )
    assert len(actors) == 1 and next(iter(actors)).startswith("cli:")
