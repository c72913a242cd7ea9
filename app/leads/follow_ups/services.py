"""Follow-up records (跟进记录): contacts with a lead, the lead's timeline, due reminders.

A follow-up with a next time sets the lead's next follow-up date (one plain UPDATE of the lead,
version bumped so an open edit form does not overwrite it silently) and replaces the pending
reminder of earlier follow-ups. The worker's reminder pass moves due reminders from pending to
sent with one conditional UPDATE: whichever run's update matches a row notifies, once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.core.events import Audience, Event
from app.core.i18n import N_
from app.core.permissions import CurrentUser, can_see_owner
from app.core.templates import DISPLAY_TZ
from app.leads import policy
from app.leads.audience import of_lead
from app.leads.texts import school_text
from app.notifications.services import notify
from tables.accounts.tables import User
from tables.follow_ups.tables import FollowUp
from tables.leads.tables import Lead
from tables.students.tables import Student

KINDS = {
    "phone": N_("Phone"),
    "visit": N_("Visit"),
    "sms": N_("SMS"),
    "email": N_("Email"),
    "wechat": N_("WeChat"),
    "trial": N_("Trial class"),
}
OUTCOMES = {
    "reached": N_("Talked"),
    "no_answer": N_("No answer"),
    "interested": N_("Interested"),
    "not_interested": N_("Not interested"),
    "visit_booked": N_("Visit booked"),
    "trial_booked": N_("Trial booked"),
    "callback": N_("Asked to call back"),
    "other": N_("Other"),
}
LIMITS = {"note": 5000, "next_step": 500}
COLUMNS = (
    FollowUp.id,
    FollowUp.lead,
    FollowUp.student,
    FollowUp.author,
    FollowUp.kind,
    FollowUp.outcome,
    FollowUp.note,
    FollowUp.next_step,
    FollowUp.next_follow_up_at,
    FollowUp.reminder,
    FollowUp.created_at,
    FollowUp.author.display_name.as_alias("author_name"),
)
REMIND_BATCH = 200
MAX_AHEAD = timedelta(days=366)


def parse_when(raw, now: datetime) -> datetime | None:
    """ "2026-12-03T15:30" (school time, from a datetime-local input) or ISO 8601 with an offset."""
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise ValueError
    when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=DISPLAY_TZ)
    return when.astimezone(UTC)


def _clean(values: dict, now: datetime) -> dict:
    if not isinstance(values, dict):
        raise ValidationFailed([FieldError("body", N_("Send a JSON object."))])
    errors: list[FieldError] = []
    text = {
        k: values.get(k).strip() if isinstance(values.get(k), str) else ""
        for k in ("kind", "outcome", "note", "next_step")
    }
    if text["kind"] not in KINDS:
        errors.append(FieldError("kind", N_("Choose how you contacted the family.")))
    if text["outcome"] and text["outcome"] not in OUTCOMES:
        errors.append(FieldError("outcome", N_("Choose one of the listed options.")))
    for field, limit in LIMITS.items():
        if len(text[field]) > limit:
            errors.append(FieldError(field, N_("Too long.")))
    if not (text["note"] or text["outcome"]):
        errors.append(FieldError("note", N_("Write what happened, or choose an outcome.")))
    try:
        when = parse_when(values.get("next_follow_up_at"), now)
    except ValueError:
        errors.append(FieldError("next_follow_up_at", N_("Enter a date and time like 2026-12-01 15:00.")))
        when = None
    if when is not None and when < now - timedelta(minutes=5):
        errors.append(FieldError("next_follow_up_at", N_("Choose a time in the future.")))
    elif when is not None and when > now + MAX_AHEAD:
        errors.append(FieldError("next_follow_up_at", N_("Choose a time within a year.")))
    if errors:
        raise ValidationFailed(errors)
    return {**text, "next_follow_up_at": when}


async def _visible_lead(user: CurrentUser, lead_id: int) -> dict:
    lead = (
        await Lead.select(Lead.id, Lead.owner, Lead.student_name, Lead.next_follow_up_on, Lead.deleted_at)
        .where(Lead.id == lead_id)
        .first()
    )
    if lead is None or lead["deleted_at"] is not None or not await policy.can_view(user, lead):
        raise NotFound(N_("This lead does not exist or you cannot see it."))
    return lead


async def _visible_student(user: CurrentUser, student_id: int) -> dict:
    student = (
        await Student.select(Student.id, Student.advisor, Student.class_teacher, Student.deleted_at)
        .where(Student.id == student_id)
        .first()
    )
    if (
        student is None
        or student["deleted_at"] is not None
        or not (
            user.is_admin
            or user.id in (student["advisor"], student["class_teacher"])
            or (student["advisor"] is not None and await can_see_owner(user, student["advisor"]))
            or (student["class_teacher"] is not None and await can_see_owner(user, student["class_teacher"]))
        )
    ):
        raise NotFound(N_("This student does not exist or you cannot see them."))
    return student


async def add_follow_up(
    user: CurrentUser,
    values: dict,
    *,
    lead_id: int | None = None,
    student_id: int | None = None,
    ip: str = "",
    clock: Clock = system_clock,
) -> dict:
    """Record a contact with a lead (or a student)."""
    if (lead_id is None) == (student_id is None):
        raise ValueError("a follow-up belongs to one lead or one student")
    if lead_id is not None and not policy.can_use_leads(user):
        raise Forbidden()
    record = await (_visible_lead(user, lead_id) if lead_id is not None else _visible_student(user, student_id))
    now = clock.now()
    data = _clean(values, now)
    async with UnitOfWork() as uow:
        if data["next_follow_up_at"] is not None:  # the new plan replaces any earlier one
            owner_col = FollowUp.lead if lead_id is not None else FollowUp.student
            await FollowUp.update({FollowUp.reminder: "superseded"}).where(
                (owner_col == record["id"]) & (FollowUp.reminder == "pending")
            )
        rows = await FollowUp.insert(
            FollowUp(
                lead=lead_id,
                student=student_id,
                author=user.id,
                created_at=now,
                reminder="pending" if data["next_follow_up_at"] else "none",
                **data,
            )
        ).returning(FollowUp.id)
        follow_up_id = rows[0]["id"]
        if lead_id is not None:
            changes = {"follow_up": [None, follow_up_id], "kind": [None, data["kind"]]}
            if data["next_follow_up_at"] is not None:
                day = data["next_follow_up_at"].astimezone(DISPLAY_TZ).date()
                if day != record["next_follow_up_on"]:
                    changes["next_follow_up_on"] = [audit._plain(record["next_follow_up_on"]), day.isoformat()]
                await Lead.update(
                    {Lead.next_follow_up_on: day, Lead.version: Lead.version + 1, Lead.updated_at: now}
                ).where(Lead.id == lead_id)
            # On the lead's audit trail (its API history shows it); the timeline shows the record itself.
            await audit.record(
                actor_id=user.id, action="follow_up", entity_type="lead", entity_id=lead_id, changes=changes, ip=ip
            )
        uow.emit(
            Event(
                "lead.followed_up" if lead_id is not None else "student.followed_up",
                {
                    "id": record["id"],
                    "follow_up": follow_up_id,
                    "kind": data["kind"],
                    "next_follow_up_at": data["next_follow_up_at"].isoformat() if data["next_follow_up_at"] else None,
                },
                # a student's follow-up: whoever may see the student (resolved by app/students/audience.py)
                audience=of_lead(lead_id) if lead_id is not None else Audience.record("student", record["id"]),
            )
        )
    return await get_follow_up(follow_up_id)


async def get_follow_up(follow_up_id: int) -> dict:
    return await FollowUp.select(*COLUMNS).where(FollowUp.id == follow_up_id).first()


async def list_for_lead(user: CurrentUser, lead_id: int, limit: int = 200) -> list[dict]:
    await _visible_lead(user, lead_id)
    return (
        await FollowUp.select(*COLUMNS)
        .where(FollowUp.lead == lead_id)
        .order_by(FollowUp.created_at, ascending=False)
        .order_by(FollowUp.id, ascending=False)
        .limit(limit)
    )


async def owner_names(entries: list[dict]) -> dict[int, str]:
    """Names of the people the audit entries' owner changes mention (one query, none when there are none)."""
    owner_ids = {v for e in entries for v in (e["changes"] or {}).get("owner", []) if isinstance(v, int)}
    if not owner_ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(sorted(owner_ids)))
    return {u["id"]: u["display_name"] for u in rows}


