"""The simulated cohort is reproducible from its seed and realistic in shape."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from statistics import median

import pytest

from pust.messaging.topics import DeviceChannel
from pust_cli.simulator.cohort import CohortSpec, build_cohort
from pust_cli.simulator.timeline import SimPlan, cohort_messages, cohort_silences

START = datetime(2026, 10, 1, tzinfo=UTC)


def _stream(seed: int, citizens: int = 6, days: int = 20) -> list[tuple[object, ...]]:
    cohort = build_cohort(CohortSpec(citizens=citizens, start=START, days=days, seed=seed))
    return [
        (m.publish_at, m.device_id, m.channel, m.payload)
        for m in cohort_messages(cohort, SimPlan())
    ]


def test_same_seed_gives_the_same_cohort_and_stream() -> None:
    spec = CohortSpec(citizens=20, start=START, days=60, seed=7)
    assert build_cohort(spec) == build_cohort(spec)
    assert _stream(7) == _stream(7)


def test_different_seed_gives_a_different_cohort_and_stream() -> None:
    a = build_cohort(CohortSpec(citizens=20, start=START, days=60, seed=7))
    b = build_cohort(CohortSpec(citizens=20, start=START, days=60, seed=8))
    assert a.citizens != b.citizens
    assert _stream(7) != _stream(8)


def test_adding_citizens_does_not_change_the_existing_ones() -> None:
    small = build_cohort(CohortSpec(citizens=3, start=START, days=30, seed=3))
    large = build_cohort(CohortSpec(citizens=9, start=START, days=30, seed=3))
    assert large.citizens[:3] == small.citizens


def test_baselines_are_in_copd_ranges() -> None:
    cohort = build_cohort(CohortSpec(citizens=400, start=START, days=10, seed=1))
    spo2 = [c.spo2_baseline for c in cohort.citizens]
    assert 90 <= median(spo2) <= 94
    share_88_95 = sum(88 <= s <= 95 for s in spo2) / len(spo2)
    assert share_88_95 > 0.75
    assert all(c.fev1_percent_predicted < 50 for c in cohort.citizens)


def test_stream_is_ordered_and_exacerbations_start_after_run_in() -> None:
    cohort = build_cohort(
        CohortSpec(citizens=25, start=START, days=80, seed=5, exacerbations_per_year=6)
    )
    messages = list(cohort_messages(cohort, SimPlan(include_status=False)))
    assert all(a.publish_at <= b.publish_at for a, b in itertools.pairwise(messages))
    assert cohort.exacerbations, "six a year over 40 citizen-quarters must give some"
    assert all((e.onset - START).days >= 14 for e in cohort.exacerbations)
    assert {m.channel for m in messages} == {
        DeviceChannel.MEASUREMENTS,
        DeviceChannel.QUESTIONNAIRE_RESPONSES,
    }


def test_exacerbation_lowers_spo2_at_its_peak() -> None:
    cohort = build_cohort(
        CohortSpec(citizens=30, start=START, days=90, seed=11, exacerbations_per_year=10)
    )
    plan = SimPlan(include_status=False)
    low: list[float] = []
    normal: list[float] = []
    by_device = {c.device_id: c for c in cohort.citizens}
    for message in cohort_messages(cohort, plan):
        if message.channel is not DeviceChannel.MEASUREMENTS:
            continue
        for obs in message.payload["observations"]:
            if obs["type"] != "spo2" or obs["unit"] != "%":
                continue
            profile = by_device[message.device_id]
            measured = datetime.fromisoformat(obs["measured_at"])
            drop = profile.spo2_baseline - obs["value"]
            (low if profile.exacerbation_effect(measured) > 0.5 else normal).append(drop)
    assert low and normal
    # Hurst 2010 (BMC Pulm Med): a fall of about 1-2 points at onset, more at the peak
    assert median(low) - median(normal) >= 1.5


def test_the_cohort_has_symptom_led_episodes_and_citizens_below_the_population_limits() -> None:
    cohort = build_cohort(CohortSpec(citizens=200, start=START, days=365, seed=1))
    episodes = cohort.exacerbations
    led = [e for e in episodes if e.symptom_led]
    assert 0.15 < len(led) / len(episodes) < 0.45
    assert any(c.spo2_baseline < 90 for c in cohort.citizens)
    assert any(c.spo2_baseline < 88 for c in cohort.citizens)


def test_symptoms_are_up_at_onset_and_lead_the_physiology() -> None:
    cohort = build_cohort(CohortSpec(citizens=50, start=START, days=365, seed=3))
    for e in cohort.exacerbations:
        assert e.symptoms(e.onset) >= 0.7  # onset = the symptom criteria are met
        assert 0 < e.symptoms(e.onset - timedelta(hours=12)) < e.symptoms(e.onset)
        assert e.effect(e.onset - timedelta(hours=36)) == 0  # physiology not yet moving
        assert e.effect(e.peak) == pytest.approx(e.depth * e.physiology)


def test_the_odd_wrong_unit_manual_entry_and_silence_appear() -> None:
    cohort = build_cohort(CohortSpec(citizens=30, start=START, days=30, seed=2))
    units: set[str] = set()
    entries: set[str] = set()
    for message in cohort_messages(cohort, SimPlan(include_status=False)):
        for obs in message.payload.get("observations", []):
            units.add(obs["unit"])
            entries.add(obs["entry"])
    assert {"[lb_av]", "1"} <= units
    assert entries == {"device", "manual"}
    assert cohort_silences(cohort, SimPlan(include_status=False))


def test_demo_history_is_reproducible_and_tells_its_stories() -> None:

    from pust_cli.simulator.demo import (
        DEMO_DEVICE_IDS,
        NOT_MEASURING,
        SILENT,
        history_for_demo,
    )

    now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    history = history_for_demo(seed=1, days=21, now=now)
    assert history == history_for_demo(seed=1, days=21, now=now)
    assert {m.device_id for m in history} == set(DEMO_DEVICE_IDS)
    assert all(m.publish_at <= now for m in history)
    earliest = now - timedelta(days=21)
    for message in history:
        stamps = [message.payload["sent_at"], message.payload.get("answered_at")]
        stamps += [o["measured_at"] for o in message.payload.get("observations", [])]
        assert all(datetime.fromisoformat(s) >= earliest for s in stamps if s), message
    last_silent = max(m.publish_at for m in history if m.device_id == SILENT)
    assert now - last_silent > timedelta(hours=24)  # beyond the alerts' silent threshold
    recent = [
        m
        for m in history
        if m.device_id == NOT_MEASURING and m.publish_at > now - timedelta(days=2)
    ]
    assert recent and all(m.channel is DeviceChannel.STATUS for m in recent)


def test_every_simulated_message_passes_the_protocol_validator() -> None:
    import json

    from pust.domain.device_protocol import Rejection, validate_message

    cohort = build_cohort(CohortSpec(citizens=8, start=START, days=21, seed=13))
    checked = 0
    for message in cohort_messages(cohort, SimPlan()):
        result = validate_message(
            device_id=message.device_id,
            channel=message.channel.value,
            payload=json.dumps(message.payload).encode(),
            received_at=message.publish_at,
        )
        assert not isinstance(result, Rejection), (message.channel, result.codes)
        checked += 1
    assert checked > 8 * 21 * 90  # status every 15 minutes, plus the readings


def test_demo_live_round_keeps_its_stories() -> None:
    import itertools as it

    from pust_cli.simulator.demo import NOT_MEASURING, SILENT, live_round

    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night the clocks go forward
    stream, pace = live_round(1000, start, "Europe/Copenhagen")
    first = list(it.islice(stream, 3000))
    channels = {m.channel for m in first}
    assert DeviceChannel.MEASUREMENTS in channels
    assert DeviceChannel.QUESTIONNAIRE_RESPONSES in channels
    assert all(m.device_id != SILENT for m in first)
    assert all(m.channel is DeviceChannel.STATUS for m in first if m.device_id == NOT_MEASURING)
    # a visible pace: a simulated day in a few minutes of wall time, configurable
    assert timedelta(days=1).total_seconds() / pace.speed == 240
    _, slower = live_round(1000, start, "Europe/Copenhagen", speed=60.0)
    assert slower.speed == 60.0


def _weights(messages: object) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for m in messages:  # type: ignore[attr-defined]
        for o in m.payload.get("observations", []):
            if o["type"] == "weight" and o["unit"] == "kg":
                found.setdefault(m.device_id, []).append(float(o["value"]))
    return found


def test_the_live_demo_continues_each_citizens_history() -> None:
    """One profile per demo citizen: the live tablets weigh the same people as the seeded
    history (the "+42 kg in 7 days" of issue 14 came from two different profiles)."""
    import itertools as it

    from pust_cli.simulator.demo import EXACERBATING, history_for_demo, live_round

    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday
    history = _weights(history_for_demo(seed=2026, days=21, now=now))
    for round_seed in (1000, 1001):
        stream, _ = live_round(round_seed, now, "Europe/Copenhagen", continues_history=True)
        live = _weights(it.islice(stream, 4000))
        assert live.keys() & history.keys()
        for device in live.keys() & history.keys():
            before = sum(history[device][-5:]) / len(history[device][-5:])
            after = sum(live[device][:5]) / len(live[device][:5])
            assert abs(after - before) < 3.0, (device, before, after)
    # the scripted citizen's first live SpO2 readings are worse than her history's start
    stream, _ = live_round(1000, now, "Europe/Copenhagen", continues_history=True)
    first_spo2 = [
        float(o["value"])
        for m in it.islice(stream, 4000)
        if m.device_id == EXACERBATING
        for o in m.payload.get("observations", [])
        if o["type"] == "spo2"
    ][:4]
    assert first_spo2 and min(first_spo2) < 90


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 3, 6, 0, tzinfo=UTC),  # Thursday, before the morning slot
        datetime(2026, 12, 2, 14, 0, tzinfo=UTC),  # Wednesday afternoon
        datetime(2026, 12, 6, 9, 10, tzinfo=UTC),  # Sunday, just after the slot's grace
        datetime(2026, 11, 30, 20, 0, tzinfo=UTC),  # Monday evening
    ],
)
def test_the_demo_history_leaves_only_the_scripted_citizens_blue(now: datetime) -> None:
    """What the missed-measurement sweep finds at the demo's start, within its look-back:
    only the citizen who stopped measuring (05) and the silent tablet (06) missed a slot
    (issue 14: late uploads still outstanding at the history's end, a missed slot or a
    silence left 4-6 of the 12 blue)."""
    from pust.domain.missed_measurements import SlotStatus, decide_slot, slots_between
    from pust_cli.demo_seed import HISTORY_DAYS, demo_plan
    from pust_cli.simulator.demo import NOT_MEASURING, SILENT, history_for_demo
    from services.alerts.settings import AlertsSettings

    lookback = timedelta(hours=AlertsSettings.model_fields["missed_lookback_hours"].default)
    since = now - timedelta(days=HISTORY_DAYS)
    plan = demo_plan(since, "Europe/Copenhagen")
    submissions: dict[str, list[datetime]] = {}
    for message in history_for_demo(2026, HISTORY_DAYS, now):
        stamps = [o["measured_at"] for o in message.payload.get("observations", [])]
        stamps += [message.payload["answered_at"]] if "answered_at" in message.payload else []
        submissions.setdefault(message.device_id, []).extend(
            datetime.fromisoformat(s) for s in stamps
        )
    blue = {
        device
        for device, times in submissions.items()
        for due in slots_between(plan, now - lookback, now, not_before=since)
        if decide_slot(due, grace=plan.grace, now=now, submissions=times, pauses=())
        is SlotStatus.MISSED
    }
    assert blue == {NOT_MEASURING, SILENT}
