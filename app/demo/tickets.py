"""Ticket types and about 500 tickets over the last 60 days, most of them still open."""

from __future__ import annotations

import secrets

from app.demo import data
from app.demo.context import LOCAL_TZ, Ctx, insert_rows
from app.tickets.defaults import ensure_default_types
from tables.tickets.tables import Ticket, TicketType


async def seed_ticket_types(ctx: Ctx) -> dict[str, int]:
    """The same six types a real install gets (app.tickets.defaults), forms included."""
    ctx.count(TicketType, await ensure_default_types())
    return {row["code"]: row["id"] for row in await TicketType.select(TicketType.id, TicketType.code)}


def _status(ctx: Ctx, age_days: int) -> str:
    """Older tickets are more likely to be finished; fresh ones are often still untouched."""
    # Always the same number of draws, so the rest of the data does not depend on the hour.
    finished, closed = ctx.rng.random(), ctx.rng.random()
    weights = dict(data.TICKET_OPEN_STATUSES)
    if age_days > 3:
        weights["new"] = 3
    still_open = ctx.weighted(weights)
    if finished < min(0.05 + age_days / 60 * 0.7, 0.75):
        return "closed" if closed < 0.3 + age_days / 100 else "resolved"
    return still_open


def _text(ctx: Ctx, code: str, student: dict | None, group: dict) -> tuple[str, str]:
    title, description = ctx.rng.choice(data.TICKET_TEXTS[code])
    values = dict(
        student=student["name"] if student else "孩子", grade=student["grade"] if student else ctx.grade(),
        course=group["_course"]["name"], teacher=group["_teacher"]["display_name"],
        room=ctx.rng.choice(data.ROOMS),
    )
    return title.format(**values), description.format(**values)


def _requester(ctx: Ctx, campus: str, channel: str, student: dict | None) -> dict:
    """Who asked and who typed it in: staff for internal reports, nobody for self-service channels."""
    if channel == "internal":
        staff = ctx.rng.choice(ctx.staff("teacher", campus) + ctx.staff("class_teacher", campus))
        return dict(requester_name=staff["display_name"], created_by=staff["id"])
    name = student["guardian_name"] if student else ctx.guardian(ctx.kid()[0], polite=0.6)
    desk = ctx.rng.choice(ctx.staff("customer_service", campus))
    return dict(requester_name=name, created_by=None if channel in ("web", "api") else desk["id"])


def _ticket_row(ctx: Ctx, type_ids: dict[str, int]) -> dict:
    code = ctx.weighted(data.TICKET_TYPE_WEIGHTS)
    wants_student = code != "repair" and ctx.rng.random() < (0.6 if code == "consultation" else 0.95)
    student = ctx.rng.choice(ctx.students) if wants_student else None
    campus = student["_code"] if student else ctx.weighted(data.CAMPUS_WEIGHTS)
    groups = ctx.enrolled.get(student["id"]) if student else None
    group = ctx.rng.choice(groups or [g for g in ctx.groups if g["_code"] == campus])
    channel = ctx.weighted({"internal": 70, "walk_in": 15, "phone": 15} if code == "repair" else data.TICKET_CHANNELS)
    priority = ctx.weighted(data.TICKET_PRIORITIES)
    if code in ("complaint", "repair") and priority in ("low", "normal") and ctx.rng.random() < 0.3:
        priority = "high"
    created = ctx.moment(60)
    status = _status(ctx, (ctx.now - created).days)
    title, description = _text(ctx, code, student, group)
    handler = ctx.rng.choice(ctx.staff("class_teacher" if code == "leave_reschedule" else "customer_service", campus))
    updated = ctx.later(created, 12 if status in ("resolved", "closed") else 5)
    return dict(
        ticket_type=type_ids[code], title=title, description=description, priority=priority,
        channel=channel, status=status, student=student["id"] if student else None,
        campus=ctx.campuses[campus], assignee=None if status == "new" else handler["id"],
        version=data.TICKET_VERSIONS[status], created_at=created,
        updated_at=created if status == "new" else updated,
        **_requester(ctx, campus, channel, student),
    )


async def seed_tickets(ctx: Ctx) -> None:
    type_ids = await seed_ticket_types(ctx)
    rows = sorted((_ticket_row(ctx, type_ids) for _ in range(data.TICKET_COUNT)), key=lambda r: r["created_at"])
    per_year: dict[int, int] = {}
    for row in rows:  # numbered in order of creation, restarting every year
        year = row["created_at"].astimezone(LOCAL_TZ).year
        per_year[year] = per_year.get(year, 0) + 1
        row["number"] = f"T-{year}-{per_year[year]:06d}"
        row["search_text"] = f"{row['title']} {row['description']}".lower()
        row["tracking_token"] = secrets.token_urlsafe(32)  # a secret, so not from the seeded rng
    await insert_rows(Ticket, rows)
    ctx.count(Ticket, len(rows))
