"""Pure rules: FHIR search parameter parsing, the bridge's target allow-list (SSRF),
answer classification and back-off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.api.fhir.params import (
    MAX_COUNT,
    DateBound,
    SearchError,
    Token,
    parse_count,
    parse_date,
    parse_patient,
    parse_tokens,
)
from services.bridge.settings import BridgeSettings, BridgeTargetRefused, check_target
from services.bridge.transport import classify
from services.bridge.worker import retry_policy


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-22", DateBound(utc(2026, 11, 22), utc(2026, 11, 23))),
        ("ge2026-11-22", DateBound(utc(2026, 11, 22), None)),
        ("gt2026-11-22", DateBound(utc(2026, 11, 23), None)),
        ("lt2026-11", DateBound(None, utc(2026, 11, 1))),
        ("le2026-12", DateBound(None, utc(2027, 1, 1))),
        ("2026", DateBound(utc(2026, 1, 1), utc(2027, 1, 1))),
        (
            "eq2026-11-22T10:00:00+01:00",
            DateBound(utc(2026, 11, 22, 9), utc(2026, 11, 22, 9, 0, 1)),
        ),
        ("sa2026-11-22T10:00Z", DateBound(utc(2026, 11, 22, 10, 1), None)),
    ],
)
def test_dates_with_prefixes(raw: str, expected: DateBound) -> None:
    assert parse_date(raw, "date") == expected


@pytest.mark.parametrize(
    "raw", ["yesterday", "2026-13-01", "ne2026", "ap2026", "", "20261122", "2026-11-22T25:00:00Z"]
)
def test_bad_dates_are_search_errors(raw: str) -> None:
    with pytest.raises(SearchError):
        parse_date(raw, "date")


def test_tokens_references_and_count() -> None:
    assert parse_tokens("http://loinc.org|59408-5,NPU03011,|x", "code") == [
        Token("http://loinc.org", "59408-5"),
        Token(None, "NPU03011"),
        Token("", "x"),
    ]
    with pytest.raises(SearchError):
        parse_tokens("a,,b", "code")
    citizen = uuid.uuid4()
    for raw in (str(citizen), f"Patient/{citizen}", f"https://x.test/fhir/Patient/{citizen}"):
        assert parse_patient(raw, "patient") == citizen
    for raw in ("Group/1", "Patient/nope", "42"):
        with pytest.raises(SearchError):
            parse_patient(raw, "patient")
    assert parse_count(None) == 50 and parse_count("0") == 0
    assert parse_count("100000") == MAX_COUNT
    with pytest.raises(SearchError):
        parse_count("-1")


@pytest.mark.parametrize(
    "url",
    [
        "https://fhir.region.test/fhir",
        "https://FHIR.region.test:8443/fhir/r4",
    ],
)
def test_allow_listed_targets(url: str) -> None:
    # the bridge takes the target and submits to it (the refusals are the next test)
    settings = BridgeSettings(base_url=url, allowed_hosts="fhir.region.test")
    assert settings.submit_url == url + "/$submit-measurement"


@pytest.mark.parametrize(
    "url",
    [
        "http://fhir.region.test/fhir",  # plain http without allow_http
        "https://evil.test/fhir",
        "https://fhir.region.test.evil.test/fhir",
        "https://user:pw@fhir.region.test/fhir",
        "https://fhir.region.test/fhir?redirect=https://evil.test",
        "file:///etc/passwd",
        "https://169.254.169.254/latest/meta-data",
        "fhir.region.test/fhir",
    ],
)
def test_everything_else_is_refused(url: str) -> None:
    with pytest.raises(BridgeTargetRefused):
        check_target(url, frozenset({"fhir.region.test"}), allow_http=False)


def test_settings_refuse_a_target_off_the_list() -> None:
    with pytest.raises((ValidationError, BridgeTargetRefused)):
        BridgeSettings(base_url="https://evil.test/fhir", allowed_hosts="fhir.region.test")
    settings = BridgeSettings(
        base_url="https://fhir.region.test/fhir/", allowed_hosts=" fhir.region.test ,other.test"
    )
    assert settings.submit_url == "https://fhir.region.test/fhir/$submit-measurement"
    assert settings.allowed_host_set == {"fhir.region.test", "other.test"}


def test_answers_are_classified() -> None:
    assert classify(201, b"").kind == "sent"
    for status in (408, 429, 500, 502, 503, 504):
        assert classify(status, b"").kind == "retry"
    outcome = classify(
        422,
        b'{"resourceType":"OperationOutcome","issue":[{"code":"processing",'
        b'"diagnostics":"value 93 is wrong"}]}',
    )
    assert outcome.kind == "refused" and outcome.reason == "http 422 (processing)"
    assert "93" not in outcome.reason  # diagnostics may quote values: never kept
    assert classify(301, b"").kind == "refused"  # redirects are not followed


def test_backoff_doubles_up_to_the_cap() -> None:
    settings = BridgeSettings(backoff_initial_seconds=2, backoff_max_seconds=60)
    policy = retry_policy(settings)
    delays = [policy.delay(n) for n in range(1, 8)]
    assert delays[:5] == [timedelta(seconds=s) for s in (2, 4, 8, 16, 32)]
    assert delays[5:] == [timedelta(seconds=60)] * 2
    assert policy.delay(3, draw=0.999999) > timedelta(seconds=4)  # jitter: at most half off
    assert policy.delay(3, draw=0.5) == timedelta(seconds=6)
