"""The triage worker: every committed reading and questionnaire response gets triaged once.

Work is found in the database (``triaged_at IS NULL``); the MQTT hint only wakes the worker
sooner, so a lost hint delays nothing by more than one poll. A batch is claimed with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (replicas split the work); SQLite transactions
begin IMMEDIATE and serialise. A batch's triage results, alert changes and ``triaged_at``
commit in one transaction: a worker killed at any moment leaves each row untriaged (and it
is done again) or fully triaged — never half.

If a batch fails, each of its rows is retried alone; a row that fails alone for a reason in
its data is marked triaged with a technical alert "could not be triaged", so one bad row
neither blocks the queue nor vanishes. A database outage marks nothing: rows wait.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from pust.db.alert_repository import raise_or_repeat
from pust.db.engine import session_scope
from pust.db.tables.citizens import Citizen
from pust.domain.clock import Clock
from pust.domain.limits import RuleSet
from pust.domain.triage import ReadingFacts, RuleFailure, Triage, triage_reading, triage_response
from pust.messaging.topics import Topics
from services.alerts.abnormal_first import AbnormalFirst
from services.alerts.alert_effects import Source, apply_triages, technical_breach
from services.alerts.citizen_context import CitizenContext, ContextLoader
from services.alerts.pending import Kind, Outcome, Pending, claim, write
from services.alerts.reading_history import HistoryWanted, ReadingHistory, ResponseWanted

log = logging.getLogger(__name__)


class TriageWorker:
    def __init__(
        self, *, engine: Engine, clock: Clock, topics: Topics, batch_size: int = 200
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._topics = topics
        self._batch_size = batch_size
        self._contexts = ContextLoader()
        self._abnormal_first = AbnormalFirst(self._contexts, batch_limit=batch_size)
        self._needs = HistoryNeeds()
        self._red_batch_size = red_batch_size(batch_size)
        self._last_was_red_only = False  # the last batch that triaged anything

    def run_once(self) -> int:
        """Triage one batch of readings and one of responses, each after a small red-only
        batch when red rows are known; returns how many were done."""
        done = 0
        for kind in (Kind.READING, Kind.RESPONSE):
            done += self._reds_first()
            done += self._run(kind)
        return done

    def _reds_first(self) -> int:
        """A batch of only the red readings the scout knows (its pre-pass finds no red
        response: a "yes" is yellow), unless the last batch that triaged anything was such
        a batch: the others waiting always get the next batch, so nothing starves."""
        if self._last_was_red_only:
            return 0
        return self._run(Kind.READING, red_only=True)

    def drain(self, *, max_batches: int = 1000) -> int:
        total = 0
        for _ in range(max_batches):
            done = self.run_once()
            total += done
            if done == 0:
                break
        return total

    # batches ---------------------------------------------------------------------------

    def _run(self, kind: Kind, *, red_only: bool = False) -> int:
        reds: list[int] = []
        try:
            with session_scope(self._engine) as session:
                if red_only:
                    reds = self._abnormal_first.reds(
                        session, kind, limit=self._red_batch_size, now=self._clock.now()
                    )
                    if not reds:
                        return 0
                    rows = claim(session, kind, limit=len(reds), first_ids=reds, only_first=True)
                else:
                    rows = self._claim(session, kind)
                done = self._triage_batch(session, rows)
            if done:
                self._last_was_red_only = red_only
                log.debug(
                    "triage.batch_committed kind=%s size=%d red_only=%s", kind.value, done, red_only
                )
            return done
        except (OperationalError, InterfaceError):
            raise  # the database is unavailable: the caller backs off; rows wait
        except SQLAlchemyError:
            log.warning("triage.batch_failed kind=%s; retrying rows one by one", kind.value)
        self._last_was_red_only = False
        return self._one_by_one(kind, reds if red_only else None)

    def _claim(self, session: Session, kind: Kind) -> list[Pending]:
        """A batch: abnormal rows first (at most three quarters of it), then the oldest."""
        first = self._abnormal_first.candidates(
            session, kind, limit=self._batch_size, now=self._clock.now()
        )
        return claim(session, kind, limit=self._batch_size, first_ids=first)

    def _triage_batch(self, session: Session, rows: list[Pending]) -> int:
        if not rows:
            return 0
        log.debug("triage.batch_started size=%d", len(rows))
        now = self._clock.now()
        contexts = self._contexts.load(session, {row.citizen_id for row in rows}, now=now)
        histories = ReadingHistory(session)
        wanted = [
            want
            for row in rows
            if (want := _look_back(row, contexts.get(row.citizen_id), self._needs))
        ]
        histories.load(w for w in wanted if isinstance(w, HistoryWanted))
        histories.load_responses(w for w in wanted if isinstance(w, ResponseWanted))
        verdicts = [self._judge(session, row, contexts, histories, now) for row in rows]
        outcomes = []
        effects = []
        for row, judged in zip(rows, verdicts, strict=True):
            if judged is None:
                outcomes.append(Outcome(row, None, [], None))  # invalidated: excluded
                continue
            verdict, context = judged
            effects.append((verdict, _source(row, context.care_team_id, context.limit_set_id)))
            outcomes.append(
                Outcome(row, verdict.severity.value, verdict.reasons, context.limit_set_id)
            )
        # every alert the batch raises, repeats or resolves: a few statements for all of them
        apply_triages(session, effects, now=now, topics=self._topics)
        write(session, outcomes, now=now)
        return len(rows)

    def _one_by_one(self, kind: Kind, ids: list[int] | None = None) -> int:
        """Each row of the failed batch (``ids``, else the oldest batch) alone."""
        if ids is None:
            with session_scope(self._engine) as session:
                ids = [row.id for row in claim(session, kind, limit=self._batch_size)]
        done = 0
        for row_id in ids:
            try:
                with session_scope(self._engine) as session:
                    done += self._triage_batch(
                        session, claim(session, kind, limit=1, only_id=row_id)
                    )
            except (OperationalError, InterfaceError):
                raise  # the database is unavailable (or a deadlock): retry later, mark nothing
            except SQLAlchemyError:
                # this row cannot be written as triaged (bad data): a technical alert instead
                log.warning("triage.row_failed kind=%s id=%s", kind.value, row_id)
                done += self._mark_untriageable(kind, row_id)
        return done

    def _mark_untriageable(self, kind: Kind, row_id: int) -> int:
        now = self._clock.now()
        try:
            with session_scope(self._engine) as session:
                rows = claim(session, kind, limit=1, only_id=row_id)
                if not rows:
                    return 0
                row = rows[0]
                source = _source(row, _care_team(session, row), None)
                failure = RuleFailure("triage", "TriageFailed")
                raise_or_repeat(
                    session, breach=technical_breach(source, "triage", [failure.reason()]), now=now
                )
                write(session, [Outcome(row, None, [], None)], now=now)
            return 1
        except SQLAlchemyError:
            # the database itself is failing: the row stays untriaged and is retried
            log.exception("triage.untriageable_not_recorded kind=%s id=%s", kind.value, row_id)
            return 0

    # one row ---------------------------------------------------------------------------

    def _judge(
        self,
        session: Session,
        row: Pending,
        contexts: dict[uuid.UUID, CitizenContext],
        histories: ReadingHistory,
        now: datetime,
    ) -> tuple[Triage, CitizenContext] | None:
        if not row.valid:
            return None
        context = contexts.get(row.citizen_id)
        if context is None:
            context = self._contexts.load(session, [row.citizen_id], now=now)[row.citizen_id]
            contexts[row.citizen_id] = context
        return self._verdict(row, context, histories), context

    def _verdict(self, row: Pending, context: CitizenContext, histories: ReadingHistory) -> Triage:
        rules = context.rules
        if rules is None:
            return Triage(failures=(RuleFailure("limits", "InvalidRuleSetError"),))
        try:
            if row.kind is Kind.READING:
                facts = ReadingFacts(type=row.type, value=row.value, measured_at=row.observed_at)
                compiled = self._needs.rules_of(rules, row.type)
                want = _look_back(row, context, self._needs)
                history = histories.of(want) if isinstance(want, HistoryWanted) else {}
                return triage_reading(
                    facts, compiled.rules, baselines=context.baselines, history=history
                )
            needs = self._needs.of_response(rules, row.questionnaire)
            earlier = (
                histories.of_response(row.citizen_id, row.questionnaire, row.observed_at, needs)
                if needs
                else {}
            )
            return triage_response(
                row.questionnaire,
                dict(row.answers),
                rules,
                baselines=context.baselines,
                answered_at=row.observed_at,
                history=earlier,
            )
        except SQLAlchemyError:
            raise
        except Exception as exc:  # a bug outside any one rule: still never silence
            return Triage(failures=(RuleFailure("triage", type(exc).__name__),))


def red_batch_size(batch_size: int) -> int:
    """A red-only batch: small (a tenth of a normal batch, at least one), so the red rows'
    alerts commit soon and the batch after it starts soon."""
    return max(1, batch_size // 10)


def _source(row: Pending, care_team_id: uuid.UUID, limit_set_id: uuid.UUID | None) -> Source:
    is_reading = row.kind is Kind.READING
    return Source(
        citizen_id=row.citizen_id,
        care_team_id=care_team_id,
        device_id=row.device_id,
        observed_at=row.observed_at,
        late=row.late,
        limit_set_id=limit_set_id,
        reading_id=row.id if is_reading else None,
        response_id=None if is_reading else row.id,
    )


def _care_team(session: Session, row: Pending) -> uuid.UUID:
    citizen = session.get(Citizen, row.citizen_id)
    if citizen is None:  # impossible with the foreign key; say so rather than guess
        raise LookupError("the citizen of a reading is gone")
    return citizen.care_team_id


@dataclass(frozen=True, slots=True)
class TypeRules:
    """A rule set as a reading of one type sees it: ``rules``, the rules that judge such a
    reading as a rule set of their own (triage then scans and groups only those: the same
    verdict, since only rules that apply to a subject ever judge it or name its concerns),
    and ``needs``, what they look back on (:meth:`~pust.domain.limits.RuleSet.history_needs`)."""

    rules: RuleSet
    needs: dict[str, int]


class HistoryNeeds:
    """:class:`TypeRules` per parsed rule set and reading type, remembered: the loader keeps
    each parsed rule set for good, and a rule set is never edited."""

    def __init__(self) -> None:
        self._known: dict[tuple[int, str], tuple[RuleSet, TypeRules]] = {}
        self._responses: dict[tuple[int, str], tuple[RuleSet, dict[str, int]]] = {}

    def of(self, rules: RuleSet, type_: str) -> dict[str, int]:
        return self.rules_of(rules, type_).needs

    def of_response(self, rules: RuleSet, questionnaire: str) -> dict[str, int]:
        """:meth:`~pust.domain.limits.RuleSet.response_history_needs`, remembered."""
        found = self._responses.get((id(rules), questionnaire))
        if found is not None and found[0] is rules:
            return found[1]
        if len(self._responses) > 10_000:
            self._responses.clear()
        needs = rules.response_history_needs(questionnaire)
        self._responses[(id(rules), questionnaire)] = (rules, needs)
        return needs

    def rules_of(self, rules: RuleSet, type_: str) -> TypeRules:
        found = self._known.get((id(rules), type_))
        if found is not None and found[0] is rules:
            return found[1]
        if len(self._known) > 10_000:
            self._known.clear()
        probe = ReadingFacts(type=type_, value=0.0, measured_at=datetime.min)
        applying = RuleSet(rules=rules.applying_to(probe), alert_groups=rules.alert_groups)
        compiled = TypeRules(applying, rules.history_needs(type_))
        self._known[(id(rules), type_)] = (rules, compiled)
        return compiled


def _look_back(
    row: Pending, context: CitizenContext | None, needs_of: HistoryNeeds
) -> HistoryWanted | ResponseWanted | None:
    """What a reading's or response's rules look back on (asked of its rule set), None if
    nothing."""
    if not row.valid or context is None or context.rules is None:
        return None
    if row.kind is Kind.READING:
        needs = needs_of.of(context.rules, row.type)
        return HistoryWanted(row.citizen_id, row.id, row.observed_at, needs) if needs else None
    needs = needs_of.of_response(context.rules, row.questionnaire)
    if not needs:
        return None
    return ResponseWanted(row.citizen_id, row.questionnaire, row.observed_at, needs)
