"""The evaluator's arithmetic on a small hand-made cohort whose answers are known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pust.domain.severity import AlertKind, Severity
from pust.evaluation.metrics import EvaluationInput, RaisedAlert, TriagedItem, evaluate
from pust.evaluation.recording import Episode
from pust_cli.simulator.cohort import PRODROME, Exacerbation

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def episode(device: str, onset: float) -> Episode:
    """As the simulator records one: its symptom prodrome starts PRODROME before onset."""
    return Episode(device, h(onset), h(onset + 240), h(onset) - PRODROME)


def test_hand_made_cohort() -> None:
    # a: flagged 10 h after onset (within 24 h); b: flagged 30 h after onset (during, not
    # within 24 h, within 48 h); c: a flag only before the prodrome (more than 2 days before
    # onset) and a late one during: not flagged.
    exacerbations = [episode("a", 100), episode("b", 200), episode("c", 300)]
    triaged = [
        TriagedItem("a", h(50), Severity.GREEN),
        TriagedItem("a", h(110), Severity.YELLOW),
        TriagedItem("a", h(120), Severity.RED),
        TriagedItem("b", h(230), Severity.YELLOW),
        TriagedItem("b", h(231), Severity.GREEN, is_questionnaire=True),
        TriagedItem("c", h(240), Severity.RED),
        TriagedItem("c", h(310), Severity.RED, late=True),
        TriagedItem("d", h(10), Severity.GREEN),
        TriagedItem("d", h(11), Severity.YELLOW, is_questionnaire=True),
    ]
    alerts = [
        RaisedAlert("a", h(110), AlertKind.READING, Severity.RED, "spo2.absolute"),
        RaisedAlert("b", h(230), AlertKind.READING, Severity.YELLOW, "fev1.baseline"),
        RaisedAlert("c", h(240), AlertKind.READING, Severity.RED, "spo2.absolute"),
        RaisedAlert("d", h(11), AlertKind.READING, Severity.YELLOW, "questionnaire.symptoms"),
        RaisedAlert("d", h(40), AlertKind.MISSED_MEASUREMENT, Severity.GREEN, "plan.missed"),
        RaisedAlert("d", h(41), AlertKind.MISSED_MEASUREMENT, Severity.GREEN, "plan.missed"),
        RaisedAlert("c", h(60), AlertKind.SILENT_DEVICE, Severity.GREEN, "device.silent"),
    ]
    result = evaluate(
        EvaluationInput(
            citizens=4,
            days=14,
            exacerbations=exacerbations,
            triaged=triaged,
            alerts=alerts,
            rejected_messages=2,
        )
    )
    assert result.exacerbations == 3
    assert result.flagged_within_24h == 1
    assert result.flagged_within_48h == 2
    assert result.flagged_during_episode == 2
    assert result.share_flagged_within_24h == pytest.approx(1 / 3)
    assert result.share_flagged_during_episode == pytest.approx(2 / 3)
    assert result.median_hours_to_flag == pytest.approx((10 + 30) / 2)
    # readings exclude questionnaire responses: 7 readings, 2 green (a at 50 h, d at 10 h)
    assert result.readings == 7
    assert result.readings_green == 2
    assert result.share_needing_no_nurse == pytest.approx(2 / 7)
    assert result.reading_alerts == 4
    assert result.red_alerts == 2
    # a's and b's alerts fall inside their episodes; c's is before the prodrome; d has none
    assert result.reading_alerts_outside_episodes == 2
    assert result.share_outside_episodes == pytest.approx(2 / 4)
    assert result.missed_measurement_alerts == 2
    assert result.silent_tablet_alerts == 1
    assert result.nurse_alerts == 7
    assert result.citizen_weeks == 8
    assert result.per_citizen_week(result.nurse_alerts) == pytest.approx(7 / 8)
    assert result.rejected_messages == 2


def test_no_exacerbations_gives_no_share_rather_than_zero() -> None:
    result = evaluate(EvaluationInput(citizens=1, days=7, exacerbations=[], triaged=[], alerts=[]))
    assert result.share_flagged_within_24h is None
    assert result.share_needing_no_nurse is None
    assert result.median_hours_to_flag is None
    assert result.per_citizen_week(0) == 0


def test_a_flag_in_the_prodrome_is_an_early_warning_and_a_watch_is_no_task() -> None:
    exacerbations = [episode("a", 100)]
    triaged = [
        TriagedItem("a", h(70), Severity.GREEN, watched=True),  # a watch: not a flag
        TriagedItem("a", h(80), Severity.YELLOW),  # 20 h before onset: in the prodrome
    ]
    alerts = [
        RaisedAlert("a", h(70), AlertKind.WATCH, Severity.YELLOW, "spo2.absolute.watch"),
        RaisedAlert("a", h(20), AlertKind.WATCH, Severity.YELLOW, "spo2.absolute.watch"),
        RaisedAlert("a", h(80), AlertKind.READING, Severity.YELLOW, "spo2.persistence"),
    ]
    result = evaluate(
        EvaluationInput(
            citizens=1, days=14, exacerbations=exacerbations, triaged=triaged, alerts=alerts
        )
    )
    assert result.flagged_within_24h == 1
    assert result.median_hours_to_flag == 0
    assert result.reading_alerts == 1
    assert result.reading_alerts_outside_episodes == 0
    assert result.nurse_alerts == 1  # watches are counted apart
    assert result.watch_alerts == 2
    assert result.watch_alerts_outside_episodes == 1


def test_flag_exactly_24_hours_after_onset_counts() -> None:
    exacerbations = [episode("a", 0)]
    triaged = [TriagedItem("a", h(24), Severity.YELLOW)]
    result = evaluate(
        EvaluationInput(citizens=1, days=7, exacerbations=exacerbations, triaged=triaged, alerts=[])
    )
    assert result.flagged_within_24h == 1


def test_replay_through_real_triage_flags_a_deep_exacerbation() -> None:
    from dataclasses import replace

    from pust.domain.limits import default_rule_set
    from pust.evaluation.replay import Replay
    from pust_cli.simulator.cohort import Cohort, CohortSpec, build_cohort
    from pust_cli.simulator.recording import cohort_recording
    from pust_cli.simulator.timeline import SimPlan

    start = datetime(2026, 1, 5, tzinfo=UTC)
    built = build_cohort(
        CohortSpec(citizens=2, start=start, days=35, seed=9, exacerbations_per_year=0)
    )
    deep = Exacerbation(
        built.citizens[0].device_id,
        start + timedelta(days=20, hours=6),
        start + timedelta(days=22),
        start + timedelta(days=30),
        1.0,
    )
    citizens = (
        replace(
            built.citizens[0],
            adherence=1.0,
            late_upload_rate=0.0,
            silent_rate=0.0,
            exacerbations=(deep,),
        ),
        replace(built.citizens[1], adherence=1.0, late_upload_rate=0.0, silent_rate=0.0),
    )
    cohort = Cohort(built.spec, citizens)
    rules = default_rule_set()
    result = evaluate(Replay(cohort_recording(cohort, SimPlan()), lambda _d, _b: rules).run())
    assert result.exacerbations == 1
    assert result.flagged_during_episode == 1
    assert result.missed_measurement_alerts == 0  # everybody measured every time
    assert result.silent_tablet_alerts == 0
    assert 0 < result.readings_green < result.readings


def test_configurations_are_stored_rule_sets_and_the_report_gives_goals_and_curve() -> None:
    from pust.domain.limits import (
        default_rule_set,
        parse_rule_set,
        population_rule_set,
        starting_rule_set_v2,
        starting_rule_set_v3,
    )
    from pust_cli.evaluate.configurations import configurations, run_evaluation, stored
    from pust_cli.evaluate.report import render_svg, render_table

    shipped, *alternatives = configurations()
    assert shipped.rules == default_rule_set() and shipped.version == 4
    assert [(c.name, c.version) for c in alternatives] == [
        ("starting configuration v3", 3),
        ("population limits", 1),
    ]
    # the stored alternatives are the earlier defaults, as the code still builds them
    assert [c.rules for c in alternatives] == [starting_rule_set_v3(), population_rule_set()]
    assert stored("starting-v2").rules == starting_rule_set_v2()  # kept for --rules
    assert stored("quieter-v2").version == 2  # kept for --rules
    for configuration in alternatives:
        assert parse_rule_set(configuration.document()["rules"]) == configuration.rules
    run = run_evaluation(citizens=3, weeks=3, seed=1)
    table = render_table(run)
    assert "flagged yellow/red within 48 h of onset" in table
    assert "flagged within 48 h (goal >= 95 %)" in table
    assert "tasks per citizen-week (goal <= 1.0)" in table
    assert "watches (lower band, not a task)" in table
    assert table.count("tasks/citizen-week") == 3  # each configuration's place on the curve
    assert "the curve" in render_svg(run)  # no episodes in 3 citizens: no points, no zeros
