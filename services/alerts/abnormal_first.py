"""Abnormal first: the triage worker claims the readings and answers that are likely to need
a nurse before the green backlog ahead of them (the morning after an outage, every tablet
flushes its outbox at once; the red reading must not wait behind 50,000 green ones).

A scout reads the untriaged rows beyond its watermark (lean columns, in id order, a chunk
at a time) and pre-classifies each one with :mod:`pust.domain.abnormal_first` against the
citizen's rule set; the ids it finds abnormal are claimed first. Nothing is written: the
ids live in this process only. A restarted worker scouts again from the oldest untriaged
row, and another replica's scout finds the same ids (the claim skips what is locked or
already triaged), so kill -9 changes the order at most, never what is triaged.

Red before yellow: a backlog of simulated (and real) traffic holds many yellow readings
(citizens who live near an absolute SpO2 limit; every "yes" answer). A red one found by the
pre-pass is claimed ahead of all the yellow ones known, and the scout looks at newly
committed rows before every claim, so a red reading committed during a drain is claimed in
the next batch even while thousands of yellow ones wait (ingest commits such a red reading
ahead of the green backlog too: ``services/ingest/triage_hint.py``).

A batch of their own: before each normal batch the worker claims the red reading ids
known (:meth:`AbnormalFirst.reds`, at most a tenth of a batch) in a small batch of their
own, so a red reading's alert commits after the batch in flight plus a few rows, not a
full batch; never two such batches in a row (the batch after one is always a normal one).
The same ``SKIP LOCKED`` claim: an id another replica holds or has triaged is skipped.

No starvation: a batch gives at most three quarters of its places to abnormal rows; the
rest always go to the oldest untriaged rows in id order, so the green backlog advances at
no less than a quarter of the worker's throughput, however many abnormal rows keep coming.
The sets of remembered ids are bounded (beyond :data:`YELLOW_BATCHES` batches of yellow
ids, and :data:`RED_BATCHES` of red ones, the scout passes further ones by: they are
triaged in id order). A row committed with an id below the watermark (a slow transaction)
is not scouted: it is triaged in id order like before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col
from sqlmodel import select as select_model

from pust.db.tables.citizens import Citizen
from pust.db.tables.readings import QuestionnaireResponse, Reading
from pust.domain.abnormal_first import AbnormalScreen, response_is_abnormal
from pust.domain.severity import Severity
from services.alerts.citizen_context import ContextLoader, newest_limit_sets
from services.alerts.pending import Kind

SCOUT_CHUNK = 5000
RULES_TTL = timedelta(seconds=60)
# how many batches' worth of ids the scout remembers, per kind
YELLOW_BATCHES = 20
RED_BATCHES = 100


def abnormal_share(limit: int) -> int:
    """At most this many places of a batch of ``limit`` go to abnormal rows."""
    return max(1, (limit * 3) // 4) if limit > 1 else 1


class AbnormalFirst:
    def __init__(
        self, contexts: ContextLoader, *, chunk: int = SCOUT_CHUNK, batch_limit: int = 200
    ) -> None:
        self._contexts = contexts
        self._chunk = chunk
        self._batch_limit = batch_limit
        self._watermark: dict[Kind, int] = {Kind.READING: 0, Kind.RESPONSE: 0}
        # red (the pre-pass says red) and yellow (any other breach, or a "yes")
        self._red: dict[Kind, set[int]] = {Kind.READING: set(), Kind.RESPONSE: set()}
        self._yellow: dict[Kind, set[int]] = {Kind.READING: set(), Kind.RESPONSE: set()}
        self._rules: dict[uuid.UUID, tuple[AbnormalScreen | None, datetime]] = {}
        self._screens: dict[int, AbnormalScreen] = {}  # by id() of a remembered rule set

    def candidates(self, session: Session, kind: Kind, *, limit: int, now: datetime) -> list[int]:
        """The oldest red ids known, then the oldest yellow ones, at most
        :func:`abnormal_share` of ``limit``; they are forgotten here (the claim takes them,
        or another worker has). Scouts the rows committed since the last call first."""
        self._scout(session, kind, now, limit=limit)
        share = abnormal_share(limit)
        chosen = sorted(self._red[kind])[:share]
        self._red[kind].difference_update(chosen)
        if len(chosen) < share:
            yellow = sorted(self._yellow[kind])[: share - len(chosen)]
            self._yellow[kind].difference_update(yellow)
            chosen += yellow
        return chosen

    def reds(self, session: Session, kind: Kind, *, limit: int, now: datetime) -> list[int]:
        """Up to ``limit`` of the oldest red ids known, for a red-only batch; forgotten here
        like :meth:`candidates`' (the claim takes them, or another worker has). Scouts the
        rows committed since the last call first (the sets bounded as for a batch of
        ``batch_limit``)."""
        self._scout(session, kind, now, limit=self._batch_limit)
        chosen = sorted(self._red[kind])[:limit]
        self._red[kind].difference_update(chosen)
        return chosen

    def _remember(self, kind: Kind, row_id: int, severity: Severity, limit: int) -> None:
        if severity is Severity.RED:
            if len(self._red[kind]) < RED_BATCHES * limit:
                self._red[kind].add(row_id)
        elif severity is Severity.YELLOW and len(self._yellow[kind]) < YELLOW_BATCHES * limit:
            self._yellow[kind].add(row_id)

    def _scout(self, session: Session, kind: Kind, now: datetime, *, limit: int) -> None:
        table: Any = Reading if kind is Kind.READING else QuestionnaireResponse
        detail: Any = (
            (Reading.type, Reading.value)
            if kind is Kind.READING
            else (QuestionnaireResponse.answers,)
        )
        rows = session.execute(
            select(col(table.id), col(table.citizen_id), *detail)
            .where(
                col(table.triaged_at).is_(None),
                col(table.valid).is_(True),
                col(table.id) > self._watermark[kind],
            )
            .order_by(col(table.id))
            .limit(self._chunk)
        ).all()
        if not rows:
            return
        self._watermark[kind] = rows[-1][0]
        if kind is Kind.RESPONSE:
            for row in rows:
                if response_is_abnormal(_answers(row[2])):
                    self._remember(kind, row[0], Severity.YELLOW, limit)
            return
        screens = self._screens_of(session, {row[1] for row in rows}, now)
        for row_id, citizen_id, type_, value in rows:
            screen = screens.get(citizen_id)
            if screen is not None:
                self._remember(kind, row_id, screen.severity(type_, value), limit)

    def _screens_of(
        self, session: Session, citizen_ids: set[uuid.UUID], now: datetime
    ) -> dict[uuid.UUID, AbnormalScreen | None]:
        """The screen of each citizen's rule set in force (remembered for
        :data:`RULES_TTL`: a stale one only changes the order of the queue, never a
        verdict)."""
        fresh = {
            citizen_id: found[0]
            for citizen_id in citizen_ids
            if (found := self._rules.get(citizen_id)) is not None and now - found[1] < RULES_TTL
        }
        missing = [citizen_id for citizen_id in citizen_ids if citizen_id not in fresh]
        if missing:
            if len(self._rules) > 100_000:
                self._rules.clear()
            citizens = session.exec(select_model(Citizen).where(col(Citizen.id).in_(missing))).all()
            chosen = newest_limit_sets(session, citizens)
            for citizen in citizens:
                rules = self._contexts.rules_of(chosen.get(citizen.id))
                screen = None
                if rules is not None:  # parsed rule sets are remembered, so id() is stable
                    screen = self._screens.get(id(rules))
                    if screen is None:
                        screen = self._screens[id(rules)] = AbnormalScreen(rules)
                self._rules[citizen.id] = (screen, now)
                fresh[citizen.id] = screen
        return fresh


def _answers(document: Iterable[Any] | None) -> list[tuple[str, Any]]:
    return [
        (str(answer.get("item")), answer.get("value"))
        for answer in (document or [])
        if isinstance(answer, dict)
    ]
