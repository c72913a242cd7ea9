"""Ticket types and about 500 tickets over the last 60 days, most of them still open, each with the
timeline of how it got where it is."""

from __future__ import annotations

import random
import secrets
from datetime import timedelta

from app.calendars.defaults import ensure_default_calendar
from app.demo import data
from app.demo.context import LOCAL_TZ, Ctx, insert_rows
from app.sla import services as sla
from app.sla.policies import ensure_default_policies
from app.tickets.types import fields as ticket_fields
from app.tickets.types.defaults import ensure_default_types
from tables.sla.tables import SlaAction, TicketSla
from tables.tickets.tables import Ticket, TicketActivity, TicketType


async def seed_ticket_types(ctx: Ctx) -> dict[str, int]:
    """The same six types a real install gets (app.tickets.types.defaults), forms included."""
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


def _text(ctx: Ctx, code: str, student: dict | None, group: dict) -> tuple[str, str, str]:
    """Title, description and the room they name (for a repair's location)."""
    title, description = ctx.rng.choice(data.TICKET_TEXTS[code])
    values = dict(
        student=student["name"] if student else "孩子",
        grade=student["grade"] if student else ctx.grade(),
        course=group["_course"]["name"],
        teacher=group["_teacher"]["display_name"],
        room=ctx.rng.choice(data.ROOMS),
    )
    room = values["room"] if "{room}" in title else data.REPAIR_PLACES.get(title, "前台")
    return title.format(**values), description.format(**values), room


def _requester(ctx: Ctx, campus: str, channel: str, student: dict | None) -> dict:
    """Who asked and who typed it in: staff for internal reports, nobody for self-service channels."""
    if channel == "internal":
        staff = ctx.rng.choice(ctx.staff("teacher", campus) + ctx.staff("class_teacher", campus))
        return dict(
            requester_kind="staff",
            requester_name=staff["display_name"],
            created_by=staff["id"],
            requester_user=staff["id"],
        )
    name = student["guardian_name"] if student else ctx.guardian(ctx.kid()[0], polite=0.6)
    desk = ctx.rng.choice(ctx.staff("customer_service", campus))
    return dict(requester_name=name, created_by=None if channel in ("web", "api") else desk["id"])


def _field_values(rng: random.Random, row: dict, form: list[dict]) -> dict:
    """What the requester filled in on the type's form (`form`, its field definitions), from a random
    source of its own so the rest of the data does not shift; optional fields are sometimes left empty."""
    code, student, group = row["_code"], row["_student"], row["_group"]
    options = {f["key"]: f["options"] for f in form}
    pick = lambda key: rng.choice(options[key])  # noqa: E731
    created = row["created_at"].astimezone(LOCAL_TZ)
    day = lambda d: (created + timedelta(days=d)).date().isoformat()  # noqa: E731
    some = lambda value, chance=0.7: value if rng.random() < chance else None  # noqa: E731
    if code == "consultation":
        subjects = rng.sample(options["course_interest"], rng.choice((1, 1, 2)))
        course = group["_course"]
        if course["name"] in row["title"] + row["description"]:  # asked about that course: its subject first
            subjects = [course["subject"], *[s for s in subjects if s != course["subject"]]][:2]
        values = dict(
            course_interest=subjects,
            grade=some(student["grade"] if student else None),
            preferred_time=some(rng.choice(data.TICKET_PREFERRED_TIMES)),
        )
    elif code == "leave_reschedule":
        makeup = rng.random() < 0.6
        values = dict(
            class_group=row["class_group"],
            lesson_date=day(rng.randint(1, 7)),
            reason=pick("reason"),
            makeup_wanted=makeup,
            makeup_time=f"{day(rng.randint(8, 14))}T{rng.choice(['10:00', '14:00', '18:30'])}" if makeup else None,
        )
    elif code == "complaint":
        values = dict(
            category=pick("category"),
            occurred_on=some(day(-rng.randint(0, 5))),
            expectation=some(rng.choice(data.TICKET_EXPECTATIONS)),
        )
    elif code == "refund":
        values = dict(
            contract_no=f"HT-{created.year}-{rng.randint(1, 3000):05d}",
            amount=f"{rng.randint(8, 120) * 100}.00",
            reason=pick("reason"),
            account_name=row["requester_name"],
        )
    elif code == "tech_support":
        values = dict(
            platform=pick("platform"),
            device=some(rng.choice(data.TICKET_DEVICES)),
            occurred_at=some(created.replace(second=0, microsecond=0, tzinfo=None).isoformat(timespec="minutes")),
        )
    else:  # repair
        values = dict(location=row["_room"], equipment="其他")
    words = row["title"] + row["description"]
    for key, hints in data.TICKET_FIELD_HINTS.get(code, {}).items():
        values[key] = next((value for keyword, value in hints if keyword in words), values[key])
    return {key: value for key, value in values.items() if value is not None}


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
    title, description, room = _text(ctx, code, student, group)
    handler = ctx.rng.choice(ctx.staff("class_teacher" if code == "leave_reschedule" else "customer_service", campus))
    updated = ctx.later(created, 12 if status in ("resolved", "closed") else 5)
    return dict(
        ticket_type=type_ids[code],
        title=title,
        description=description,
        priority=priority,
        channel=channel,
        status=status,
        student=student["id"] if student else None,
        campus=ctx.campuses[campus],
        assignee=None if status == "new" else handler["id"],
        # A leave request always names its class (the form requires one); other kinds only a student's own.
        class_group=group["id"] if code == "leave_reschedule" or (groups and code in ("complaint", "refund")) else None,
        version=data.TICKET_VERSIONS[status],
        created_at=created,
        _handler=handler["id"],
        _room=room,
        _code=code,
        _student=student,
        _group=group,
        updated_at=created if status == "new" else updated,
        **_requester(ctx, campus, channel, student),
    )


