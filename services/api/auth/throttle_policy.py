"""The login throttling policy, pure (no I/O; the counters are stored by
:mod:`services.api.auth.login_throttle`).

Three counters see each failed login: of the source address, of the account name (as typed,
known or not, so the answers never tell which accounts exist), and of the two together.
A counter allows ``free_failures`` failures; after each further one, the next attempt must
wait 2^n seconds (n = failures beyond the free ones, from 1 s up to ``max_delay``). A
counter forgets after ``forget_after`` without a failure.

An attempt waits (429 + Retry-After; the password is not even checked) when

* the (account, address) counter is waiting — someone keeps guessing this account from
  here, or
* the address's or the account's counter is waiting, unless the account logged in
  successfully from this address within ``familiar_for`` (its nurse's usual place).

So 30 accounts tried from one address are slowed after the address's free failures, and a
stranger's failures on a nurse's account from elsewhere slow only logins to it from
unfamiliar addresses: never the nurse at her usual place. Nothing is ever locked for good.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Counter:
    failures: int = 0
    last_failure_at: datetime | None = None
    blocked_until: datetime | None = None
    last_success_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Backoff:
    free_failures: int
    max_delay: timedelta
    forget_after: timedelta

    def after_failure(self, counter: Counter, now: datetime) -> Counter:
        fresh = (
            counter.last_failure_at is None or now - counter.last_failure_at >= self.forget_after
        )
        failures = 1 if fresh else counter.failures + 1
        blocked_until = None
        beyond = failures - self.free_failures
        if beyond >= 0:
            seconds = min(2.0 ** min(beyond, 40), self.max_delay.total_seconds())
            blocked_until = now + timedelta(seconds=seconds)
        return replace(counter, failures=failures, last_failure_at=now, blocked_until=blocked_until)


@dataclass(frozen=True, slots=True)
class Counters:
    pair: Counter
    address: Counter
    account: Counter


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    pair: Backoff
    address: Backoff
    account: Backoff
    familiar_for: timedelta

    def after_failure(self, counters: Counters, now: datetime) -> Counters:
        return Counters(
            pair=self.pair.after_failure(counters.pair, now),
            address=self.address.after_failure(counters.address, now),
            account=self.account.after_failure(counters.account, now),
        )

    def familiar(self, counters: Counters, now: datetime) -> bool:
        seen = counters.pair.last_success_at
        return seen is not None and now - seen < self.familiar_for

    def wait_until(self, counters: Counters, now: datetime) -> datetime | None:
        """Until when this attempt must wait, or None when it may be checked now."""
        waits = [counters.pair.blocked_until]
        if not self.familiar(counters, now):
            waits += [counters.address.blocked_until, counters.account.blocked_until]
        pending = [w for w in waits if w is not None and w > now]
        return max(pending) if pending else None


def retry_after_seconds(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def address_key(host: str) -> str:
    """The address a counter is kept for: IPv6 clients by their /64 (one household or
    machine gets a whole /64, so counting single addresses would be no limit at all)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)
