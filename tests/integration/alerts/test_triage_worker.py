from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import select

from pust.db.engine import session_scope
from pust.db.tables import Alert, Baseline, LimitSet, OutboxMessage, Reading, TriageResult
from pust.domain.clock import FrozenClock
from pust.domain.limits import AbsoluteLimit, RuleSet, SymptomScoreRule, population_rule_set
from pust.domain.measurement_types import MeasurementType
from pust.domain.routing import OpeningInterval, RoutingPolicy
from pust.messaging.topics import Topics
from services.alerts.triage_worker import TriageWorker

from .world import NOW, add_reading, add_response, seed


def _worker(engine: Engine, clock: FrozenClock | None = None) -> TriageWorker:
    return TriageWorker(engine=engine, clock=clock or FrozenClock(NOW), topics=Topics("t/pust/v1"))


def _alerts(engine: Engine) -> list[Alert]:
    with session_scope(engine) as session:
        return list(session.exec(select(Alert).order_by(Alert.rule_key)).all())


def test_red_and_yellow_readings_give_one_alert_per_rule(engine: Engine) -> None:
    # v1 rules: a single yellow reading is a task of the same rule as the red
    world = seed(engine, rules=population_rule_set())
    for minutes, value in ((0, 86), (10, 89), (20, 95), (30, 85)):
        add_reading(
            engine,
            world,
            type_="spo2",
            value=value,
            unit="%",
            measured_at=NOW + timedelta(minutes=minutes),
        )
    add_reading(engine, world, type_="pulse", value=125, unit="/min", measured_at=NOW)
    worker = _worker(engine)
    assert worker.drain() == 5
    assert worker.drain() == 0
    alerts = _alerts(engine)
    assert [(a.rule_key, a.severity, a.count, a.status) for a in alerts] == [
        ("pulse.absolute", "red", 1, "open"),
        ("spo2.absolute", "red", 3, "open"),
    ]
    spo2 = alerts[1]
    assert spo2.last_value == 85 and spo2.limit_set_id == world.limit_set_id
    with session_scope(engine) as session:
        results = session.exec(select(TriageResult)).all()
        assert len(results) == 5
        assert all(r.limit_set_id == world.limit_set_id for r in results)
        reasons = next(
            r for r in results if r.severity == "red" and r.reasons[0]["value"] == 86
        ).reasons
        assert reasons[0] == {
            "rule": "spo2.absolute",
            "severity": "red",
            "value": 86,
            "limit": 88,
            "comparison": "<",
            "text_da": "SpO2 86 % < rød grænse 88 %",
        }
        assert all(r.triaged_at is not None for r in session.exec(select(Reading)).all())


def test_late_and_invalid_readings(engine: Engine) -> None:
    world = seed(engine)
    late = add_reading(
        engine,
        world,
        type_="spo2",
        value=80,
        unit="%",
        measured_at=NOW - timedelta(days=3),
        late=True,
    )
    invalid = add_reading(
        engine, world, type_="spo2", value=70, unit="%", measured_at=NOW, valid=False
    )
    _worker(engine).drain()
    assert _alerts(engine) == []
    with session_scope(engine) as session:
        result = session.exec(select(TriageResult).where(TriageResult.reading_id == late)).one()
        assert result.late and result.severity == "red"
        assert (
            session.exec(select(TriageResult).where(TriageResult.reading_id == invalid)).first()
            is None
        )
        assert session.get(Reading, invalid).triaged_at is not None  # type: ignore[union-attr]


def test_unreadable_limits_give_a_technical_alert_not_silence(engine: Engine) -> None:
    world = seed(engine)
    with session_scope(engine) as session:
        session.add(
            LimitSet(
                citizen_id=world.citizen_ids[0],
                version=1,
                reason="broken import",
                rules={"absolute": [{"type": "spo2", "unit": "kg", "red_low": 88}]},
            )
        )
    add_reading(engine, world, type_="spo2", value=95, unit="%", measured_at=NOW)
    _worker(engine).drain()
    [alert] = _alerts(engine)
    assert (alert.kind, alert.rule_key, alert.band_order) == ("technical", "technical.limits", 0)


