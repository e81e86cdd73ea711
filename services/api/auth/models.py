"""Schemas of the auth endpoints."""

from __future__ import annotations

import uuid

from pydantic import BaseModel


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class StaffBase(BaseModel):
    username: str
    display_name: str
    role: str


class MePublic(StaffBase):
    id: uuid.UUID
    care_team_ids: list[uuid.UUID]
    csrf_token: str | None = None
