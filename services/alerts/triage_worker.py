"""The triage worker: every committed reading and questionnaire response gets triaged once.

Work is found in the database (``triaged_at IS NULL``); the MQTT hint only wakes the worker
sooner, so a lost hint delays nothing by more than one poll. A batch is claimed with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (replicas split the work); SQLite transactions
begin IMMEDIATE and serialise. Each reading's triage result, alert changes and
``triaged_at`` commit in one transaction: a worker killed at any moment leaves the reading
untriaged (and it is done again) or fully triaged — never half.

If a batch fails, each of its rows is retried alone; a row that fails alone is marked
triaged with a technical alert "could not be triaged", so one bad row neither blocks the
queue nor vanishes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlmodel import Session, col, select

from pust.db.alert_repository import raise_or_repeat
from pust.db.engine import session_scope
from pust.db.tables.citizens import Citizen
from pust.db.tables.readings import QuestionnaireResponse, Reading, TriageResult
from pust.domain.clock import Clock
from pust.domain.triage import ReadingFacts, RuleFailure, Triage, triage_reading, triage_response
from pust.messaging.topics import Topics
from services.alerts.alert_effects import Source, apply_triage, technical_breach
from services.alerts.citizen_context import CitizenContext, ContextLoader, change_history

log = logging.getLogger(__name__)

Row = Reading | QuestionnaireResponse


class TriageWorker:
    def __init__(
        self, *, engine: Engine, clock: Clock, topics: Topics, batch_size: int = 200
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._topics = topics
        self._batch_size = batch_size
        self._contexts = ContextLoader()

    def run_once(self) -> int:
        """Triage one batch of readings and one of responses; returns how many were done."""
        return self._run(Reading) + self._run(QuestionnaireResponse)

    def drain(self, *, max_batches: int = 1000) -> int:
        total = 0
        for _ in range(max_batches):
            done = self.run_once()
            total += done
            if done == 0:
                break
        return total

    # batches ---------------------------------------------------------------------------

    def _run(self, table: type[Reading] | type[QuestionnaireResponse]) -> int:
        try:
            with session_scope(self._engine) as session:
                rows = self._claim(session, table, limit=self._batch_size)
                ids = [row.id for row in rows]
                contexts = self._contexts.load(
                    session, {row.citizen_id for row in rows}, now=self._clock.now()
                )
                # triage results and ``triaged_at`` of green readings are written together
                # at the next flush (the alert repository flushes before it reads)
                with session.no_autoflush:
                    for row in rows:
                        self._triage(session, row, contexts)
            return len(ids)
        except SQLAlchemyError:
            log.warning(
                "triage.batch_failed table=%s; retrying rows one by one", table.__tablename__
            )
        return self._one_by_one(table)

    def _claim(
        self, session: Session, table: type[Reading] | type[QuestionnaireResponse], *, limit: int
    ) -> list[Any]:
        statement = (
            select(table)
            .where(col(table.triaged_at).is_(None))
            .order_by(col(table.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(session.exec(statement).all())

    def _one_by_one(self, table: type[Reading] | type[QuestionnaireResponse]) -> int:
        with session_scope(self._engine) as session:
            ids = [row.id for row in self._claim(session, table, limit=self._batch_size)]
        done = 0
        for row_id in ids:
            try:
                with session_scope(self._engine) as session:
                    row = self._lock_one(session, table, row_id)
                    if row is not None:
                        self._triage(session, row, {})
                        done += 1
            except (OperationalError, InterfaceError):
                raise  # the database is unavailable (or a deadlock): retry later, mark nothing
            except SQLAlchemyError:
                # this row cannot be written as triaged (bad data): a technical alert instead
                log.warning("triage.row_failed table=%s id=%s", table.__tablename__, row_id)
                done += self._mark_untriageable(table, row_id)
        return done

    def _lock_one(
        self, session: Session, table: type[Reading] | type[QuestionnaireResponse], row_id: Any
    ) -> Any:
        statement = (
            select(table)
            .where(col(table.id) == row_id, col(table.triaged_at).is_(None))
            .with_for_update(skip_locked=True)
        )
        return session.exec(statement).first()

    def _mark_untriageable(
        self, table: type[Reading] | type[QuestionnaireResponse], row_id: Any
    ) -> int:
        now = self._clock.now()
        try:
            with session_scope(self._engine) as session:
                row = self._lock_one(session, table, row_id)
                if row is None:
                    return 0
                source = self._source(session, row, None)
                failure = RuleFailure("triage", "TriageFailed")
                raise_or_repeat(
                    session, breach=technical_breach(source, "triage", [failure.reason()]), now=now
                )
                row.triaged_at = now
            return 1
        except SQLAlchemyError:
            # the database itself is failing: the row stays untriaged and is retried
            log.exception(
                "triage.untriageable_not_recorded table=%s id=%s", table.__tablename__, row_id
            )
            return 0

    # one row ---------------------------------------------------------------------------

    def _source(self, session: Session, row: Row, context: CitizenContext | None) -> Source:
        is_reading = isinstance(row, Reading)
        observed = row.measured_at if isinstance(row, Reading) else row.answered_at
        care_team_id = context.care_team_id if context is not None else _care_team(session, row)
        return Source(
            citizen_id=row.citizen_id,
            care_team_id=care_team_id,
            device_id=row.device_id,
            observed_at=observed,
            late=row.late,
            limit_set_id=None if context is None else context.limit_set_id,
            reading_id=row.id if is_reading else None,
            response_id=None if is_reading else row.id,
        )

    def _triage(
        self, session: Session, row: Row, contexts: dict[uuid.UUID, CitizenContext]
    ) -> None:
        now = self._clock.now()
        if not row.valid:
            row.triaged_at = now  # invalidated before triage: excluded, nothing to say
            return
        context = contexts.get(row.citizen_id)
        if context is None:
            context = self._contexts.load(session, [row.citizen_id], now=now)[row.citizen_id]
            contexts[row.citizen_id] = context
        verdict = self._verdict(session, row, context)
        is_reading = isinstance(row, Reading)
        session.add(
            TriageResult(
                citizen_id=row.citizen_id,
                reading_id=row.id if is_reading else None,
                questionnaire_response_id=None if is_reading else row.id,
                severity=verdict.severity.value,
                reasons=verdict.reasons,
                limit_set_id=context.limit_set_id,
                late=row.late,
                evaluated_at=now,
            )
        )
        row.severity = verdict.severity.value
        row.triaged_at = now
        source = self._source(session, row, context)
        apply_triage(session, triage=verdict, source=source, now=now, topics=self._topics)
        log.debug("triage.done table=%s id=%s", type(row).__tablename__, row.id)

    def _verdict(self, session: Session, row: Row, context: CitizenContext) -> Triage:
        rules = context.rules
        if rules is None:
            return Triage(failures=(RuleFailure("limits", "InvalidRuleSetError"),))
        try:
            if isinstance(row, Reading):
                facts = ReadingFacts(type=row.type, value=row.value, measured_at=row.measured_at)
                windows = [rule.window_days for rule in rules.change if rule.type.value == row.type]
                history = change_history(session, row, window_days=max(windows)) if windows else []
                return triage_reading(facts, rules, baselines=context.baselines, history=history)
            answers = {
                str(a.get("item")): a.get("value") for a in row.answers if isinstance(a, dict)
            }
            return triage_response(row.questionnaire, answers, rules, baselines=context.baselines)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # a bug outside any one rule: still never silence
            return Triage(failures=(RuleFailure("triage", type(exc).__name__),))


def make_hint_handler(wake: Callable[[], None]) -> Callable[[Any], None]:
    """The MQTT hint carries no data we trust: it only wakes the worker."""

    def handle(_message: Any) -> None:
        wake()

    return handle


def _care_team(session: Session, row: Row) -> uuid.UUID:
    citizen = session.get(Citizen, row.citizen_id)
    if citizen is None:  # impossible with the foreign key; say so rather than guess
        raise LookupError("the citizen of a reading is gone")
    return citizen.care_team_id