def test_a_throwing_rule_gives_a_technical_alert_and_other_rules_still_alert(
    engine: Engine,
) -> None:
    world = seed(engine)
    with session_scope(engine) as session:
        session.add(
            Baseline(citizen_id=world.citizen_ids[0], type="fev1", value=0.0, method="clinician")
        )
        session.add(
            LimitSet(
                citizen_id=world.citizen_ids[0],
                version=1,
                reason="test",
                rules=RuleSet.model_validate(
                    {
                        "absolute": [
                            AbsoluteLimit(
                                type=MeasurementType.FEV1, unit="L", red_low=0.5
                            ).model_dump()
                        ],
                        "baseline": [
                            {
                                "type": "fev1",
                                "direction": "below",
                                "mode": "percent",
                                "yellow": 80,
                                "red": 60,
                            }
                        ],
                    }
                ).to_json(),
            )
        )
    add_reading(engine, world, type_="fev1", value=0.4, unit="L", measured_at=NOW)
    _worker(engine).drain()
    assert [(a.kind, a.rule_key) for a in _alerts(engine)] == [
        ("reading", "fev1.absolute"),
        ("technical", "technical.fev1.baseline"),
    ]


def _answer(engine: Engine, **yes: bool) -> None:
    """One citizen answers the symptom questionnaire ("no" where not given); triaged."""
    world = seed(engine)
    items = ("more_breathless", "more_cough", "more_sputum", "sputum_colour_changed")
    add_response(
        engine, world, answered_at=NOW, answers={item: yes.get(item, False) for item in items}
    )
    _worker(engine).drain()


def test_questionnaire_anthonisen_and_symptoms(engine: Engine) -> None:
    _answer(engine, more_breathless=True, more_sputum=True, sputum_colour_changed=True)
    # the default (v3, as v2): Anthonisen is red; three symptoms are a symptom score 3, a task
    assert [(a.rule_key, a.severity, a.last_response_id is not None) for a in _alerts(engine)] == [
        ("questionnaire.anthonisen", "red", True),
        ("questionnaire.symptom_score", "yellow", True),
    ]


def test_one_symptom_is_a_watch_in_the_lower_band_without_escalation(engine: Engine) -> None:
    _answer(engine, more_cough=True)
    [alert] = _alerts(engine)
    assert (alert.rule_key, alert.kind, alert.severity, alert.status) == (
        "questionnaire.symptom_score.watch",
        "watch",
        "yellow",
        "open",
    )
    assert alert.band_order == 4  # the worklist's lower band
    assert alert.next_escalation_at is None  # not a task: nothing escalates


def test_run_in_median_baseline_is_set_and_used(engine: Engine) -> None:
    world = seed(engine, assigned_since=NOW - timedelta(days=20))
    for day, value in enumerate([95, 96, 95, 94, 95, 96]):
        add_reading(
            engine,
            world,
            type_="spo2",
            value=value,
            unit="%",
            measured_at=NOW - timedelta(days=20 - day),
        )
    worker = _worker(engine)
    worker.drain()
    assert _alerts(engine) == []
    add_reading(engine, world, type_="spo2", value=90, unit="%", measured_at=NOW)  # 5 below 95
    worker.drain()
    [alert] = _alerts(engine)
    # the default (v3, as v2): one reading 5 below the run-in baseline is a watch, not a task
    assert (alert.rule_key, alert.severity, alert.kind) == (
        "spo2.baseline.watch",
        "yellow",
        "watch",
    )
    with session_scope(engine) as session:
        baseline = session.exec(select(Baseline)).one()
        assert (baseline.type, baseline.value, baseline.method) == ("spo2", 95.0, "run_in_median")


def test_auto_resolve_per_rule(engine: Engine) -> None:
    rules = RuleSet(
        absolute=(
            AbsoluteLimit(type=MeasurementType.SPO2, unit="%", red_low=88, auto_resolve=True),
        )
    )
    world = seed(engine, rules=rules)
    add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=NOW)
    worker = _worker(engine)
    worker.drain()
    # an older normal reading arriving later does not resolve it
    add_reading(
        engine, world, type_="spo2", value=95, unit="%", measured_at=NOW - timedelta(hours=1)
    )
    worker.drain()
    assert _alerts(engine)[0].status == "open"
    add_reading(
        engine, world, type_="spo2", value=95, unit="%", measured_at=NOW + timedelta(hours=1)
    )
    worker.drain()
    [alert] = _alerts(engine)
    assert (alert.status, alert.outcome, alert.open_key) == ("resolved", "auto_resolved", None)


