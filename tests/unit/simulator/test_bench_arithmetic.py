"""The benchmark's arithmetic: percentiles and what a report says when a part is missing."""

from __future__ import annotations

from pust_cli.bench.environment import make_url_safe
from pust_cli.bench.report import latency_summary, percentile, render_table
from pust_cli.bench.workload import bench_messages, devices_for


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


def test_latency_summary_of_nothing_is_empty_not_zero() -> None:
    assert latency_summary([]) == {
        "count": 0,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "max_ms": None,
    }


def test_a_part_that_was_not_measured_shows_no_number() -> None:
    table = render_table(
        {
            "environment": {"database": "sqlite", "broker": "embedded"},
            "machine": {"cpus": 2, "load_average_1m_at_start": 0.5},
            "throughput": {"pust ingest": {"status": "not measured: services/ingest not present"}},
            "latency": {},
            "peak_rss_mb": {},
            "seconds": 1.0,
        }
    )
    line = next(row for row in table.splitlines() if row.startswith("throughput: pust ingest"))
    assert "—" in line and "not measured" in line
    assert "msg/s" not in line


def test_credentials_never_reach_the_report() -> None:
    assert make_url_safe("mqtt://user:secret@host:1883") == "mqtt://host:1883"
    assert make_url_safe("mqtt://127.0.0.1:1883") == "mqtt://127.0.0.1:1883"


def test_workload_has_the_requested_size_and_unique_ids() -> None:
    messages = bench_messages(count=500, prefix="b", seed=3)
    assert len(messages) == 500
    assert len({m.message_id for m in messages}) == 500
    assert len({m.device_id for m in messages}) <= devices_for(500)
