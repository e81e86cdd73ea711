"""Password login, throttled (:mod:`services.api.auth.throttle_policy`): an attempt that must
wait is answered before the password is checked; every failure, for a known account or
not, counts; unknown users cost the same argon2 time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from pust.db.tables import StaffUser
from services.api.auth import login_throttle
from services.api.auth.passwords import verify_password
from services.api.auth.throttle_policy import ThrottlePolicy, address_key, retry_after_seconds


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    user: StaffUser | None
    # set when the attempt was not checked: wait this many seconds (Retry-After)
    retry_after: int | None = None

    @property
    def throttled(self) -> bool:
        return self.retry_after is not None


def authenticate(
    *,
    session: Session,
    username: str,
    password: str,
    client_address: str,
    now: datetime,
    policy: ThrottlePolicy,
) -> LoginOutcome:
    """Check a username and password. The caller commits (the counters are state)."""
    attempt = login_throttle.Attempt(username=username, address=address_key(client_address))
    until = policy.wait_until(login_throttle.counters(session, attempt), now)
    if until is not None:
        return LoginOutcome(user=None, retry_after=retry_after_seconds(until, now))
    user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
    if user is None or not user.active:
        verify_password(password_hash=None, password=password)
        login_throttle.record_failure(session, attempt, policy=policy, now=now)
        return LoginOutcome(user=None)
    if not verify_password(password_hash=user.password_hash, password=password):
        login_throttle.record_failure(session, attempt, policy=policy, now=now)
        return LoginOutcome(user=None)
    login_throttle.record_success(session, attempt, now=now)
    return LoginOutcome(user=user)
