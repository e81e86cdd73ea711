"""The login throttling policy, pure: progressive delay, forgetting, familiar addresses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.api.auth.throttle_policy import (
    Backoff,
    Counter,
    Counters,
    ThrottlePolicy,
    address_key,
    retry_after_seconds,
)

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
BACKOFF = Backoff(
    free_failures=3, max_delay=timedelta(minutes=15), forget_after=timedelta(hours=24)
)
POLICY = ThrottlePolicy(
    pair=BACKOFF, address=BACKOFF, account=BACKOFF, familiar_for=timedelta(days=90)
)


def _fail(counter: Counter, times: int, now: datetime = NOW) -> Counter:
    for _ in range(times):
        counter = BACKOFF.after_failure(counter, now)
    return counter


def test_free_failures_then_doubling_delays_up_to_the_cap() -> None:
    assert _fail(Counter(), 2).blocked_until is None
    delays = [
        (c.blocked_until - NOW).total_seconds()
        for c in (_fail(Counter(), n) for n in (3, 4, 5, 13, 60))
        if c.blocked_until is not None
    ]
    assert delays == [1, 2, 4, 900, 900]


def test_a_counter_forgets_after_a_quiet_day() -> None:
    counter = _fail(Counter(), 10)
    later = BACKOFF.after_failure(counter, NOW + timedelta(hours=25))
    assert later.failures == 1 and later.blocked_until is None


def test_a_familiar_address_is_held_back_only_by_its_own_counter() -> None:
    blocked = _fail(Counter(), 5)
    stranger = Counters(pair=Counter(), address=blocked, account=blocked)
    assert POLICY.wait_until(stranger, NOW) == blocked.blocked_until
    nurse = Counters(
        pair=Counter(last_success_at=NOW - timedelta(days=1)), address=blocked, account=blocked
    )
    assert POLICY.wait_until(nurse, NOW) is None
    long_ago = Counters(
        pair=Counter(last_success_at=NOW - timedelta(days=91)), address=blocked, account=blocked
    )
    assert POLICY.wait_until(long_ago, NOW) is not None
    own_typos = Counters(
        pair=_fail(Counter(last_success_at=NOW), 3), address=Counter(), account=Counter()
    )
    assert POLICY.wait_until(own_typos, NOW) == NOW + timedelta(seconds=1)
    assert POLICY.wait_until(own_typos, NOW + timedelta(seconds=1)) is None


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert retry_after_seconds(NOW + timedelta(milliseconds=1), NOW) == 1
    assert retry_after_seconds(NOW + timedelta(seconds=2, milliseconds=1), NOW) == 3


def test_ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("192.0.2.1") == "192.0.2.1"
