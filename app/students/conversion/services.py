"""Converting a lead to a student (转为学员) without losing its history.

`check_*` reads and refuses (permission, the lead's state, a student with the same phone),
`convert_lead` writes in one transaction and emits one `lead.converted` event after commit.
Nothing is copied or moved: follow-ups and audit entries stay on the lead, and the student page
reads them through the link (`Student.lead` for the source lead, `Lead.student` from every lead
converted to or linked with that student). Tickets about the family that have no student yet
(requester is the lead or a guardian, requester phone one of the lead's phones) get the student.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.events import Event
from app.core.i18n import N_, gettext
from app.core.permissions import CurrentUser
from app.leads import services
from app.leads.audience import of_lead
from app.students import phones as student_phones
from app.students import policy as student_policy
from app.students.audience import of_student
from app.tickets import policy as ticket_policy
from tables.leads.tables import Lead
from tables.students.tables import Student
from tables.tickets.tables import Ticket, TicketActivity

CONVERTING_ROLES = ("admin", "supervisor")
# Tickets raised by the family before it had a student record: these requester kinds are about the lead.
FAMILY_REQUESTERS = ("lead", "guardian")
MAX_CANDIDATES = 20
# Lead field -> student field; the lead's owner becomes the student's advisor.
STUDENT_FROM_LEAD = {
    "student_name": "name",
    "guardian_name": "guardian_name",
    "phone": "guardian_phone",
    "phones": "phones",
    "email": "email",
    "wechat": "wechat",
    "city": "city",
    "district": "district",
    "grade": "grade",
    "campus": "campus",
    "owner": "advisor",
}
_CANDIDATE_COLUMNS = (
    Student.id,
    Student.name,
    Student.guardian_name,
    Student.guardian_phone,
    Student.grade,
    Student.advisor,
    Student.class_teacher,
    Student.campus,
    Student.lead,
    Student.deleted_at,
    Student.advisor.display_name.as_alias("advisor_name"),
    Student.campus.name.as_alias("campus_name"),
)


class StudentWithSamePhone(Conflict):
    """A student already has one of the lead's phones: link to them, or confirm a new student.

    The API answers 409 with `students: [{"id", "name", "visible", ...}]`; resend with `student_id`
    (link) or `"allow_duplicate": true` (create anyway, e.g. a sibling).
    """

    def __init__(self, candidates: list[dict]) -> None:
        super().__init__(
            N_("A student with the same phone exists. Link the lead to that student, or confirm a new one.")
        )
        self.candidates = candidates

    def body_extra(self, translate) -> dict:
        return {"students": [public_candidate(c) for c in self.candidates]}


@dataclass
class ConversionPlan:
    """What converting would do, for the confirm step."""

    lead: dict
    student_values: dict
    candidates: list[dict] = field(default_factory=list)  # students with one of the lead's phones
    tickets: list[dict] = field(default_factory=list)  # tickets that will get the student (visible ones)
    hidden_tickets: int = 0
    follow_ups: int = 0


@dataclass(frozen=True)
class Conversion:
    student_id: int
    lead_id: int
    linked: bool
    ticket_ids: list[int]


def can_convert(user: CurrentUser, lead: dict) -> bool:
    """The lead's owner, supervisors and admins (who can see the lead: `get_lead` checked that)."""
    return user.role in CONVERTING_ROLES or (lead["owner"] is not None and lead["owner"] == user.id)


def public_candidate(c: dict) -> dict:
    """A same-phone student as the API and the confirm page show it: no name unless visible."""
    visible = c["visible"]
    return {
        "id": c["id"],
        "visible": visible,
        "name": c["name"] if visible else "",
        "guardian_name": c["guardian_name"] if visible else "",
        "grade": c["grade"] if visible else "",
        "advisor_name": c["advisor_name"] or "",
        "campus_name": c["campus_name"] or "",
    }


def lead_phones(lead: dict) -> list[str]:
    return [p for p in dict.fromkeys([lead.get("phone") or "", *(lead.get("phones") or [])]) if p]


