"""Who may see students.

The rule the ticket pickers already apply (app/tickets/pickers.py): the service desk sees the
students of its campus (admins and campus-less desk staff: every campus); everyone else sees the
students they or the people they lead look after, as advisor or class teacher.
"""

from __future__ import annotations

from app.core.permissions import CurrentUser, visible_owner_ids
from app.tickets.policy import is_desk
from tables.students.tables import Student


async def visibility_filter(user: CurrentUser):
    """The WHERE clause every student query applies (besides `deleted_at`); None: every student."""
    if user.is_admin or (is_desk(user) and user.campus_id is None):
        return None
    if is_desk(user):
        return Student.campus.is_null() | (Student.campus == user.campus_id)
    people = sorted(await visible_owner_ids(user) or {user.id})
    return Student.class_teacher.is_in(people) | Student.advisor.is_in(people)


async def can_view(user: CurrentUser, student: dict) -> bool:
    """`student` needs `campus`, `advisor` and `class_teacher`."""
    if user.is_admin or (is_desk(user) and user.campus_id is None):
        return True
    if is_desk(user):
        return student["campus"] in (None, user.campus_id)
    people = await visible_owner_ids(user) or {user.id}
    return student["advisor"] in people or student["class_teacher"] in people
