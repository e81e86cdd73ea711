"""Failed-login counters for throttling (services/api/README.md, "Login throttling")."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from pust.db.tables._base import timestamp


class LoginThrottle(SQLModel, table=True):
    """One counter: of a source address (``scope='address'``, username empty), of an account
    name as typed, known or not (``'account'``, address empty), or of the two together
    (``'pair'``, which also remembers the last successful login from that address)."""

    __tablename__ = "login_throttle"

    scope: str = Field(primary_key=True, max_length=16)
    username: str = Field(primary_key=True, max_length=120)
    address: str = Field(primary_key=True, max_length=64)
    failures: int = Field(default=0)
    last_failure_at: datetime | None = timestamp(nullable=True)
    blocked_until: datetime | None = timestamp(nullable=True)
    last_success_at: datetime | None = timestamp(nullable=True)
