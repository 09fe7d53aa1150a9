"""`?page=&page_size=` → `{"data": [...], "count": N}`."""

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import AnySelect

T = TypeVar("T")
MAX_PAGE_SIZE = 500
# Far past any real listing, and small enough that the row offset fits PostgreSQL's bigint.
MAX_PAGE = 1_000_000_000


@dataclass(frozen=True)
class PageParams:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def _page(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="rows per page")] = 50,
) -> PageParams:
    return PageParams(page, page_size)


PageDep = Annotated[PageParams, Depends(_page)]


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int


async def paginate(
    session: AsyncSession, stmt: AnySelect, page: PageParams, *order_by: Any, whole_rows: bool = False
) -> tuple[list[Any], int]:
    """One page of `stmt`'s rows in `order_by` order, and how many rows there are in all: each
    row's first column, or (`whole_rows`) each row as a tuple of its columns."""
    count = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    paged = stmt.order_by(*order_by).offset(page.offset).limit(page.page_size)
    if whole_rows:
        return [tuple(row) for row in await session.execute(paged)], count
    return list(await session.scalars(paged)), count


def matches(q: str, *columns: Any) -> Any:
    """A `q` search: any of the columns holds the text, case-insensitively. `%` and `_` are the
    text, not wildcards (someone searching 50% means it)."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(*(column.ilike(f"%{escaped}%", escape="\\") for column in columns))