async def timeline(user: CurrentUser, lead_id: int) -> list[dict]:
    """Follow-ups, audit entries and pool moves of a lead, newest first, as
    {"type": "follow_up" | "audit", "at", ...}. Owner ids in changes come with names."""
    follow_ups = await list_for_lead(user, lead_id)
    entries = [e for e in await audit.history("lead", lead_id) if e["action"] != "follow_up"]
    names = await owner_names(entries)
    items = [{"type": "follow_up", "at": f["created_at"], **f} for f in follow_ups]
    items += [{"type": "audit", **e, "owner_names": names} for e in entries]

    def at(item):
        value = item["at"]
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    return sorted(items, key=at, reverse=True)


async def remind_due(clock: Clock = system_clock, limit: int = REMIND_BATCH) -> int:
    """Notify the owner of each lead whose planned follow-up time has come; returns how many."""
    now = clock.now()
    due = (
        await FollowUp.select(FollowUp.id)
        .where((FollowUp.reminder == "pending") & (FollowUp.next_follow_up_at <= now))
        .order_by(FollowUp.next_follow_up_at)
        .limit(limit)
    )
    if not due:
        return 0
    sent = 0
    async with UnitOfWork() as uow:
        won = (
            await FollowUp.update({FollowUp.reminder: "sent", FollowUp.reminded_at: now})
            .where(FollowUp.id.is_in([r["id"] for r in due]) & (FollowUp.reminder == "pending"))
            .returning(FollowUp.id, FollowUp.lead, FollowUp.next_step, FollowUp.kind)
        )
        leads = {}
        if any(r["lead"] for r in won):
            leads = {
                r["id"]: r
                for r in await Lead.select(Lead.id, Lead.owner, Lead.student_name, Lead.deleted_at).where(
                    Lead.id.is_in(sorted({r["lead"] for r in won if r["lead"]}))
                )
            }
        skipped = []
        for row in won:
            lead = leads.get(row["lead"])
            if lead is None or lead["owner"] is None or lead["deleted_at"] is not None:
                skipped.append(row["id"])  # in the pool or gone: nobody to remind
                continue
            await notify(
                uow,
                [lead["owner"]],
                kind="lead_follow_up_due",
                link=f"/leads/{lead['id']}",
                title=school_text(N_("Time to follow up with %(name)s"), name=lead["student_name"]),
                body=row["next_step"] or "",
                dedupe_prefix=f"follow_up_due:{row['id']}",
            )
            sent += 1
        if skipped:
            await FollowUp.update({FollowUp.reminder: "skipped"}).where(FollowUp.id.is_in(skipped))
        if won:
            uow.emit(
                Event(
                    "follow_up.reminded",
                    {"ids": [r["id"] for r in won]},
                    audience=Audience(owners=tuple(lead["owner"] for lead in leads.values())),
                )
            )
    return sent
