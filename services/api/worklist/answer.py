"""The JSON worklist's answer, kept per process and reused while the teams' open alerts are
unchanged (issue 17: 50 nurses in a closed loop).

A team's worklist changes only when one of its open alerts (or a citizen or nurse named on
one) changes. Each request therefore still runs, in its own transaction:

1. the principal (scoping: her teams as they are now, :mod:`services.api.auth.current`);
2. ONE statement that computes the teams' **change token** — a count and a sum of 64-bit
   hashes of every column the worklist shows, over every open alert of the teams joined to
   its citizen and claiming nurse — and, in the same statement, inserts the audit rows of
   the citizens of the kept answer **only if the token is still the one the answer was
   built at** (a data-modifying CTE, PostgreSQL);
3. the commit.

When the token still holds, the kept answer is sent (the ages counted to now); every
citizen shown was audited by step 2, once per request. When it does not, nothing was
audited: the page is computed (the token read first, so a change meanwhile only makes the
next request compute it again), audited, sent and kept. A new alert changes the count, any
change to a shown column changes the hash: the next fetch after a commit is fresh. Other
processes (the alerts service, a second api worker) need no message: the token is read from
the database on every request.

On SQLite nothing is kept (no token): every request computes and audits its page.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session

from services.api.audit.recorder import citizen_read_parameters, citizen_reads_insert_sql
from services.api.auth.principal import Principal
from services.api.worklist.models import WorklistRowPublic

_AGE = b'"age_seconds":'
_PLACEHOLDER = _AGE + b"-1"

# every column of a worklist row (queries._page_statement), of every open alert of the
# teams: any change to what a nurse would see changes the hash; a new or closed alert the
# count (concat_ws skips NULLs: a value moving between two NULL-able columns is the only
# blind spot, and no writer does that)
_CHANGE_CTE = """token AS (
  SELECT count(*) || ':' || coalesce(sum(hashtextextended(concat_ws('|',
      a.id, a.citizen_id, a.care_team_id, a.kind, a.rule_key, a.severity, a.band_order,
      a.status, a.lock_version, a.count, a.first_seen_at, a.last_seen_at, a.updated_at,
      a.last_value, a.late, a.claimed_by, CAST(a.reasons AS text),
      c.given_name, c.family_name, c.cpr, s.username), 0)), 0) AS t
  FROM alert a
  JOIN citizen c ON c.id = a.citizen_id
  LEFT JOIN staff_user s ON s.id = a.claimed_by
  WHERE a.care_team_id = ANY(CAST(:team_ids AS uuid[]))
    AND a.status = 'open'
)"""

# fixed text only; every value is a bound parameter
_TOKEN_AND_AUDIT = text(
    f"WITH {_CHANGE_CTE}, audited AS ("  # noqa: S608 - fixed text
    + citizen_reads_insert_sql(where="(SELECT t FROM token) = :expected")
    + " RETURNING 1) SELECT (SELECT t FROM token) AS token,"
    " (SELECT count(*) FROM audited) AS audited"
)


@dataclass(frozen=True, slots=True)
class _Row:
    """One row's JSON around its age, which is counted to the time of each answer."""

    head: bytes
    first_seen: float
    tail: bytes

    def json(self, at: float) -> bytes:
        return self.head + str(max(0, int(at - self.first_seen))).encode() + self.tail


def _row(row: WorklistRowPublic) -> _Row:
    body = row.model_copy(update={"age_seconds": -1}).model_dump_json().encode()
    head, found, tail = body.partition(_PLACEHOLDER)
    assert found, "the row's JSON names age_seconds"
    return _Row(head + _AGE, row.first_seen_at.timestamp(), tail)


@dataclass(frozen=True, slots=True)
class Answer:
    """A worklist answer (tasks and watches) as JSON parts, and who is on it."""

    token: str | None
    items: tuple[_Row, ...]
    total: int
    watches: tuple[_Row, ...]
    watch_total: int
    limit: int
    offset: int
    shown: tuple[tuple[uuid.UUID, uuid.UUID], ...]  # (citizen, team), each citizen once

    @classmethod
    def of(
        cls,
        *,
        token: str | None,
        items: Sequence[WorklistRowPublic],
        total: int,
        watches: Sequence[WorklistRowPublic],
        watch_total: int,
        limit: int,
        offset: int,
    ) -> Answer:
        shown = dict((r.citizen_id, r.care_team_id) for r in [*items, *watches])
        return cls(
            token,
            tuple(_row(r) for r in items),
            total,
            tuple(_row(r) for r in watches),
            watch_total,
            limit,
            offset,
            tuple(shown.items()),
        )

    def body(self, now: datetime) -> bytes:
        """The answer of :class:`~services.api.worklist.models.WorklistPagePublic`."""
        at = now.timestamp()
        return b"".join(
            (
                b'{"items":[',
                b",".join(r.json(at) for r in self.items),
                b'],"total":%d,"limit":%d,"offset":%d,"watches":['
                % (self.total, self.limit, self.offset),
                b",".join(r.json(at) for r in self.watches),
                b'],"watch_total":%d}' % self.watch_total,
            )
        )


Key = tuple[frozenset[uuid.UUID], tuple[str, ...], int, int]


class AnswerCache:
    """The answers of one process, least recently used out first. Threads of the pool
    share it."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._answers: OrderedDict[Key, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def put(self, key: Key, answer: Answer) -> None:
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)


def key_of(team_ids: frozenset[uuid.UUID], bands: Collection[str], limit: int, offset: int) -> Key:
    return (team_ids, tuple(sorted(set(bands))), limit, offset)


def token_and_audit(
    session: Session,
    *,
    team_ids: Collection[uuid.UUID],
    kept: Answer | None,
    actor: Principal,
    now: datetime,
    action: str,
) -> tuple[str, bool]:
    """The teams' change token now, and whether the citizens of ``kept`` were audited by
    this same statement (only when the token is still ``kept``'s)."""
    shown = kept.shown if kept is not None else ()
    parameters = citizen_read_parameters(principal=actor, now=now, action=action, citizens=shown)
    parameters["team_ids"] = list(team_ids)
    parameters["expected"] = kept.token if kept is not None else None
    row = session.execute(_TOKEN_AND_AUDIT, parameters).one()
    token = str(row.token)
    audited = kept is not None and token == kept.token
    assert not audited or int(row.audited) == len(shown)
    return token, audited
