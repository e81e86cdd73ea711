"""A batch that loses a deadlock (or a serialization failure) is retried whole: never halved
down to one message and quarantined as if the database had refused it."""

from __future__ import annotations

import psycopg.errors
import pytest
from sqlalchemy.exc import DBAPIError

from services.ingest.group_commit import _is_transient


def _error(orig: Exception) -> DBAPIError:
    return DBAPIError.instance("INSERT …", None, orig, psycopg.Error, hide_parameters=True)


@pytest.mark.parametrize(
    "orig", [psycopg.errors.DeadlockDetected(), psycopg.errors.SerializationFailure()]
)
def test_a_lost_deadlock_is_transient(orig: Exception) -> None:
    assert _is_transient(_error(orig))


def test_a_refused_value_is_not() -> None:
    assert not _is_transient(_error(psycopg.errors.StringDataRightTruncation()))
