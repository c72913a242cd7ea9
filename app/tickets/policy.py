"""Who sees and works tickets.

Service-desk roles see every ticket of their campus (admins and campus-less staff: all campuses).
Everyone else sees tickets they created, are assigned to or watch, and those of the people
they lead (the same team chain as for leads).

What a ticket may point at follows the same split: the desk may name the students and classes of
its campus (admins and campus-less desk staff: all) and assign anyone active (a campus desk: its
campus's staff and campus-less staff); everyone else names the students they or the people they
lead look after (class teacher or advisor) and the classes they teach.
"""

from __future__ import annotations

from app.core.permissions import CurrentUser, visible_owner_ids
from tables.accounts.tables import User
from tables.students.tables import Student
from tables.teaching.tables import ClassGroup
from tables.tickets.tables import Ticket, TicketWatcher

DESK_ROLES = ("admin", "supervisor", "customer_service", "academic_affairs")
TYPE_ADMINS = ("admin",)


def is_desk(user: CurrentUser) -> bool:
    return user.role in DESK_ROLES


async def visibility_filter(user: CurrentUser):
    """The WHERE clause every ticket query applies; None when the user sees every ticket."""
    if user.is_admin or (is_desk(user) and user.campus_id is None):
        return None
    if is_desk(user):
        return Ticket.campus.is_null() | (Ticket.campus == user.campus_id)
    people = sorted(await visible_owner_ids(user) or {user.id})
    watched = [
        r["ticket"] for r in await TicketWatcher.select(TicketWatcher.ticket).where(TicketWatcher.user == user.id)
    ]
    clause = Ticket.assignee.is_in(people) | Ticket.created_by.is_in(people)
    if watched:
        clause |= Ticket.id.is_in(watched)
    return clause


async def can_view(user: CurrentUser, ticket: dict) -> bool:
    if user.is_admin or (is_desk(user) and user.campus_id is None):
        return True
    if is_desk(user):
        return ticket["campus"] in (None, user.campus_id)
    people = await visible_owner_ids(user) or {user.id}
    if ticket["assignee"] in people or ticket["created_by"] in people:
        return True
    return await TicketWatcher.exists().where((TicketWatcher.ticket == ticket["id"]) & (TicketWatcher.user == user.id))


def can_work(user: CurrentUser, ticket: dict) -> bool:
    """Change status, assign, edit fields: the desk, or whoever the ticket is assigned to."""
    return is_desk(user) or ticket["assignee"] == user.id


def can_claim(user: CurrentUser, ticket: dict) -> bool:
    """Only people who could work the ticket once it is theirs may take it: the desk."""
    return ticket["assignee"] is None and can_work(user, ticket)


async def student_scope(user: CurrentUser):
    """The students a ticket of this user may name (the WHERE clause)."""
    where = Student.deleted_at.is_null()
    if user.is_admin or (is_desk(user) and user.campus_id is None):
        return where
    if is_desk(user):
        return where & (Student.campus.is_null() | (Student.campus == user.campus_id))
    people = sorted(await visible_owner_ids(user) or {user.id})
    return where & (Student.class_teacher.is_in(people) | Student.advisor.is_in(people))


async def class_scope(user: CurrentUser):
    if user.is_admin or (is_desk(user) and user.campus_id is None):
        return ClassGroup.id.is_not_null()
    if is_desk(user):
        return ClassGroup.campus.is_null() | (ClassGroup.campus == user.campus_id)
    people = sorted(await visible_owner_ids(user) or {user.id})
    return ClassGroup.teacher.is_in(people)


def staff_scope(user: CurrentUser):
    """The people a ticket of this user may be assigned to."""
    where = User.is_active.eq(True)
    if is_desk(user) and not user.is_admin and user.campus_id is not None:
        where &= User.campus.is_null() | (User.campus == user.campus_id)
    return where
