"""Server-side browser sessions (``staff_session``): created at login, looked up on every
request made with the cookie, revoked at logout, deactivation and password change.

The cookie carries a random 256-bit token; the table keeps its SHA-256 only."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, update

from pust.db.tables import StaffSession

# last_seen_at is written at most this often per session (not a write per request)
TOUCH_EVERY = timedelta(minutes=1)
# expired and revoked rows of a staff member are deleted at their next login after this
KEEP_ENDED = timedelta(days=30)


def session_id_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ActiveSession:
    id: str
    staff_id: uuid.UUID


def create(session: Session, *, staff_id: uuid.UUID, now: datetime, lifetime: timedelta) -> str:
    """A new session row in the caller's transaction; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    session.exec(
        delete(StaffSession).where(
            col(StaffSession.staff_id) == staff_id,
            col(StaffSession.expires_at) < now - KEEP_ENDED,
        )
    )
    session.add(
        StaffSession(
            id=session_id_of(token),
            staff_id=staff_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def find_active(session: Session, *, token: str, now: datetime) -> ActiveSession | None:
    """The session the cookie names, unless it is unknown, revoked or expired.

    Notes when it was last seen, at most once a minute, and commits that at once: this runs
    when the request is authenticated, before the route has done anything, so the commit
    holds nothing else (and a route that fails later does not undo it)."""
    row = session.get(StaffSession, session_id_of(token))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    found = ActiveSession(id=row.id, staff_id=row.staff_id)
    if now - row.last_seen_at >= TOUCH_EVERY:
        session.exec(
            update(StaffSession).where(col(StaffSession.id) == row.id).values(last_seen_at=now)
        )
        session.commit()
    return found


def revoke(session: Session, *, session_id: str, now: datetime, reason: str) -> None:
    session.exec(
        update(StaffSession)
        .where(col(StaffSession.id) == session_id, col(StaffSession.revoked_at).is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


def revoke_all(session: Session, *, staff_id: uuid.UUID, now: datetime, reason: str) -> int:
    """End every open session of a staff member (deactivated, password changed)."""
    result = session.exec(
        update(StaffSession)
        .where(
            col(StaffSession.staff_id) == staff_id,
            col(StaffSession.revoked_at).is_(None),
            col(StaffSession.expires_at) > now,
        )
        .values(revoked_at=now, revoked_reason=reason)
    )
    return int(result.rowcount)
