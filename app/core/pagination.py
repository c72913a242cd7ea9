"""Limit/offset pagination shared by HTML lists and the REST API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from piccolo.table import Table

from app.core.errors import FieldError, ValidationFailed
from app.core.forms import parse_int

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_OFFSET = 2**63 - 1  # the databases' OFFSET is a signed 64-bit integer


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @classmethod
    def parse(cls, limit: str | int | None, offset: str | int | None) -> PageRequest:
        errors = []
        try:
            lim = DEFAULT_LIMIT if limit in (None, "") else parse_int(limit)
            if lim is None or not 1 <= lim <= MAX_LIMIT:
                raise ValueError
        except (TypeError, ValueError):
            errors.append(FieldError("limit", "Must be a whole number from 1 to 100."))
            lim = DEFAULT_LIMIT
        try:
            # parse_int: an offset past 64 bits is refused here, not by the database as a 500
            off = 0 if offset in (None, "") else parse_int(offset)
            if off is None or off > MAX_OFFSET:
                raise ValueError
        except (TypeError, ValueError):
            errors.append(FieldError("offset", "Must be a whole number of 0 or more."))
            off = 0
        if errors:
            raise ValidationFailed(errors)
        return cls(lim, off)


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def next_offset(self) -> int:
        return self.offset + self.limit

    @property
    def previous_offset(self) -> int:
        return max(0, self.offset - self.limit)

    @property
    def first_index(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.offset + self.limit, self.total)


async def fetch_page(
    table: type[Table],
    columns: Sequence[Any],
    where: Any,
    page: PageRequest,
    *,
    order_by: Any = None,
    ascending: bool = False,
) -> Page[dict[str, Any]]:
    """One COUNT and one SELECT for a list page, whatever the table."""
    total = await table.count().where(where)
    rows = (
        await table.select(*columns)
        .where(where)
        .order_by(order_by or table._meta.primary_key, ascending=ascending)
        .limit(page.limit)
        .offset(page.offset)
    )
    return Page(rows, total, page.limit, page.offset)
