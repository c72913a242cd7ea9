"""The choices a ticket form offers: students, classes and staff the user may name.

The scopes are app.tickets.policy's; services.create_ticket and update_ticket check what a
request names against the same scopes, so a choice offered here is one the service accepts.
"""

from __future__ import annotations

from app.core.db import is_sqlite
from app.core.permissions import CurrentUser
from app.tickets import policy
from tables.accounts.tables import User
from tables.students.tables import Student
from tables.teaching.tables import ClassGroup

LIMIT = 200


async def students(user: CurrentUser, q: str = "", include: list[int] | None = None) -> list[dict]:
    """Up to LIMIT students by name (matching `q`), plus the `include` ids when visible (a kept choice)."""
    where = await policy.student_scope(user)
    return await _pick(Student, where, (Student.name, Student.grade.as_alias("hint")), q, include)


async def classes(user: CurrentUser, q: str = "", include: list[int] | None = None) -> list[dict]:
    where = await policy.class_scope(user)
    return await _pick(ClassGroup, where, (ClassGroup.name, ClassGroup.campus.name.as_alias("hint")), q, include)


async def _pick(table, where, columns, q: str, include: list[int] | None) -> list[dict]:
    pattern = f"%{q.strip()}%"
    # SQLite's LIKE already ignores ASCII case (and warns about ILIKE); PostgreSQL needs ILIKE.
    matching = where & (table.name.like(pattern) if is_sqlite() else table.name.ilike(pattern)) if q.strip() else where
    rows = await table.select(table.id, *columns).where(matching).order_by(table.name).limit(LIMIT)
    missing = [i for i in include or [] if i not in {r["id"] for r in rows}]
    if missing:
        rows = [*await table.select(table.id, *columns).where(where & table.id.is_in(missing)), *rows]
    return rows


async def staff(user: CurrentUser) -> list[dict]:
    """People a ticket can be assigned to: active staff (desk users with a campus: theirs and campus-less)."""
    where = policy.staff_scope(user)
    return await User.select(User.id, User.display_name, User.role).where(where).order_by(User.display_name).limit(500)
