"""The evaluation replays missed slots through the same policy as the alerts service: a
reminder on the tablet first, a blue task only after a run of misses; and the simulator's
citizens answer a reminder with a late measurement now and then."""

from dataclasses import replace
from datetime import UTC, datetime

from pust.domain.limits import default_rule_set
from pust.domain.missed_measurement_policy import DEFAULT_POLICY, TASK_EVERY_SLOT
from pust.evaluation.metrics import evaluate
from pust.evaluation.replay import Replay
from pust_cli.evaluate.report import rows
from pust_cli.simulator.cohort import Cohort, CohortSpec, build_cohort
from pust_cli.simulator.recording import cohort_recording
from pust_cli.simulator.timeline import SimPlan, cohort_messages

START = datetime(2026, 1, 5, tzinfo=UTC)


def _cohort() -> Cohort:
    built = build_cohort(
        CohortSpec(citizens=6, start=START, days=21, seed=4, exacerbations_per_year=0)
    )
    citizens = tuple(
        replace(c, adherence=0.6, late_upload_rate=0.0, silent_rate=0.0) for c in built.citizens
    )
    return Cohort(built.spec, citizens)


def test_reminders_first_then_fewer_blue_tasks() -> None:
    cohort = _cohort()
    rules = default_rule_set()
    before = evaluate(
        Replay(
            cohort_recording(cohort, SimPlan(reminder_response=0.0)),
            lambda _d, _b: rules,
            TASK_EVERY_SLOT,
        ).run()
    )
    after = evaluate(
        Replay(cohort_recording(cohort, SimPlan()), lambda _d, _b: rules, DEFAULT_POLICY).run()
    )
    assert before.missed_measurement_alerts > 0
    assert 0 < after.missed_measurement_alerts < before.missed_measurement_alerts
    # every missed slot is reminded once, whether or not it became a task
    assert after.reminders_sent > after.missed_measurement_alerts
    labels = dict(rows(after))
    assert labels["  reminders on the citizen's tablet (no nurse)"].startswith(
        f"{after.reminders_sent} ("
    )


def test_a_reminder_makes_a_late_measurement_likely_the_same_day_and_nothing_else_changes() -> None:
    cohort = _cohort()
    without = list(cohort_messages(cohort, SimPlan(reminder_response=0.0)))
    with_reminders = list(cohort_messages(cohort, SimPlan(reminder_response=1.0)))
    # the cohort is the same; the reminded citizens add late measurements
    without_ids = {m.payload["message_id"] for m in without}
    assert without_ids <= {m.payload["message_id"] for m in with_reminders}
    late = [m for m in with_reminders if m.payload["message_id"] not in without_ids]
    assert late
    assert all(m.channel.value in {"measurements", "questionnaire-responses"} for m in late)
