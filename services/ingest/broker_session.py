"""Noticing that the broker lost ingest's persistent session (issue 12).

Ingest keeps its session at the broker so that messages queue while it is away. When the
broker answers a connect with ``session_present`` false although ingest had connected
within the session's expiry (a reconnect in this process, or an earlier run recorded in
``broker_session``), whatever was queued meanwhile is gone: the tablets re-send what has no
receipt, but an operator must know (a warning, and ``pust_ingest_sessions_lost_total``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, select
from sqlalchemy.exc import SQLAlchemyError

from pust.db.tables import BrokerSession

log = logging.getLogger(__name__)

SESSION: Table = BrokerSession.__table__  # type: ignore[attr-defined]


def session_expected(engine: Engine, client_id: str, now: datetime) -> bool:
    """Whether an earlier run connected recently enough for the broker to keep its session."""
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(SESSION.c.connected_at, SESSION.c.expiry_seconds).where(
                    SESSION.c.client_id == client_id
                )
            ).first()
    except SQLAlchemyError as exc:
        log.warning("ingest.session_check_failed error=%s", type(exc).__name__)
        return False
    if row is None:
        return False
    connected_at, expiry_seconds = row
    return bool(expiry_seconds) and now - connected_at < timedelta(seconds=expiry_seconds)


def record_connection(engine: Engine, client_id: str, now: datetime, expiry_seconds: int) -> None:
    try:
        with engine.begin() as connection:
            updated = connection.execute(
                SESSION.update()
                .where(SESSION.c.client_id == client_id)
                .values(connected_at=now, expiry_seconds=expiry_seconds)
            ).rowcount
            if not updated:
                connection.execute(
                    SESSION.insert().values(
                        client_id=client_id, connected_at=now, expiry_seconds=expiry_seconds
                    )
                )
    except SQLAlchemyError as exc:  # a lost warning is no reason to stop ingesting
        log.warning("ingest.session_record_failed error=%s", type(exc).__name__)
