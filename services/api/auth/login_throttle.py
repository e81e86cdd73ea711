"""The login throttle's counters in the database (``login_throttle``), so that every api
process sees the same ones and a restart forgets nothing. The policy is
:mod:`services.api.auth.throttle_policy`; the counters are written in the login's own
transaction (with the audit event), rows locked while they are updated."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select, update

from pust.db.tables import LoginThrottle
from services.api.auth.throttle_policy import Backoff, Counter, Counters, ThrottlePolicy
from services.api.settings import ApiSettings

PAIR, ADDRESS, ACCOUNT = "pair", "address", "account"


def policy_from(settings: ApiSettings) -> ThrottlePolicy:
    def backoff(free: int) -> Backoff:
        return Backoff(
            free_failures=free,
            max_delay=timedelta(seconds=settings.login_max_delay_seconds),
            forget_after=timedelta(hours=settings.login_forget_hours),
        )

    return ThrottlePolicy(
        pair=backoff(settings.login_free_failures_pair),
        address=backoff(settings.login_free_failures_address),
        account=backoff(settings.login_free_failures_account),
        familiar_for=timedelta(days=settings.login_familiar_days),
    )


@dataclass(frozen=True, slots=True)
class Attempt:
    username: str
    address: str  # throttle_policy.address_key of the client

    def keys(self) -> dict[str, tuple[str, str, str]]:
        return {
            PAIR: (PAIR, self.username, self.address),
            ADDRESS: (ADDRESS, "", self.address),
            ACCOUNT: (ACCOUNT, self.username, ""),
        }


def _counter(row: LoginThrottle | None) -> Counter:
    if row is None:
        return Counter()
    return Counter(
        failures=row.failures,
        last_failure_at=row.last_failure_at,
        blocked_until=row.blocked_until,
        last_success_at=row.last_success_at,
    )


def _rows(
    session: Session,
    attempt: Attempt,
    *,
    lock: bool,
    scopes: Collection[str] = (PAIR, ADDRESS, ACCOUNT),
) -> dict[str, LoginThrottle | None]:
    keys = {scope: key for scope, key in attempt.keys().items() if scope in scopes}
    if lock:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(
            insert(LoginThrottle)
            .values([{"scope": s, "username": u, "address": a} for s, u, a in keys.values()])
            .on_conflict_do_nothing()
        )
    found: dict[str, LoginThrottle | None] = {}
    for scope, key in keys.items():
        found[scope] = session.get(LoginThrottle, key, with_for_update=lock, populate_existing=lock)
    return found


def counters(session: Session, attempt: Attempt) -> Counters:
    rows = _rows(session, attempt, lock=False)
    return Counters(
        pair=_counter(rows[PAIR]), address=_counter(rows[ADDRESS]), account=_counter(rows[ACCOUNT])
    )


def record_failure(
    session: Session, attempt: Attempt, *, policy: ThrottlePolicy, now: datetime
) -> Counters:
    rows = _rows(session, attempt, lock=True)
    before = Counters(
        pair=_counter(rows[PAIR]), address=_counter(rows[ADDRESS]), account=_counter(rows[ACCOUNT])
    )
    after = policy.after_failure(before, now)
    for scope, counter in ((PAIR, after.pair), (ADDRESS, after.address), (ACCOUNT, after.account)):
        row = rows[scope]
        assert row is not None  # inserted above
        row.failures = counter.failures
        row.last_failure_at = counter.last_failure_at
        row.blocked_until = counter.blocked_until
        session.add(row)
    return after


def record_success(session: Session, attempt: Attempt, *, now: datetime) -> None:
    """The account's password was right from this address: its own counter starts again and
    the address becomes familiar for the account. The address's and the account's counters
    stay (another's failures are not forgiven by the nurse's success)."""
    row = _rows(session, attempt, lock=True, scopes=(PAIR,))[PAIR]
    assert row is not None
    row.failures, row.blocked_until, row.last_success_at = 0, None, now
    session.add(row)


def reset_account(session: Session, username: str) -> None:
    """An administrator's unlock: the account's counters, from every address, start again."""
    session.exec(
        update(LoginThrottle)
        .where(
            col(LoginThrottle.username) == username,
            col(LoginThrottle.scope).in_([PAIR, ACCOUNT]),
        )
        .values(failures=0, blocked_until=None)
    )


def slowed_until(session: Session, usernames: Collection[str]) -> dict[str, datetime]:
    """Per account name: the latest time until which some of its logins must wait."""
    rows = session.exec(
        select(LoginThrottle.username, LoginThrottle.blocked_until).where(
            col(LoginThrottle.username).in_(list(usernames)),
            col(LoginThrottle.blocked_until).is_not(None),
        )
    ).all()
    found: dict[str, datetime] = {}
    for username, until in rows:
        if until is not None and (username not in found or until > found[username]):
            found[username] = until
    return found