def test_out_of_hours_alert_queues_with_a_notice_to_the_tablet(engine: Engine) -> None:
    hours = (OpeningInterval(opens="08:00", closes="15:30"),)
    policy = RoutingPolicy(opening_hours={"mon": hours, "tue": hours}, out_of_hours="queue")
    world = seed(engine, routing=policy)
    saturday = NOW + timedelta(days=5)
    add_reading(engine, world, type_="spo2", value=85, unit="%", measured_at=saturday)
    _worker(engine, FrozenClock(saturday)).drain()
    with session_scope(engine) as session:
        [notice] = session.exec(select(OutboxMessage)).all()
        assert notice.channel == "mqtt"
        assert notice.destination == f"t/pust/v1/devices/{world.device_ids[0]}/notices"
        assert notice.payload["kind"] == "out_of_hours"
        assert "1813" in notice.payload["text"]


def test_weight_change_uses_the_citizens_history_in_the_database(engine: Engine) -> None:
    world = seed(engine, citizens=2)
    add_reading(
        engine, world, type_="weight", value=70.0, unit="kg", measured_at=NOW - timedelta(days=6)
    )
    add_reading(
        engine, world, type_="weight", value=60.0, unit="kg", measured_at=NOW - timedelta(days=9)
    )
    add_reading(
        engine,
        world,
        type_="weight",
        value=70.0,
        unit="kg",
        measured_at=NOW - timedelta(days=1),
        valid=False,
    )
    add_reading(
        engine,
        world,
        type_="weight",
        value=90.0,
        unit="kg",
        measured_at=NOW - timedelta(days=2),
        citizen=1,
    )
    add_reading(engine, world, type_="weight", value=73.2, unit="kg", measured_at=NOW)
    add_reading(engine, world, type_="weight", value=90.5, unit="kg", measured_at=NOW, citizen=1)
    _worker(engine).drain()
    [alert] = _alerts(engine)
    assert (alert.rule_key, alert.severity, alert.citizen_id) == (
        "weight.change",
        "red",
        world.citizen_ids[0],
    )
    assert alert.reasons[0]["change"] == 3.2


def _sheet(engine: Engine, world: object, at_hours_ago: float, **yes: bool) -> None:
    items = ("more_breathless", "more_cough", "more_sputum", "sputum_colour_changed")
    add_response(
        engine,
        world,  # type: ignore[arg-type]
        answered_at=NOW - timedelta(hours=at_hours_ago),
        answers={item: yes.get(item, False) for item in items},
    )


def _score_rules() -> RuleSet:
    return RuleSet(
        rules=(
            SymptomScoreRule(
                questionnaire="kol-symptoms-v1",
                items=("more_breathless", "more_cough", "more_sputum", "sputum_colour_changed"),
                watch=1,
                yellow=2,
                spo2_points_below_baseline=2,
                holds_within_days=2,
                holds_same_symptom=True,
            ),
        )
    )


def test_one_symptom_on_two_sheets_in_a_row_is_a_task(engine: Engine) -> None:
    # the worker gives the score rule the citizen's earlier sheets (rule set v3's "holds")
    world = seed(engine, rules=_score_rules())
    _sheet(engine, world, 24, more_cough=True)
    worker = _worker(engine)
    worker.drain()
    assert [(a.rule_key, a.kind) for a in _alerts(engine)] == [
        ("questionnaire.symptom_score.watch", "watch")
    ]
    _sheet(engine, world, 0, more_cough=True)
    worker.drain()
    task = next(a for a in _alerts(engine) if a.kind != "watch")
    assert (task.rule_key, task.severity) == ("questionnaire.symptom_score", "yellow")
    with session_scope(engine) as session:
        result = session.exec(
            select(TriageResult).where(
                TriageResult.questionnaire_response_id == task.last_response_id
            )
        ).one()
    assert "to skemaer i træk" in result.reasons[0]["text_da"]


def test_one_symptom_with_the_same_mornings_low_spo2_is_a_task(engine: Engine) -> None:
    world = seed(engine, rules=_score_rules(), assigned_since=NOW - timedelta(days=20))
    for day, value in enumerate([95, 96, 95, 94, 95, 96]):  # run-in median 95
        add_reading(
            engine,
            world,
            type_="spo2",
            value=value,
            unit="%",
            measured_at=NOW - timedelta(days=20 - day),
        )
    add_reading(engine, world, type_="spo2", value=93, unit="%", measured_at=NOW)  # 2 below
    _sheet(engine, world, -0.05, more_breathless=True)  # three minutes after the reading
    _worker(engine).drain()
    [task] = [a for a in _alerts(engine) if a.kind != "watch"]
    assert (task.rule_key, task.severity) == ("questionnaire.symptom_score", "yellow")