def refusal(lead: dict) -> Conflict | None:
    """Why this lead cannot become a student now, named for the user; None when it can."""
    if lead["merged_into"] is not None:
        return Conflict(
            gettext(N_("This lead was merged into lead #%(id)s: convert that lead instead."), id=lead["merged_into"])
        )
    if lead["deleted_at"] is not None:
        return Conflict(gettext(N_("This lead is in the recycle bin: restore it before converting it.")))
    if lead["converted_at"] is not None or lead["student"] is not None:
        return Conflict(gettext(N_("This lead has already been converted to student #%(id)s."), id=lead["student"]))
    if lead["status"] == "invalid":
        return Conflict(
            gettext(
                N_("This lead is marked invalid (%(reason)s): change its status before converting it."),
                reason=lead["invalid_reason"] or "—",
            )
        )
    return None


async def check_convertible(user: CurrentUser, lead_id: int) -> dict:
    """The lead, if `user` may convert it now; 404 when they cannot see it, 403 or 409 naming why not."""
    lead = await services.get_lead(user, lead_id, include_deleted=True)
    if not can_convert(user, lead):
        raise Forbidden(N_("Only the lead's owner, a supervisor or an admin can convert it to a student."))
    problem = refusal(lead)
    if problem is not None:
        raise problem
    return lead


def student_values(lead: dict) -> dict:
    values = {target: lead.get(source) for source, target in STUDENT_FROM_LEAD.items()}
    values["phones"] = [p for p in values["phones"] or [] if p != values["guardian_phone"]]
    return {k: ("" if v is None and k not in ("campus", "advisor") else v) for k, v in values.items()}


async def same_phone_students(user: CurrentUser, lead: dict) -> list[dict]:
    """Live students whose guardian phone is one of the lead's phones, each with `visible`."""
    phones = lead_phones(lead)
    if not phones:
        return []
    rows = (
        await Student.select(*_CANDIDATE_COLUMNS)
        .where(Student.guardian_phone.is_in(phones) & Student.deleted_at.is_null())
        .order_by(Student.id)
        .limit(MAX_CANDIDATES)
    )
    for row in rows:
        row["visible"] = await student_policy.can_view(user, row)
    return [student_phones.present_student(user, row) for row in rows]


def _family_tickets(lead: dict, student_id_is_null: bool = True):
    where = Ticket.deleted_at.is_null() & Ticket.requester_kind.is_in(list(FAMILY_REQUESTERS))
    where &= Ticket.requester_phone.is_in(lead_phones(lead) or [""]) & (Ticket.requester_phone != "")
    return where & Ticket.student.is_null() if student_id_is_null else where


async def plan_conversion(user: CurrentUser, lead_id: int) -> ConversionPlan:
    """The confirm step: what would be created or linked. Refuses like `convert_lead` would."""
    from tables.follow_ups.tables import FollowUp

    lead = await check_convertible(user, lead_id)
    where = _family_tickets(lead)
    total = await Ticket.count().where(where)
    visible = await ticket_policy.visibility_filter(user)
    tickets = (
        await Ticket.select(Ticket.id, Ticket.number, Ticket.title, Ticket.status)
        .where(where & visible if visible is not None else where)
        .order_by(Ticket.id)
        .limit(50)
    )
    return ConversionPlan(
        lead=lead,
        student_values=student_values(lead),
        candidates=await same_phone_students(user, lead),
        tickets=tickets,
        hidden_tickets=max(0, total - len(tickets)),
        follow_ups=await FollowUp.count().where(FollowUp.lead == lead_id),
    )


async def _link_target(user: CurrentUser, student_id: int) -> dict:
    student = await Student.select(*_CANDIDATE_COLUMNS).where(Student.id == student_id).first()
    if student is None or student["deleted_at"] is not None or not await student_policy.can_view(user, student):
        raise NotFound(N_("This student does not exist or you cannot see them."))
    return student


