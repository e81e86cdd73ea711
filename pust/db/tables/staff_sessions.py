"""Browser sessions of staff, kept server-side so that logout and deactivation end them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from pust.db.tables._base import timestamp


class StaffSession(SQLModel, table=True):
    """One login in a browser. The cookie carries a random token; only its SHA-256 is
    stored here (``id``), so a copy of the table gives nobody a session."""

    __tablename__ = "staff_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie's token
    staff_id: uuid.UUID = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = timestamp()
    last_seen_at: datetime = timestamp()
    expires_at: datetime = timestamp()
    revoked_at: datetime | None = timestamp(nullable=True)
    # logout | deactivated | password_changed
    revoked_reason: str | None = Field(default=None, max_length=32)
