from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.ingest.session_check import session_should_have_survived

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def test_a_reconnect_must_find_its_session() -> None:
    assert session_should_have_survived(
        first_connect=False, last_committed_at=None, now=NOW, session_expiry=WEEK
    )


def test_a_start_after_recent_traffic_must_find_its_session() -> None:
    assert session_should_have_survived(
        first_connect=True, last_committed_at=NOW - timedelta(hours=2), now=NOW, session_expiry=WEEK
    )


def test_a_first_start_or_one_after_the_expiry_begins_without_one() -> None:
    for last in (None, NOW - timedelta(days=8)):
        assert not session_should_have_survived(
            first_connect=True, last_committed_at=last, now=NOW, session_expiry=WEEK
        )
