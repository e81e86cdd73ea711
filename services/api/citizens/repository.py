"""Citizens and their records as the use cases see them (one seam, with a fake beside it in
the unit tests). Read models for pages and lists are in ``queries.py``."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlmodel import Session, col, select

from pust.db.tables import (
    Citizen,
    CitizenNote,
    LimitSet,
    PausePeriod,
    Plan,
    Reading,
    TriageResult,
)
from pust.domain.cpr import Cpr
from services.api.citizens.service import (
    current_limit_set,
    current_plan,
    lock_citizen,
    team_default_rules,
)


class CitizenRepository(Protocol):
    def get(self, citizen_id: uuid.UUID) -> Citizen | None: ...

    def cpr_taken(self, cpr: Cpr) -> bool: ...

    def add(self, citizen: Citizen) -> None:
        """Stored at once (the id is known after this)."""

    def lock(self, citizen_id: uuid.UUID) -> None:
        """Serialise writers of one citizen's versioned records (limits, plan)."""

    def team_default_rules(self, care_team_id: uuid.UUID) -> dict[str, object]: ...

    def current_limits(self, citizen_id: uuid.UUID) -> LimitSet | None: ...

    def add_limits(self, limits: LimitSet) -> None: ...

    def current_plan(self, citizen_id: uuid.UUID) -> Plan | None: ...

    def add_plan(self, plan: Plan) -> None: ...


class CitizenRecords(Protocol):
    def reading(self, reading_id: int) -> tuple[Reading, Citizen] | None: ...

    def triage_of(self, reading_id: int) -> TriageResult | None: ...

    def pause(self, pause_id: uuid.UUID) -> PausePeriod | None: ...

    def add_pause(self, pause: PausePeriod) -> None: ...

    def add_note(self, note: CitizenNote) -> None: ...


class SqlCitizenRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, citizen_id: uuid.UUID) -> Citizen | None:
        return self._session.get(Citizen, citizen_id)

    def cpr_taken(self, cpr: Cpr) -> bool:
        return self._session.exec(select(Citizen.id).where(Citizen.cpr == cpr)).first() is not None

    def add(self, citizen: Citizen) -> None:
        self._session.add(citizen)
        self._session.flush()

    def lock(self, citizen_id: uuid.UUID) -> None:
        lock_citizen(self._session, citizen_id)

    def team_default_rules(self, care_team_id: uuid.UUID) -> dict[str, object]:
        return team_default_rules(self._session, care_team_id)

    def current_limits(self, citizen_id: uuid.UUID) -> LimitSet | None:
        return current_limit_set(self._session, citizen_id)

    def add_limits(self, limits: LimitSet) -> None:
        self._session.add(limits)
        self._session.flush()

    def current_plan(self, citizen_id: uuid.UUID) -> Plan | None:
        return current_plan(self._session, citizen_id)

    def add_plan(self, plan: Plan) -> None:
        self._session.add(plan)
        self._session.flush()


class SqlCitizenRecords:
    def __init__(self, session: Session) -> None:
        self._session = session

    def reading(self, reading_id: int) -> tuple[Reading, Citizen] | None:
        row = self._session.exec(
            select(Reading, Citizen)
            .join(Citizen, col(Citizen.id) == col(Reading.citizen_id))
            .where(Reading.id == reading_id)
        ).first()
        return None if row is None else (row[0], row[1])

    def triage_of(self, reading_id: int) -> TriageResult | None:
        return self._session.exec(
            select(TriageResult).where(TriageResult.reading_id == reading_id)
        ).first()

    def pause(self, pause_id: uuid.UUID) -> PausePeriod | None:
        return self._session.get(PausePeriod, pause_id)

    def add_pause(self, pause: PausePeriod) -> None:
        self._session.add(pause)
        self._session.flush()

    def add_note(self, note: CitizenNote) -> None:
        self._session.add(note)
        self._session.flush()
