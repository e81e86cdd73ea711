"""Pure pieces of the api: tokens and CSRF, the word catalogue, reasons and ages, and the
MQTT CONNECT packet of the readiness probe."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.api.auth.tokens import (
    TokenInvalid,
    csrf_token,
    csrf_valid,
    issue_token,
    read_token,
)
from services.api.health.probes import _connect_packet
from services.api.web import i18n
from services.api.web.device_words import DEVICE_WORDS
from services.api.web.i18n import CATALOGUE, translator
from services.api.web.render import age_text, reason_text

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
STAFF = uuid.UUID("11111111-2222-3333-4444-555555555555")


def test_token_round_trip_and_expiry() -> None:
    token = issue_token(
        secret="s", staff_id=STAFF, kind="access", now=NOW, lifetime=timedelta(minutes=5)
    )
    assert read_token(secret="s", token=token, kind="access", now=NOW).staff_id == STAFF
    with pytest.raises(TokenInvalid):
        read_token(secret="s", token=token, kind="access", now=NOW + timedelta(minutes=6))


def test_a_session_token_is_not_a_bearer_token_and_secrets_matter() -> None:
    token = issue_token(
        secret="s", staff_id=STAFF, kind="session", now=NOW, lifetime=timedelta(minutes=5)
    )
    with pytest.raises(TokenInvalid):
        read_token(secret="s", token=token, kind="access", now=NOW)
    with pytest.raises(TokenInvalid):
        read_token(secret="other", token=token, kind="session", now=NOW)


def test_csrf_is_bound_to_the_session() -> None:
    token = csrf_token(secret="s", session_id="a")
    assert csrf_valid(secret="s", session_id="a", candidate=token)
    assert not csrf_valid(secret="s", session_id="b", candidate=token)
    assert not csrf_valid(secret="s", session_id="a", candidate="")


def test_catalogue_has_both_languages_and_shows_missing_keys() -> None:
    assert all(da and en for da, en in CATALOGUE.values())
    assert translator("da")("worklist") == "Arbejdsliste"
    assert translator("en")("worklist") == "Worklist"
    assert translator("xx")("worklist") == "Arbejdsliste"
    assert translator("da")("no-such-key") == "no-such-key"


def test_the_tablet_words_are_part_of_the_one_catalogue_and_say_no_key_twice() -> None:
    assert not set(DEVICE_WORDS) & set(i18n._WORDS)
    assert translator("en")("device_status_revoked") == "revoked"
    assert translator("da")("enrol_device") == "Registrér tablet"


def test_reason_says_value_and_limit_never_the_rule_key() -> None:
    text = reason_text(
        "da",
        [{"rule": "spo2.absolute", "value": 86, "limit": 88, "type": "spo2"}],
        "spo2.absolute",
        86,
    )
    assert text == "Iltmætning 86 % · Grænse 88"
    assert reason_text("en", [], "pulse.absolute", 130.0) == "Pulse 130"


def test_reason_prefers_the_latest_with_the_alerts_severity_and_danish_text() -> None:
    reasons = [
        {
            "rule": "spo2.absolute",
            "severity": "yellow",
            "value": 89,
            "limit": 90,
            "text_da": "SpO2 89 % < gul grænse 90 %",
        },
        {
            "rule": "spo2.absolute",
            "severity": "red",
            "value": 86,
            "limit": 88,
            "text_da": "SpO2 86 % < rød grænse 88 %",
        },
        {"rule": "spo2.absolute", "severity": "yellow", "value": 89.5, "limit": 90},
    ]
    assert reason_text("da", reasons, "spo2.absolute", 89.5, "red") == (
        "SpO2 86 % < rød grænse 88 %"
    )
    assert reason_text("en", reasons, "spo2.absolute", 89.5, "red") == (
        "Oxygen saturation 86 % · Limit 88"
    )
    answer = [
        {
            "rule": "questionnaire.symptoms",
            "severity": "yellow",
            "item": "more_cough",
            "value": True,
        },
        {
            "rule": "questionnaire.symptoms",
            "severity": "yellow",
            "item": "more_breathless",
            "value": True,
        },
    ]
    # the rules that agreed on a milder latest reading (the alert is red from an earlier one)
    milder = [
        {"rule": "spo2.absolute", "severity": "yellow", "text_da": "SpO2 89 % < gul grænse 90 %"},
        {"rule": "spo2.baseline", "severity": "yellow", "text_da": "SpO2 89 % er 4 under"},
    ]
    assert reason_text("da", milder, "spo2.absolute", 89, "red") == (
        "SpO2 89 % < gul grænse 90 %; SpO2 89 % er 4 under"
    )
    # every "yes" of the answer, not only the last one
    assert reason_text("en", answer, "questionnaire.symptoms", 1.0, "yellow") == (
        "Are you coughing more than usual? yes; Are you more breathless than usual? yes"
    )


def test_age_in_minutes_hours_days() -> None:
    assert age_text("da", 300) == "5 min"
    assert age_text("da", 2 * 3600) == "2 t"
    assert age_text("en", 3 * 86400) == "3 d"


def test_connect_packet_is_mqtt_311() -> None:
    packet = _connect_packet("pust-readyz-1")
    assert packet[0] == 0x10
    assert packet[1] == len(packet) - 2
    assert packet[2:9] == b"\x00\x04MQTT\x04"


def test_the_watch_texts_say_only_what_the_alert_texts_do_not() -> None:
    """Issue 13: a watch's "seen" line ends with the same "… siden" / "… ago" as an alert's
    age (the catalogue's ``ago``), not a copy of it in its own entries."""
    for key in ("watch_seen_once", "watch_seen_times"):
        da, en = CATALOGUE[key]
        assert "{age}" not in da and "{age}" not in en
    from services.api.web.formatting import Formatter
    from services.api.web.watch_band import seen_text

    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    fmt = Formatter("da", ZoneInfo("Europe/Copenhagen"))
    text = seen_text("da", fmt, times=3, since=now - timedelta(days=2, hours=1), now=now)
    assert text == "set 3 gange siden 29.11.2026 12.00 (2 d siden)"
    english = Formatter("en", ZoneInfo("Europe/Copenhagen"))
    assert seen_text("en", english, times=1, since=now - timedelta(hours=3), now=now).endswith(
        "(3 h ago)"
    )
