"""Who is asking: the authenticated staff member, their role and care teams."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    NURSE = "nurse"
    TEAM_LEAD = "team_lead"
    ADMINISTRATOR = "administrator"
    INTEGRATOR = "integrator"  # read-only machine client


CLINICAL_ROLES = frozenset({Role.NURSE, Role.TEAM_LEAD, Role.ADMINISTRATOR})


@dataclass(frozen=True, slots=True)
class Principal:
    staff_id: uuid.UUID
    username: str
    display_name: str
    role: Role
    team_ids: frozenset[uuid.UUID]
    # "bearer" (API token) or "session" (browser cookie; unsafe requests need CSRF)
    via: str
    session_id: str | None = None
    language: str = "da"

    @property
    def may_act(self) -> bool:
        """Clinical actions (acknowledge, edit limits, notes, ...)."""
        return self.role in CLINICAL_ROLES

    @property
    def is_administrator(self) -> bool:
        return self.role is Role.ADMINISTRATOR

    def team_for_audit(self, team_id: uuid.UUID | None = None) -> uuid.UUID | None:
        if team_id is not None:
            return team_id
        return next(iter(sorted(self.team_ids)), None)