async def convert_lead(
    actor: CurrentUser,
    lead_id: int,
    data: dict,
    version: int | None,
    *,
    ip: str = "",
    clock: Clock = system_clock,
) -> Conversion:
    """Make the lead a student, or link it to an existing one (`data["student_id"]`).

    Without `student_id`, a live student with one of the lead's phones raises StudentWithSamePhone
    unless `data["allow_duplicate"]`. `version` (the lead's, as the user saw it) refuses a stale
    conversion with 409. The lead becomes `won` with `converted_at` and `student` set.
    """
    lead = await check_convertible(actor, lead_id)
    if version is not None and version != lead["version"]:
        raise _stale()
    link_id = data.get("student_id")
    target = await _link_target(actor, link_id) if link_id is not None else None
    if target is None and not data.get("allow_duplicate"):
        candidates = await same_phone_students(actor, lead)
        if candidates:
            raise StudentWithSamePhone(candidates)
    now = clock.now()
    async with UnitOfWork() as uow:
        if target is None:
            values = student_values(lead)
            rows = await Student.insert(Student(**values, lead=lead_id, created_at=now, updated_at=now)).returning(
                Student.id
            )
            student_id = rows[0]["id"]
        else:
            student_id = target["id"]
            if target["lead"] is None:  # a student entered by hand gets this lead as its source
                await Student.update(
                    {Student.lead: lead_id, Student.version: Student.version + 1, Student.updated_at: now}
                ).where(Student.id == student_id)
        where = (Lead.id == lead_id) & Lead.deleted_at.is_null() & Lead.converted_at.is_null() & Lead.student.is_null()
        where &= (Lead.version == lead["version"]) & (Lead.status != "invalid")
        done = (
            await Lead.update(
                {
                    Lead.status: "won",
                    Lead.converted_at: now,
                    Lead.student: student_id,
                    Lead.version: Lead.version + 1,
                    Lead.updated_at: now,
                }
            )
            .where(where)
            .returning(Lead.id)
        )
        if not done:  # changed since it was read: converted by someone else, edited, deleted…
            raise _stale()
        ticket_ids = await _give_tickets(actor, lead, student_id, now)
        changes = {"status": [lead["status"], "won"], "student": [None, student_id]}  # the entry's time: converted_at
        if ticket_ids:
            changes["tickets"] = [None, ticket_ids]
        await audit.record(
            actor_id=actor.id, action="convert", entity_type="lead", entity_id=lead_id, changes=changes, ip=ip
        )
        student_changes = (
            audit.snapshot({**student_values(lead), "lead": lead_id}, [*STUDENT_FROM_LEAD.values(), "lead"])
            if target is None
            else {"lead": [None, lead_id]}
        )
        await audit.record(
            actor_id=actor.id,
            action="link" if target else "create",
            entity_type="student",
            entity_id=student_id,
            changes=student_changes,
            ip=ip,
        )
        uow.emit(
            Event(
                "lead.converted",
                {
                    "id": lead_id,
                    "student": student_id,
                    "linked": target is not None,
                    "owner": lead["owner"],
                    "tickets": ticket_ids,
                },
                audience=of_lead(lead_id) | of_student(student_id),
            )
        )
    return Conversion(student_id=student_id, lead_id=lead_id, linked=target is not None, ticket_ids=ticket_ids)


async def _give_tickets(actor: CurrentUser, lead: dict, student_id: int, now) -> list[int]:
    """The family's tickets without a student get this one (version bumped: an open form gets 409)."""
    rows = (
        await Ticket.update({Ticket.student: student_id, Ticket.version: Ticket.version + 1, Ticket.updated_at: now})
        .where(_family_tickets(lead))
        .returning(Ticket.id)
    )
    ids = sorted(r["id"] for r in rows)
    if ids:
        await TicketActivity.insert(
            *[
                TicketActivity(
                    ticket=i, actor=actor.id, kind="fields", changes={"student": [None, student_id]}, created_at=now
                )
                for i in ids
            ]
        )
    return ids


def _stale() -> Conflict:
    return Conflict(
        N_("Someone else changed this lead after you opened it. Reload to see their changes, then try again.")
    )


async def converted_student(lead: dict) -> dict | None:
    """The student a converted (or linked) lead points at, for the lead page's banner."""
    if lead.get("student") is None:
        return None
    return (
        await Student.select(Student.id, Student.name, Student.deleted_at).where(Student.id == lead["student"]).first()
    )


async def lead_page_state(user: CurrentUser, lead: dict) -> dict:
    """The lead page's convert button and its "converted to a student" banner."""
    return {"can_convert": can_convert(user, lead) and refusal(lead) is None, "student": await converted_student(lead)}
