"""What a worker reads of a citizen between batches: a changed limit set or baseline applies
to the very next reading the same worker triages (nothing of it is kept stale), and the
history a batch loads holds every earlier reading once."""

from datetime import timedelta
from uuid import UUID

from sqlalchemy import Engine
from sqlmodel import select

from pust.db.engine import session_scope
from pust.db.tables import Alert, Baseline, LimitSet, TriageResult
from pust.domain.clock import FrozenClock
from pust.domain.limits import AbsoluteLimit, RuleSet, SymptomScoreRule
from pust.domain.measurement_types import MeasurementType
from pust.messaging.topics import Topics
from services.alerts.reading_history import HistoryWanted, ReadingHistory
from services.alerts.triage_worker import TriageWorker

from .world import NOW, AlertsWorld, add_reading, add_response, seed


def _spo2_red_below(limit: float) -> dict[str, object]:
    return RuleSet(
        rules=(AbsoluteLimit(type=MeasurementType.SPO2, unit="%", red_low=limit),)
    ).to_json()


def _add_limits(
    engine: Engine, world: AlertsWorld, rules: dict[str, object], *, own: bool, version: int
) -> UUID:
    with session_scope(engine) as session:
        limit_set = LimitSet(
            citizen_id=world.citizen_ids[0] if own else None,
            care_team_id=None if own else world.team_id,
            version=version,
            rules=rules,
            reason="test",
        )
        session.add(limit_set)
        session.flush()
        return limit_set.id


def _triage_one(engine: Engine, worker: TriageWorker, world: AlertsWorld, minutes: int) -> int:
    reading_id = add_reading(
        engine,
        world,
        type_="spo2",
        value=95,
        unit="%",
        measured_at=NOW + timedelta(minutes=minutes),
    )
    assert worker.drain() == 1
    return reading_id


def _result(engine: Engine, reading_id: int) -> tuple[str, UUID | None, list[object]]:
    with session_scope(engine) as session:
        result = session.exec(
            select(TriageResult).where(TriageResult.reading_id == reading_id)
        ).one()
        limits = [reason["limit"] for reason in result.reasons if "limit" in reason]
        return result.severity, result.limit_set_id, limits


def test_a_changed_limit_set_applies_to_the_next_reading(engine: Engine) -> None:
    world = seed(engine)
    worker = TriageWorker(engine=engine, clock=FrozenClock(NOW), topics=Topics("t/pust/v1"))

    first = _triage_one(engine, worker, world, 0)
    assert _result(engine, first) == ("green", world.limit_set_id, [])

    own = _add_limits(engine, world, _spo2_red_below(97), own=True, version=1)
    second = _triage_one(engine, worker, world, 1)
    assert _result(engine, second) == ("red", own, [97])

    # a newer group default does not override the citizen's own limits
    _add_limits(engine, world, _spo2_red_below(99), own=False, version=2)
    third = _triage_one(engine, worker, world, 2)
    assert _result(engine, third) == ("red", own, [97])

    newer_own = _add_limits(engine, world, _spo2_red_below(90), own=True, version=2)
    fourth = _triage_one(engine, worker, world, 3)
    assert _result(engine, fourth) == ("green", newer_own, [])
    with session_scope(engine) as session:
        [alert] = session.exec(select(Alert)).all()
        assert (alert.rule_key, alert.count) == ("spo2.absolute", 2)


def test_a_new_baseline_applies_to_the_next_reading(engine: Engine) -> None:
    rules = RuleSet.model_validate(
        {
            "baseline": [
                {"type": "spo2", "direction": "below", "mode": "points", "yellow": 2, "red": 4}
            ]
        }
    ).to_json()
    world = seed(engine)
    _add_limits(engine, world, rules, own=True, version=1)
    with session_scope(engine) as session:
        session.add(
            Baseline(citizen_id=world.citizen_ids[0], type="spo2", value=96, method="clinician")
        )
    worker = TriageWorker(engine=engine, clock=FrozenClock(NOW), topics=Topics("t/pust/v1"))
    assert _result(engine, _triage_one(engine, worker, world, 0))[0] == "green"
    with session_scope(engine) as session:
        for row in session.exec(select(Baseline)).all():
            row.superseded_at = NOW
        session.add(
            Baseline(
                citizen_id=world.citizen_ids[0],
                type="spo2",
                value=99.5,
                method="clinician",
                set_at=NOW + timedelta(seconds=1),
            )
        )
    assert _result(engine, _triage_one(engine, worker, world, 1))[0] == "red"


def test_history_loaded_twice_holds_each_earlier_reading_once(engine: Engine) -> None:
    world = seed(engine, citizens=2)
    for citizen in (0, 1):
        for minutes in (1, 2, 3):
            for type_, value in (("spo2", 90), ("pulse", 80)):
                add_reading(
                    engine,
                    world,
                    type_=type_,
                    value=value,
                    unit="%" if type_ == "spo2" else "/min",
                    measured_at=NOW - timedelta(minutes=minutes),
                    citizen=citizen,
                )
    first, second = world.citizen_ids
    with session_scope(engine) as session:
        history = ReadingHistory(session)
        history.load([HistoryWanted(first, -1, NOW, {"pulse": 1})])
        # one query for both types and citizens: it reads the first citizen's pulse again
        history.load(
            [
                HistoryWanted(first, -1, NOW, {"spo2": 1}),
                HistoryWanted(second, -1, NOW, {"pulse": 1}),
            ]
        )
        found = history.of(HistoryWanted(first, -1, NOW, {"spo2": 1, "pulse": 1}))
        other = history.of(HistoryWanted(second, -1, NOW, {"pulse": 1}))
    assert {type_: len(values) for type_, values in found.items()} == {"spo2": 3, "pulse": 3}
    assert {type_: len(values) for type_, values in other.items()} == {"pulse": 3}


def test_two_sheets_in_one_batch_see_each_other_in_order(engine: Engine) -> None:
    # one query for the earlier sheets of the whole batch: the later sheet holds with the
    # earlier one of the same batch, the earlier one sees nothing before it
    rules = RuleSet(
        rules=(
            SymptomScoreRule(
                questionnaire="kol-symptoms-v1",
                items=("more_breathless", "more_cough", "more_sputum", "sputum_colour_changed"),
                watch=1,
                yellow=2,
                holds_within_days=2,
                holds_same_symptom=True,
            ),
        )
    )
    world = seed(engine, rules=rules)
    answers = {"more_breathless": False, "more_cough": True, "more_sputum": False}
    earlier = add_response(engine, world, answers=answers, answered_at=NOW - timedelta(hours=20))
    later = add_response(engine, world, answers=answers, answered_at=NOW)
    worker = TriageWorker(engine=engine, clock=FrozenClock(NOW), topics=Topics("t/pust/v1"))
    assert worker.drain() == 2
    with session_scope(engine) as session:
        severity = {
            r.questionnaire_response_id: r.severity for r in session.exec(select(TriageResult))
        }
    assert severity == {earlier: "yellow", later: "yellow"}
    with session_scope(engine) as session:
        kinds = sorted((a.rule_key, a.kind) for a in session.exec(select(Alert)).all())
    assert kinds == [
        ("questionnaire.symptom_score", "reading"),
        ("questionnaire.symptom_score.watch", "watch"),
    ]
