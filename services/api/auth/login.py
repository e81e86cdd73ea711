"""Password login, throttled (:mod:`services.api.auth.throttle_policy`): an attempt that must
wait is answered before the password is checked; every failure, for a known account or
not, counts; unknown users cost the same argon2 time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import Session, select

from pust.db.tables import StaffUser
from services.api.audit.recorder import record, record_anonymous
from services.api.auth import login_throttle
from services.api.auth.current import load_principal
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


def _check(
    session: Session,
    attempt: login_throttle.Attempt,
    password: str,
    now: datetime,
    policy: ThrottlePolicy,
) -> LoginOutcome:
    """Check a username and password. The caller commits (the counters are state)."""
    until = policy.wait_until(login_throttle.counters(session, attempt), now)
    if until is not None:
        return LoginOutcome(user=None, retry_after=retry_after_seconds(until, now))
    user = session.exec(select(StaffUser).where(StaffUser.username == attempt.username)).first()
    if user is None or not user.active:
        verify_password(password_hash=None, password=password)
        login_throttle.record_failure(session, attempt, policy=policy, now=now)
        return LoginOutcome(user=None)
    if not verify_password(password_hash=user.password_hash, password=password):
        login_throttle.record_failure(session, attempt, policy=policy, now=now)
        return LoginOutcome(user=None)
    login_throttle.record_success(session, attempt, now=now)
    return LoginOutcome(user=user)


def attempt_login(
    *,
    session: Session,
    username: str,
    password: str,
    client_address: str,
    now: datetime,
    policy: ThrottlePolicy,
    via: Literal["bearer", "session"],
    action: str,
) -> LoginOutcome:
    """A password login as both login routes do it: a refused attempt is audited and
    committed at once (the caller answers with an error, which rolls back the rest); an
    accepted one is audited as ``action`` and left for the caller to commit with what it
    issues (a token, a session)."""
    attempt = login_throttle.Attempt(username=username, address=address_key(client_address))
    outcome = _check(session, attempt, password, now, policy)
    if outcome.user is None:
        record_anonymous(
            session=session,
            now=now,
            username=username,
            action="auth.login",
            outcome="throttled" if outcome.throttled else "denied",
        )
        session.commit()
        return outcome
    principal = load_principal(
        session=session, staff_id=outcome.user.id, via=via, session_id=None, language="da"
    )
    if principal is not None:
        record(
            session=session, principal=principal, now=now, action=action, resource_type="session"
        )
    return outcome
