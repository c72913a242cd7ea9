"""What a ticket form may point at: students, classes and staff the user can see.

There is no students domain yet, so the rule lives here: the service desk sees the students and
classes of its campus (admins and campus-less desk staff: all); everyone else sees the students
they or the people they lead look after (class teacher or advisor) and the classes they teach.
"""

from __future__ import annotations

from app.core.db import is_sqlite
from app.core.errors import FieldError
from app.core.permissions import CurrentUser, visible_owner_ids
from app.tickets import policy
from app.tickets.services import Draft
from tables.accounts.tables import User
from tables.students.tables import Student
from tables.teaching.tables import ClassGroup

LIMIT = 200


async def _student_scope(user: CurrentUser):
    where = Student.deleted_at.is_null()
    if user.is_admin or (policy.is_desk(user) and user.campus_id is None):
        return where
    if policy.is_desk(user):
        return where & (Student.campus.is_null() | (Student.campus == user.campus_id))
    people = sorted(await visible_owner_ids(user) or {user.id})
    return where & (Student.class_teacher.is_in(people) | Student.advisor.is_in(people))


async def _class_scope(user: CurrentUser):
    if user.is_admin or (policy.is_desk(user) and user.campus_id is None):
        return ClassGroup.id.is_not_null()
    if policy.is_desk(user):
        return ClassGroup.campus.is_null() | (ClassGroup.campus == user.campus_id)
    people = sorted(await visible_owner_ids(user) or {user.id})
    return ClassGroup.teacher.is_in(people)


async def students(user: CurrentUser, q: str = "", include: list[int] | None = None) -> list[dict]:
    """Up to LIMIT students by name (matching `q`), plus the `include` ids when visible (a kept choice)."""
    where = await _student_scope(user)
    return await _pick(Student, where, (Student.name, Student.grade.as_alias("hint")), q, include)


async def classes(user: CurrentUser, q: str = "", include: list[int] | None = None) -> list[dict]:
    where = await _class_scope(user)
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
    where = User.is_active.eq(True)
    if policy.is_desk(user) and not user.is_admin and user.campus_id is not None:
        where &= User.campus.is_null() | (User.campus == user.campus_id)
    return await User.select(User.id, User.display_name, User.role).where(where).order_by(User.display_name).limit(500)


def _ids(values) -> list[int]:
    return sorted({int(v) for v in values if isinstance(v, int) or (isinstance(v, str) and v.isdigit())})


async def check_draft(user: CurrentUser, draft: Draft, definition: list[dict]) -> list[FieldError]:
    """Students, classes and assignees a form names must be ones this user could have picked."""
    errors: list[FieldError] = []
    student_fields = {f["key"] for f in definition if f["type"] == "student"}
    class_fields = {f["key"] for f in definition if f["type"] == "class_group"}
    wanted = {("student_id", "student", draft.student_id)}
    wanted |= {(f"fields.{k}", "student", draft.fields.get(k)) for k in student_fields}
    wanted |= {("class_group_id", "class_group", draft.class_group_id)}
    wanted |= {(f"fields.{k}", "class_group", draft.fields.get(k)) for k in class_fields}
    for kind, scope, table in (("student", _student_scope, Student), ("class_group", _class_scope, ClassGroup)):
        ids = _ids(v for _n, k, v in wanted if k == kind and v not in (None, ""))
        if not ids:
            continue
        seen = {r["id"] for r in await table.select(table.id).where(await scope(user) & table.id.is_in(ids))}
        for name, k, value in sorted(wanted, key=lambda w: w[0]):
            if k == kind and value not in (None, "") and str(value).isdigit() and int(value) not in seen:
                errors.append(FieldError(name, "Choose from the list."))
    if draft.assignee_id is not None and not policy.is_desk(user) and draft.assignee_id != user.id:
        errors.append(FieldError("assignee_id", "Only the service desk assigns tickets to others."))
    return errors
