"""Limit/offset pagination. ``total`` counts only what the caller may see: the statement
given to :func:`paged` is already limited to the caller's teams (or to one citizen)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar, cast

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session
from sqlmodel.sql.expression import Select, SelectOfScalar

T = TypeVar("T")
P = TypeVar("P")

MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def paged(
    session: Session,
    statement: SelectOfScalar[Any] | Select[*tuple[Any, ...]],
    page: PageParams,
    public: Callable[[Any], P],
) -> Page[P]:
    """Count the rows of an ordered statement, fetch one page of them, and turn each into its
    public schema. A statement of one entity gives entities; of several, row tuples."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    total = int(session.execute(counted).scalar_one())
    # one entity: the entities; several: row tuples (session.exec decides by the statement)
    rows: Sequence[Any] = session.exec(cast(Any, statement.limit(page.limit).offset(page.offset)))
    rows = list(rows)
    return Page[P](
        items=[public(row) for row in rows], total=total, limit=page.limit, offset=page.offset
    )
