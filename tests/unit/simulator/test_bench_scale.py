"""The scale-out parts' pure pieces: the soak's messages are valid, distinct readings, and
the report shows the soak's and the backlog's figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pust.domain.device_protocol import MeasurementSubmission, validate_message
from pust_cli.bench.report import render_table
from pust_cli.bench.scale import soak_messages


def test_soak_messages_are_valid_distinct_readings() -> None:
    first = list(soak_messages("s", 50, 0))
    later = list(soak_messages("s", 50, 50))
    messages = first + later
    assert len({m.message_id for m in messages}) == 100
    measured = {json.loads(m.payload)["observations"][0]["measured_at"] for m in messages}
    assert len(measured) == 100  # no two readings share an identity
    for message in messages[:5]:
        result = validate_message(
            device_id=message.device_id,
            channel=message.channel.value,
            payload=message.payload,
            received_at=datetime.now(UTC),
        )
        assert isinstance(result, MeasurementSubmission)


def _table(extra: dict[str, object]) -> str:
    return render_table(
        {
            "environment": {"database": "postgresql", "broker": "mosquitto"},
            "machine": {"cpus": 2, "load_average_1m_at_start": 0.5},
            "throughput": {},
            "latency": {},
            "peak_rss_mb": {},
            "seconds": 1.0,
            **extra,
        }
    )


def test_the_soak_reports_growth_over_the_second_half() -> None:
    table = _table(
        {
            "soak": {
                "ingest RSS soak": {
                    "messages": 40_000,
                    "per_second": 900.0,
                    "cpu_us_per_message": 250,
                    "rss_mb_samples": [(10_000, 80.0), (20_000, 81.0), (40_000, 82.5)],
                    "rss_mb_peak": 82.5,
                    "rss_mb_first_half_max": 81.0,
                    "rss_mb_second_half_min": 81.0,
                    "rss_mb_second_half_max": 82.5,
                    "rss_mb_second_half_growth": 1.5,
                }
            }
        }
    )
    growth = next(row for row in table.splitlines() if "growth over the second half" in row)
    assert "1.5 MB" in growth


def test_the_backlog_reports_drain_rate_and_red_latency() -> None:
    summary = {"count": 10, "p50_ms": 1500.0, "p95_ms": 1900.0, "p99_ms": 2000.0, "max_ms": 2000.0}
    table = _table(
        {
            "backlog": {
                "backlog drain": {
                    "status": "measured",
                    "drain_per_second": 1234.5,
                    "note": "50010 messages",
                    "red_visible_from_restart": summary,
                    "red_visible_from_receipt": summary,
                }
            }
        }
    )
    assert "1,234.5 msg/s" in table
    rows = table.splitlines()
    assert any("from ingest restart p99" in row and "2,000.0 ms" in row for row in rows)
