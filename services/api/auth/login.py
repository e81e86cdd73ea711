"""Password login with lockout: after ``max_failed_logins`` failures in a row the account
is locked for ``lockout_minutes``; each failure is counted even while locked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from pust.db.tables import StaffUser
from services.api.auth.passwords import verify_password


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    user: StaffUser | None
    locked: bool = False


def authenticate(
    *,
    session: Session,
    username: str,
    password: str,
    now: datetime,
    max_failed: int,
    lockout: timedelta,
) -> LoginOutcome:
    """Check a username and password. The caller commits (the failure counter is state)."""
    user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
    if user is None or not user.active:
        verify_password(password_hash=None, password=password)
        return LoginOutcome(user=None)
    if user.locked_until is not None and user.locked_until > now:
        user.failed_logins += 1
        session.add(user)
        return LoginOutcome(user=None, locked=True)
    if not verify_password(password_hash=user.password_hash, password=password):
        user.failed_logins += 1
        if user.failed_logins >= max_failed:
            user.locked_until = now + lockout
        session.add(user)
        return LoginOutcome(
            user=None, locked=user.locked_until is not None and user.locked_until > now
        )
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    return LoginOutcome(user=user)