def _timeline(rng: random.Random, row: dict, handler: int | None) -> list[dict]:
    """The activity rows of a demo ticket, as the app would have written them on the way to its status:
    created, the claim, each move, the handler's replies and now and then an internal note. Stamps the
    row's first response, resolution and closing times to match."""
    created, last = row["created_at"], row["updated_at"]
    path = data.TICKET_PATHS[row["status"]]
    activities = [
        dict(
            actor=row["created_by"],
            kind="created",
            created_at=created,
            changes={"status": [None, "new"], "priority": [None, row["priority"]], "channel": [None, row["channel"]]},
        )
    ]
    # The moves spread over the ticket's life, in order, the last one at its updated_at.
    span = (last - created) / max(len(path), 1)
    moments = [created + span * (i + rng.uniform(0.3, 1)) for i in range(len(path))]
    if moments:
        moments[-1] = last
    status = "new"
    for target, at in zip(path, moments):
        if target == "assigned":  # a claim: one row with both changes, as claim_ticket writes it
            activities.append(
                dict(
                    actor=handler,
                    kind="assign",
                    created_at=at,
                    changes={"assignee": [None, handler], "status": [status, target]},
                )
            )
        else:
            activities.append(dict(actor=handler, kind="status", created_at=at, changes={"status": [status, target]}))
        if target in data.TICKET_REPLIES:
            activities.append(
                dict(
                    actor=handler,
                    kind="reply",
                    is_public=True,
                    created_at=at,
                    body=rng.choice(data.TICKET_REPLIES[target]),
                )
            )
            row.setdefault("first_response_at", at)
        if target == "in_progress" and rng.random() < 0.25:
            activities.append(dict(actor=handler, kind="note", created_at=at, body=rng.choice(data.TICKET_NOTES)))
        if target in ("resolved", "closed"):
            row[f"{target}_at"] = at
        status = target
    return activities


async def _insert_timelines(rows: list[dict], ids: list[int]) -> int:
    activities = [
        TicketActivity(ticket=ticket_id, **{"body": "", "is_public": False, **activity})
        for row, ticket_id in zip(rows, ids)
        for activity in row["_timeline"]
    ]
    for start in range(0, len(activities), 500):
        await TicketActivity.insert(*activities[start : start + 500])
    return len(activities)


