"""The queue's words: a repeated alert says the value that made it red beside the latest one;
no rule key ever reaches the nurse."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.api.web.queue_words import queue_reason_text
from services.api.worklist.queue import QueueAlert

LATEST = {
    "rule": "spo2.absolute",
    "severity": "yellow",
    "value": 89,
    "limit": 90,
    "text_da": "SpO2 89 % < gul grænse 90 %",
}


def _alert(reached_value: float | None) -> QueueAlert:
    return QueueAlert(
        id=uuid.uuid4(),
        kind="reading",
        rule_key="spo2.absolute",
        severity="red",
        band="red",
        status="open",
        reasons=[LATEST],
        last_value=89.0,
        since=datetime(2026, 12, 2, tzinfo=UTC),
        lock_version=3,
        reached_type="spo2" if reached_value is not None else None,
        reached_value=reached_value,
        acknowledged_by=None,
        acknowledged_at=None,
        acknowledge_note=None,
    )


def test_the_red_that_made_it_red_is_shown_beside_the_latest() -> None:
    assert queue_reason_text("da", _alert(87.0)) == "SpO2 89 % < gul grænse 90 % (rød ved 87 %)"
    assert (
        queue_reason_text("en", _alert(87.0)) == "Oxygen saturation 89 % · Limit 90 (red at 87 %)"
    )


def test_no_rule_key_and_no_repeat_of_the_same_value() -> None:
    text = queue_reason_text("da", _alert(None))
    assert text == "SpO2 89 % < gul grænse 90 %"
    assert "spo2.absolute" not in text and "Regel" not in text
    assert queue_reason_text("da", _alert(89.0)) == text


def test_the_age_counts_from_when_the_alert_reached_its_colour() -> None:
    from datetime import timedelta

    from pust.db.tables import AlertEvent
    from services.api.worklist.queue import severity_reached

    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    alert_id = uuid.uuid4()

    def event(hours: int, kind: str, severity: str | None = None, reading: int = 0) -> AlertEvent:
        detail = {"severity": severity, "reading_id": reading} if severity else {}
        return AlertEvent(
            alert_id=alert_id, at=start + timedelta(hours=hours), kind=kind, detail=detail
        )

    events = [
        event(0, "opened", "yellow", 1),  # an old episode: red, then resolved
        event(1, "repeated", "red", 2),
        event(2, "resolved"),
        event(30, "reopened", "yellow", 3),  # this episode: yellow for 16 h, then red
        event(40, "repeated", "yellow", 4),
        event(46, "repeated", "red", 5),
        event(47, "repeated", "yellow", 6),
    ]
    assert severity_reached(events, "red", start) == (start + timedelta(hours=46), 5)
    assert severity_reached(events, "yellow", start) == (start + timedelta(hours=30), 3)
    assert severity_reached([], "red", start) == (start, None)


def test_the_blue_row_says_the_citizen_was_reminded_on_the_tablet() -> None:
    from dataclasses import replace

    from pust.domain.missed_measurement_policy import reminded_text_da

    reason = {
        "rule": "plan.missed",
        "severity": "blue",
        "due_at": "2026-11-21T07:00:00+00:00",
        "text_da": f"Planlagt måling 21.11. kl. 08:00 er ikke modtaget · {reminded_text_da(2)}",
    }
    blue = replace(
        _alert(None),
        kind="missed_measurement",
        rule_key="plan.missed",
        severity="yellow",
        band="blue",
        reasons=[reason],
        last_value=None,
    )
    assert queue_reason_text("da", blue).endswith("Påmindet 2 gange på tabletten")
