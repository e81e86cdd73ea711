"""The cohort format (docs/cohort-format.md): every bad line is reported by file and line
number with a protocol error code, never a crash and never skipped; and a cohort written by
the simulator replays to exactly the evaluation of the in-memory run."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pust.domain.limits import default_rule_set
from pust.evaluation.cohort_format import (
    CohortProblem,
    InvalidCohortError,
    export_cohort,
    parse_cohort,
    plan_from_tablet_payload,
)
from pust.evaluation.metrics import evaluate
from pust.evaluation.replay import Replay
from pust_cli.evaluate.cohort_dir import (
    evaluate_cohort,
    export_simulated,
    read_cohort_dir,
    rule_configurations,
)
from pust_cli.simulator.cohort import CohortSpec, build_cohort
from pust_cli.simulator.recording import cohort_recording
from pust_cli.simulator.timeline import SimPlan

START = datetime(2026, 1, 5, tzinfo=UTC)


def _measurement(device: str, at: datetime, spo2: float = 95, unit: str = "%") -> str:
    payload = {
        "message_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{device}/{at.isoformat()}/{spo2}")),
        "sent_at": at.isoformat(),
        "device_id": device,
        "observations": [
            {"type": "spo2", "value": spo2, "unit": unit, "measured_at": at.isoformat()}
        ],
    }
    line = {
        "device_id": device,
        "kind": "measurements",
        "received_at": (at + timedelta(seconds=5)).isoformat(),
        "payload": payload,
    }
    return json.dumps(line)


def _problems(loaded_problems: tuple[CohortProblem, ...]) -> list[tuple[str, int, str]]:
    return [(p.file, p.line, p.code) for p in loaded_problems]


def test_every_bad_line_is_reported_by_line_number_with_its_code() -> None:
    t = START + timedelta(days=1, hours=8)
    lines = [
        _measurement("tablet-001", t),  # 1: good
        "{not json",  # 2: malformed
        json.dumps(["a", "list"]),  # 3: not an object
        json.dumps({"device_id": "tablet-001", "kind": "measurements"}),  # 4: fields missing
        _measurement("tablet-001", t).replace('"measurements"', '"blood"', 1),  # 5: kind
        _measurement("tablet-001", t).replace("+00:00", "", 1),  # 6: naive received_at
        _measurement("TABLET/9", t),  # 7: not a device id
        _measurement("tablet-002", t),  # 8: not in the roster
        "",  # 9: blank lines are not data
        _measurement("tablet-001", t + timedelta(hours=1), unit="lb"),  # 10: validator rejects
        _measurement("tablet-001", t + timedelta(hours=2), spo2=12),  # 11: implausible
        _measurement("tablet-003", START + timedelta(days=21)),  # 12: after the period
    ]
    episodes = [
        json.dumps({"device_id": "tablet-001", "onset": t.isoformat(), "end": t.isoformat()}),
        json.dumps(
            {
                "device_id": "tablet-777",
                "onset": t.isoformat(),
                "end": (t + timedelta(days=3)).isoformat(),
            }
        ),
        "[",
    ]
    manifest = {
        "format": "pust-cohort/1",
        "start": START.isoformat(),
        "days": 21,
        "devices": ["tablet-001", "tablet-003"],
    }
    loaded = parse_cohort(lines, episodes=episodes, manifest=manifest)

    assert _problems(loaded.problems) == [
        ("episodes.jsonl", 1, "schema_violation"),
        ("episodes.jsonl", 2, "unknown_device"),
        ("episodes.jsonl", 3, "invalid_json"),
        ("messages.jsonl", 2, "invalid_json"),
        ("messages.jsonl", 3, "schema_violation"),
        ("messages.jsonl", 4, "schema_violation"),
        ("messages.jsonl", 5, "schema_violation"),
        ("messages.jsonl", 6, "schema_violation"),
        ("messages.jsonl", 7, "unknown_device"),
        ("messages.jsonl", 8, "unknown_device"),
        ("messages.jsonl", 12, "outside_period"),
    ]
    # the roster's citizens all count, also the one that sent nothing
    assert loaded.recording.device_ids == ("tablet-001", "tablet-003")
    assert [m.line for m in loaded.recording.messages] == [1, 10, 11]

    # the validator's rejections come back from the replay with their line and code
    result = evaluate_cohort(loaded)
    rejected = [p for p in result.problems if p.file == "messages.jsonl" and p.line in (10, 11)]
    assert [(p.line, p.code) for p in rejected] == [
        (10, "unit_not_supported"),
        (11, "implausible_value"),
    ]
    assert all(e.rejected_messages == 2 for _, e in result.run.results)
    assert len(result.problems) == len(loaded.problems) + 2


def test_a_cohort_without_manifest_plan_or_episodes_reports_the_burden_only() -> None:
    t = START + timedelta(days=1, hours=8)
    loaded = parse_cohort([_measurement("tablet-001", t), _measurement("tablet-002", t)])
    recording = loaded.recording
    assert loaded.problems == ()
    assert recording.device_ids == ("tablet-001", "tablet-002")
    assert recording.episodes is None
    assert recording.plan.timezone == "Europe/Copenhagen"
    result = evaluate_cohort(loaded)
    assert not result.has_ground_truth
    assert all(e.exacerbations == 0 for _, e in result.run.results)


def test_nothing_usable_or_an_unusable_plan_is_refused_with_every_reason() -> None:
    with pytest.raises(InvalidCohortError) as nothing:
        parse_cohort(["{", "[]"])
    assert [(p.line, p.code) for p in nothing.value.problems] == [
        (1, "invalid_json"),
        (2, "schema_violation"),
        (0, "schema_violation"),
    ]
    with pytest.raises(InvalidCohortError) as bad_plan:
        parse_cohort(
            [_measurement("tablet-001", START)],
            plan={"timezone": "Mars/Olympus", "phases": [{"name": "regular"}]},
        )
    assert {p.file for p in bad_plan.value.problems} == {"plan.json"}
    assert len(bad_plan.value.problems) >= 2  # time zone, starts_on, weekdays, times …


def test_the_plan_round_trips_through_its_protocol_form() -> None:
    recording = cohort_recording(
        build_cohort(CohortSpec(citizens=1, start=START, days=21, seed=3)), SimPlan()
    )
    plan_text = export_cohort(recording).files["plan.json"]
    assert plan_from_tablet_payload(json.loads(plan_text)) == recording.plan


def test_export_then_cohort_equals_the_in_memory_evaluation(tmp_path: Path) -> None:
    citizens, days, seed = 6, 21, 4
    export_simulated(tmp_path, citizens=citizens, days=days, seed=seed)
    loaded = read_cohort_dir(tmp_path)
    assert loaded.problems == ()

    cohort = build_cohort(CohortSpec(citizens=citizens, start=START, days=days, seed=seed))
    for configuration in rule_configurations():
        in_memory = Replay(cohort_recording(cohort, SimPlan()), configuration.rules_for)
        from_files = Replay(loaded.recording, configuration.rules_for)
        expected = in_memory.run()
        actual = from_files.run()
        assert actual.alerts == expected.alerts
        assert actual.triaged == expected.triaged
        assert evaluate(actual) == evaluate(expected)
    # the cohort really exercised something
    rules = default_rule_set()
    result = evaluate(Replay(loaded.recording, lambda _d, _b: rules).run())
    assert result.readings > 100 and result.nurse_alerts > 0


def test_the_cli_lists_every_bad_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pust_cli.main import main

    t = START + timedelta(days=1, hours=8)
    lines = [_measurement("tablet-001", t), "{oops", _measurement("tablet-001", t, unit="lb")]
    (tmp_path / "messages.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    code = main(["evaluate", "--cohort", str(tmp_path)])

    out = capsys.readouterr().out
    assert code == 1
    assert "(no episodes.jsonl: the burden only)" in out
    assert "exacerbations (ground truth)" not in out
    assert "messages.jsonl line 2: invalid_json" in out
    assert "messages.jsonl line 3: unit_not_supported" in out
    assert "2 line(s) of the cohort not replayed or rejected" in out


def test_the_cli_refuses_a_directory_without_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pust_cli.main import main

    assert main(["evaluate", "--cohort", str(tmp_path)]) == 2
    assert "messages.jsonl not found" in capsys.readouterr().out


def test_since_is_days_or_weeks_within_a_year() -> None:
    from pust_cli.evaluate.what_if_run import parse_since

    assert parse_since("28d") == timedelta(days=28)
    assert parse_since("4w") == timedelta(days=28)
    for bad in ("", "28", "0d", "53w", "-3d", "2m"):
        with pytest.raises(ValueError):
            parse_since(bad)
