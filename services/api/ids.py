"""Path parameters for numeric ids: bounded to a 64-bit integer, as the database is."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

MAX_BIGINT = 2**63 - 1

BigIdPath = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
