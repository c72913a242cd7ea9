"""Students (学员): the visibility-aware list and the 360° view of one student.

The view reads the student's history where it was written: follow-ups and audit entries stay on
the leads it came from (`Student.lead`, and every lead with `Lead.student` pointing here), tickets
carry `Ticket.student`. A fixed number of queries, whatever the amount of history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app.core.errors import NotFound
from app.core.i18n import N_
from app.core.pagination import Page, PageRequest, fetch_page
from app.core.permissions import CurrentUser
from app.leads.follow_ups.services import owner_names
from app.students import policy
from app.tickets import policy as ticket_policy
from tables.audit.tables import AuditEntry
from tables.follow_ups.tables import FollowUp
from tables.leads.tables import Lead
from tables.students.tables import Student, StudentTag
from tables.tickets.tables import Ticket

STATUSES = {
    "active": N_("Enrolled"),
    "suspended": N_("Suspended"),
    "withdrawn": N_("Withdrawn"),
    "graduated": N_("Graduated"),
}
LIST_COLUMNS = (
    Student.id,
    Student.name,
    Student.grade,
    Student.guardian_name,
    Student.guardian_phone,
    Student.status,
    Student.created_at,
    Student.advisor,
    Student.class_teacher,
    Student.campus,
    Student.lead,
    Student.advisor.display_name.as_alias("advisor_name"),
    Student.campus.name.as_alias("campus_name"),
)
DETAIL_COLUMNS = (
    *LIST_COLUMNS,
    Student.gender,
    Student.birth_date,
    Student.phones,
    Student.email,
    Student.wechat,
    Student.city,
    Student.district,
    Student.version,
    Student.updated_at,
    Student.deleted_at,
    Student.class_teacher.display_name.as_alias("class_teacher_name"),
)
LEAD_COLUMNS = (
    Lead.id,
    Lead.student_name,
    Lead.status,
    Lead.source,
    Lead.source_campaign,
    Lead.course_interests,
    Lead.converted_at,
    Lead.created_at,
    Lead.owner,
    Lead.deleted_at,
    Lead.owner.display_name.as_alias("owner_name"),
)
TICKET_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.title,
    Ticket.status,
    Ticket.priority,
    Ticket.created_at,
    Ticket.assignee.display_name.as_alias("assignee_name"),
)
FOLLOW_UP_COLUMNS = (
    FollowUp.id,
    FollowUp.lead,
    FollowUp.student,
    FollowUp.kind,
    FollowUp.outcome,
    FollowUp.note,
    FollowUp.next_step,
    FollowUp.next_follow_up_at,
    FollowUp.reminder,
    FollowUp.created_at,
    FollowUp.author.display_name.as_alias("author_name"),
)
TIMELINE_LIMIT = 200
TICKET_LIMIT = 50


@dataclass
class StudentOverview:
    student: dict
    tags: list[str]
    leads: list[dict]  # the source lead first, then other leads linked to this student
    timeline: list[dict]  # follow-ups and the leads' and student's audit entries, newest first
    tickets: list[dict]  # the ones the user may open
    hidden_tickets: int  # tickets of this student the user may not open


async def list_students(user: CurrentUser, q: str, page: PageRequest) -> Page[dict]:
    where = Student.deleted_at.is_null()
    visible = await policy.visibility_filter(user)
    if visible is not None:
        where &= visible
    if q.strip():
        term = f"%{q.strip()}%"
        where &= Student.name.ilike(term) | Student.guardian_name.ilike(term) | Student.guardian_phone.like(term)
    return await fetch_page(Student, LIST_COLUMNS, where, page)


async def get_student(user: CurrentUser, student_id: int) -> dict:
    student = await Student.select(*DETAIL_COLUMNS).where(Student.id == student_id).first().output(load_json=True)
    if student is None or student["deleted_at"] is not None or not await policy.can_view(user, student):
        raise NotFound(N_("This student does not exist or you cannot see them."))
    return student


async def student_overview(user: CurrentUser, student_id: int) -> StudentOverview:
    student = await get_student(user, student_id)
    tags = [
        r["tag"]
        for r in await StudentTag.select(StudentTag.tag).where(StudentTag.student == student_id).order_by(StudentTag.id)
    ]
    linked = Lead.student == student_id
    if student["lead"] is not None:
        linked |= Lead.id == student["lead"]
    leads = await Lead.select(*LEAD_COLUMNS).where(linked).order_by(Lead.id).output(load_json=True)
    leads.sort(key=lambda lead: lead["id"] != student["lead"])  # the source lead first
    tickets, hidden = await _tickets(user, student_id)
    return StudentOverview(
        student=student,
        tags=tags,
        leads=leads,
        tickets=tickets,
        hidden_tickets=hidden,
        timeline=await _timeline(student_id, [lead["id"] for lead in leads]),
    )


async def _tickets(user: CurrentUser, student_id: int) -> tuple[list[dict], int]:
    where = (Ticket.student == student_id) & Ticket.deleted_at.is_null()
    total = await Ticket.count().where(where)
    visible = await ticket_policy.visibility_filter(user)
    rows = (
        await Ticket.select(*TICKET_COLUMNS)
        .where(where & visible if visible is not None else where)
        .order_by(Ticket.created_at, ascending=False)
        .limit(TICKET_LIMIT)
    )
    shown = len(rows) if len(rows) < TICKET_LIMIT else total  # past the limit, hidden ones are not known
    return rows, max(0, total - shown)


async def _timeline(student_id: int, lead_ids: list[int]) -> list[dict]:
    """The shape of the lead page's timeline (leads/follow_ups_timeline.html), across the leads."""
    where = FollowUp.student == student_id
    if lead_ids:
        where |= FollowUp.lead.is_in(lead_ids)
    follow_ups = (
        await FollowUp.select(*FOLLOW_UP_COLUMNS)
        .where(where)
        .order_by(FollowUp.created_at, ascending=False)
        .limit(TIMELINE_LIMIT)
    )
    entries = await _audit_entries(student_id, lead_ids)
    names = await owner_names(entries)
    items = [{"type": "follow_up", "at": f["created_at"], **f} for f in follow_ups]
    items += [{"type": "audit", **e, "owner_names": names} for e in entries]
    for item in items:
        if item.get("entity_type") == "student" and item["action"] == "create":
            # The lead's own entries already show these values; the profile shows the current ones.
            item.update(action="create_student", changes={})
    return sorted(items, key=_at, reverse=True)


async def _audit_entries(student_id: int, lead_ids: list[int]) -> list[dict]:
    where = (AuditEntry.entity_type == "student") & (AuditEntry.entity_id == student_id)
    if lead_ids:  # a follow-up's own audit entry is shown as the follow-up itself
        where |= (
            (AuditEntry.entity_type == "lead")
            & AuditEntry.entity_id.is_in(lead_ids)
            & (AuditEntry.action != "follow_up")
        )
    return (
        await AuditEntry.select(
            AuditEntry.id,
            AuditEntry.action,
            AuditEntry.changes,
            AuditEntry.at,
            AuditEntry.entity_type,
            AuditEntry.entity_id,
            AuditEntry.actor.display_name.as_alias("actor_name"),
        )
        .where(where)
        .order_by(AuditEntry.at, ascending=False)
        .order_by(AuditEntry.id, ascending=False)
        .limit(TIMELINE_LIMIT)
        .output(load_json=True)
    )


def _at(item: dict) -> datetime:
    value = item["at"]
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
