"""The worklist's lower band: what the team keeps an eye on ("Holdes øje med", issue 13).

A watch (:class:`pust.domain.severity.AlertKind.WATCH`) is a signal not yet worth a nurse's
time: it is shown, never a task. The worklist page therefore splits the queue's rows: a
citizen's watches leave her task row (and its "Kvittér/afslut alle" form), and every citizen
with a watch is listed once more in the lower band, with how many times the signal was seen
and since when, and no acknowledge or escalation control (a watch is closed on the
citizen's page)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from pust.db.tables import Alert
from pust.domain.severity import AlertKind, AlertStatus, WorklistBand
from services.api.web.formatting import Formatter
from services.api.web.i18n import translator
from services.api.web.render import age_text
from services.api.worklist.queue import QueueRow

WATCH = AlertKind.WATCH.value
LOWER_BAND_ORDER = WorklistBand.GREEN.order


@dataclass(frozen=True, slots=True)
class WatchCounts:
    watching: int  # citizens with an open watch
    watch_only: int  # … and no open task (the queue counts them, the page does not)
    lower_band_tasks: int  # citizens with an open task in the lower band (not a watch)


def is_watch(kind: str) -> bool:
    return kind == WATCH


def task_rows(rows: Iterable[QueueRow], *, band: str | None = None) -> list[QueueRow]:
    """The rows with their tasks only (of ``band`` only, when given: the lower band's own
    filter must not show a citizen's red because she has a watch); a citizen who has only
    watches is no task row."""
    kept = []
    for row in rows:
        tasks = [a for a in row.alerts if not is_watch(a.kind) and (band is None or a.band == band)]
        if tasks:
            kept.append(replace(row, alerts=tasks))
    return kept


def watch_rows(rows: Iterable[QueueRow]) -> tuple[list[QueueRow], set[uuid.UUID]]:
    """The rows with their watches only, and the citizens among them who also have a task."""
    kept, with_tasks = [], set()
    for row in rows:
        watches = [a for a in row.alerts if is_watch(a.kind)]
        if not watches:
            continue
        kept.append(replace(row, alerts=watches))
        if len(watches) < len(row.alerts):
            with_tasks.add(row.citizen_id)
    return kept, with_tasks


def watch_counts(session: Session, team_ids: Collection[uuid.UUID]) -> WatchCounts:
    if not team_ids:
        return WatchCounts(0, 0, 0)
    in_view = (
        col(Alert.care_team_id).in_(list(team_ids)),
        col(Alert.status) == AlertStatus.OPEN.value,
    )
    tasked = select(Alert.citizen_id).where(*in_view, col(Alert.kind) != WATCH)
    count = select(func.count(func.distinct(col(Alert.citizen_id)))).where(
        *in_view, col(Alert.kind) == WATCH
    )
    watching = int(session.execute(count).scalar_one())
    watch_only = int(
        session.execute(count.where(col(Alert.citizen_id).not_in(tasked))).scalar_one()
    )
    lower_band_tasks = int(
        session.execute(
            select(func.count(func.distinct(col(Alert.citizen_id)))).where(
                *in_view, col(Alert.kind) != WATCH, col(Alert.band_order) == LOWER_BAND_ORDER
            )
        ).scalar_one()
    )
    return WatchCounts(watching, watch_only, lower_band_tasks)


def seen_text(language: str, fmt: Formatter, *, times: int, since: datetime, now: datetime) -> str:
    """ "set 3 gange siden 01.12.2026 08.05 (2 d siden)": a watch that has lasted for days
    shows it."""
    t = translator(language)
    age = age_text(language, max(0, int((now - since).total_seconds())))
    text = t("watch_seen_once") if times <= 1 else t("watch_seen_times")
    return f"{text.format(n=times, at=fmt.datetime(since))} ({age} {t('ago')})"


def times_seen(session: Session, alert_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many readings or answers each watch has counted since it opened."""
    if not alert_ids:
        return {}
    rows = session.exec(
        select(Alert.id, Alert.count).where(col(Alert.id).in_(list(alert_ids)))
    ).all()
    return {alert_id: count for alert_id, count in rows}
