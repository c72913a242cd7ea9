"""Building leads for the pool tests."""

from __future__ import annotations

import itertools
from datetime import datetime

from tables.leads.tables import Lead

_n = itertools.count(1)


async def make_lead(owner: int | None = None, *, created_at: datetime | None = None, **values) -> int:
    n = next(_n)
    row = Lead(
        student_name=values.pop("student_name", f"学生{n}"),
        phone=values.pop("phone", f"1380013{n:04d}"),
        owner=owner,
        **values,
    )
    if created_at is not None:
        row.created_at = created_at
        row.updated_at = created_at
    rows = await Lead.insert(row).returning(Lead.id)
    return rows[0]["id"]


async def owner_of(lead_id: int) -> int | None:
    return (await Lead.select(Lead.owner).where(Lead.id == lead_id).first())["owner"]
