"""Counts for the dashboard cards: leads and students as the user may see them; open tickets
school-wide until tickets get their own visibility rules (issue #3)."""

from __future__ import annotations

from app.core.permissions import CurrentUser, visible_owner_ids
from app.leads import policy as lead_policy
from tables.leads.tables import Lead
from tables.students.tables import Student
from tables.tickets.tables import Ticket

OPEN_TICKET_STATUSES = ["new", "assigned", "in_progress", "pending"]


async def summary(user: CurrentUser) -> dict:
    owners = await visible_owner_ids(user)
    result: dict = {}
    if lead_policy.can_use_leads(user):
        where = Lead.deleted_at.is_null()
        visible = await lead_policy.visibility_filter(user)
        if visible is not None:
            where &= visible
        result["my_leads"] = await Lead.count().where(where & (Lead.owner == user.id))
        result["visible_leads"] = await Lead.count().where(where)
        result["pool_leads"] = await Lead.count().where(Lead.deleted_at.is_null() & Lead.owner.is_null())
    students = Student.deleted_at.is_null() & (Student.status == "active")
    if owners is not None:
        ids = sorted(owners)
        students &= Student.class_teacher.is_in(ids) | Student.advisor.is_in(ids)
    result["students"] = await Student.count().where(students)
    tickets = Ticket.deleted_at.is_null() & Ticket.status.is_in(OPEN_TICKET_STATUSES)
    result["open_tickets"] = await Ticket.count().where(tickets)
    result["my_tickets"] = await Ticket.count().where(tickets & (Ticket.assignee == user.id))
    return result