async def _seed_service_levels(ctx: Ctx, ids: list[int]) -> None:
    """Each ticket's SLA as the app keeps it: the policies snapshotted and the dues computed from the
    timeline (late answers recorded as breaches). What would have fallen due before today is marked
    acted on, with the breach on the timeline, so the worker's first scan does not send weeks of
    reminders and escalations at once; from now on it acts as on any ticket."""
    await ensure_default_calendar()  # as `python -m app migrate` leaves them (idempotent)
    await ensure_default_policies()
    for ticket_id in ids:
        await sla.recompute(ticket_id, created=True)  # the snapshot, from the ticket row alone
        await sla.recompute(ticket_id)  # the dues from the whole timeline
        ticket, row = await sla.load_ticket(ticket_id), await sla.load_sla(ticket_id)
        past = [p for p in sla.action_points(ticket, row, await sla.hours_for(ticket["campus"])) if p.at <= ctx.now]
        if not past:
            continue
        # Only the points not already recorded (a late answer's breach is) get their timeline row.
        new = (
            await SlaAction.insert(
                *[SlaAction(ticket=ticket_id, rule=p.rule, due_key=p.due_key, created_at=p.at) for p in past]
            )
            .on_conflict(action="DO NOTHING")
            .returning(SlaAction.rule, SlaAction.due_key)
        )
        new = {(r["rule"], r["due_key"]) for r in new}
        breaches = [p for p in past if p.rule.startswith("breach:") and (p.rule, p.due_key) in new]
        if breaches:
            await TicketActivity.insert(
                *[
                    TicketActivity(
                        ticket=ticket_id,
                        kind="sla",
                        created_at=p.at,
                        changes={"sla": "breach", "target": p.target, "due": p.due_key, "to": []},
                    )
                    for p in breaches
                ]
            )
            await TicketSla.update({getattr(TicketSla, sla.BREACH_COLUMNS[p.target]): p.at for p in breaches}).where(
                TicketSla.ticket == ticket_id
            )
        await sla.recompute(ticket_id)  # the next scan: the first point still ahead
    await _in_time_order(ids)


async def _in_time_order(ids: list[int]) -> None:
    """Timelines show rows in id order, which in the app is the order things happened. The SLA rows
    above were added after every ticket's story: write the demo's rows again, oldest first."""
    columns = [c for c in TicketActivity._meta.columns if c is not TicketActivity._meta.primary_key]
    rows = (
        await TicketActivity.select(*columns)
        .where(TicketActivity.ticket.is_in(ids))
        .order_by(TicketActivity.created_at)
        .order_by(TicketActivity.id)
        .output(load_json=True)
    )
    await TicketActivity.delete().where(TicketActivity.ticket.is_in(ids))
    for start in range(0, len(rows), 500):
        await TicketActivity.insert(*[TicketActivity(**row) for row in rows[start : start + 500]])


async def seed_tickets(ctx: Ctx) -> None:
    type_ids = await seed_ticket_types(ctx)
    rows = sorted((_ticket_row(ctx, type_ids) for _ in range(data.TICKET_COUNT)), key=lambda r: r["created_at"])
    # A random source of its own: the timelines do not shift the draws of the data seeded after them.
    rng = random.Random(ctx.seed + 1)
    for row in rows:
        row["_timeline"] = _timeline(rng, row, row.pop("_handler"))
    forms = {
        r["code"]: r["fields"]
        for r in await TicketType.select(TicketType.code, TicketType.fields).output(load_json=True)
    }
    rng = random.Random(ctx.seed + 2)  # the same for the form values, added later
    for row in rows:
        row["fields"] = _field_values(rng, row, forms[row["_code"]])
        row["_words"] = ticket_fields.search_words(forms[row["_code"]], row["fields"])
    per_year: dict[int, int] = {}
    for row in rows:  # numbered in order of creation, restarting every year
        year = row["created_at"].astimezone(LOCAL_TZ).year
        per_year[year] = per_year.get(year, 0) + 1
        row["number"] = f"T-{year}-{per_year[year]:06d}"
        row["search_text"] = f"{row['title']} {row['description']} {row['_words']}".lower()
        row["tracking_token"] = secrets.token_urlsafe(32)  # a secret, so not from the seeded rng
    ids = await insert_rows(Ticket, rows)
    ctx.count(Ticket, len(rows))
    ctx.count(TicketActivity, await _insert_timelines(rows, ids))
    await _seed_service_levels(ctx, ids)
    ctx.count(TicketSla, len(ids))
