"""About 2,000 leads over the last 180 days, a third in the public pool, and some near-duplicates."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from app.demo import data
from app.demo.context import LOCAL_TZ, Ctx, insert_rows
from app.leads.dedup.check import rebuild_all_keys
from tables.follow_ups.tables import FollowUp
from tables.leads.tables import Lead

_FOLLOWED = ("contacted", "visited", "trial")
# Ways people write the same mobile number; the duplicate detector must see through them all.
_PHONE_FORMATS = [
    lambda p: f"+86 {p[:3]}-{p[3:7]}-{p[7:]}",
    lambda p: f"{p[:3]} {p[3:7]} {p[7:]}",
    lambda p: f"{p[:3]}-{p[3:7]}-{p[7:]}",
    lambda p: f"+86{p}",
    lambda p: f"86-{p}",
    lambda p: f"(+86) {p}",
]
_NAME_FORMATS = [
    lambda n: f"{n[0]} {n[1:]}",
    lambda n: f"{n} ",
    lambda n: f" {n}",
    lambda n: f"{n[0]}\u3000{n[1:]}",  # an ideographic (full-width) space
]


def _office_hours(at: datetime, earliest: datetime) -> datetime:
    """The same moment, moved back into the evening before if it falls outside 08:00–21:59 school
    time (advisors do not call at 3 a.m.), but never before `earliest`."""
    local = at.astimezone(LOCAL_TZ)
    if local.hour < 8:
        local = (local - timedelta(days=1)).replace(hour=21)
    elif local.hour >= 22:
        local = local.replace(hour=21)
    return max(local.astimezone(UTC), earliest)


def _contact(ctx: Ctx) -> dict:
    """Phone for nearly everyone, an e-mail for some, a WeChat id for about half."""
    phone = ctx.phone() if ctx.rng.random() < 0.97 else ""
    email = ctx.fake.free_email() if ctx.rng.random() < 0.15 else ""
    wechat = ""
    if not phone or ctx.rng.random() < 0.45:
        roll = ctx.rng.random()
        if phone and roll < 0.2:
            wechat = phone  # many parents use their number as WeChat id
        elif roll < 0.6:
            wechat = ctx.fake.user_name()
        else:
            wechat = "wxid_" + "".join(ctx.rng.choices("abcdefghijkmnpqrstuvwxyz0123456789", k=14))
    return dict(phone=phone, email=email, wechat=wechat)


def _lead_row(ctx: Ctx) -> dict:
    code = ctx.weighted(data.CAMPUS_WEIGHTS)
    city, districts = next(c[3] for c in data.CAMPUSES if c[0] == code)
    name, gender = ctx.kid()
    status = ctx.weighted(data.LEAD_STATUSES)
    owned = ctx.rng.random() >= data.LEAD_UNOWNED.get(status, 0.0)
    created = ctx.moment(180)
    follow_up = None
    if owned and status in _FOLLOWED + ("new",) and ctx.rng.random() < 0.7:
        follow_up = ctx.today() + timedelta(days=ctx.rng.randint(-7, 14))  # some are overdue
    notes = data.INVALID_NOTES if status == "invalid" else data.LEAD_NOTES
    return dict(
        student_name=name,
        guardian_name=ctx.guardian(name, polite=0.25),
        **_contact(ctx),
        city=city,
        district=ctx.weighted(districts),
        grade=ctx.grade(),
        source=ctx.weighted(data.LEAD_SOURCES),
        status=status,
        owner=ctx.rng.choice(ctx.staff("advisor", code))["id"] if owned else None,
        campus=ctx.campuses[code],
        note=ctx.rng.choice(notes) if ctx.rng.random() < 0.6 else "",
        next_follow_up_on=follow_up,
        version=1 if status == "new" else ctx.rng.randint(2, 5),
        created_at=created,
        updated_at=created if status == "new" else _office_hours(ctx.later(created, 45), created),
        _code=code,
        _gender=gender,
    )


def _near_duplicate(ctx: Ctx, original: dict, i: int) -> dict:
    """The same family entered again later: the phone written differently, or a stray space."""
    row = dict(original)
    if i % 2 == 0:
        row["phone"] = _PHONE_FORMATS[i // 2 % len(_PHONE_FORMATS)](original["phone"])
    else:
        row["student_name"] = _NAME_FORMATS[i // 2 % len(_NAME_FORMATS)](original["student_name"])
    created = ctx.later(original["created_at"], 40)
    advisors = ctx.staff("advisor", original["_code"])
    row.update(
        source=ctx.weighted(data.LEAD_SOURCES),
        status="new",
        note="",
        next_follow_up_on=None,
        owner=ctx.rng.choice(advisors)["id"] if ctx.rng.random() < 0.5 else None,
        version=1,
        created_at=created,
        updated_at=created,
    )
    return row


def _follow_ups(ctx: Ctx, rng: random.Random, lead: dict) -> list[dict]:
    """The contacts that brought a lead to its status, spread from its creation to its last update,
    by its owner (or, for a lead back in the pool, the advisor who had it). The last one carries
    the lead's next follow-up date, its reminder pending if still ahead and sent if passed."""
    paths = data.FOLLOW_UP_PATHS.get(lead["status"])
    if not paths or (lead["status"] == "invalid" and rng.random() < 0.4):
        return []
    steps = rng.choice(paths)
    author = lead["owner"] or rng.choice(ctx.staff("advisor", lead["_code"]))["id"]
    start, end = lead["created_at"], lead["updated_at"]
    span = (end - start) / len(steps)
    moments = sorted(
        _office_hours(end if i == len(steps) - 1 else start + span * (i + rng.uniform(0.2, 0.9)), start)
        for i in range(len(steps))
    )
    rows = []
    for (kind, outcome), at in zip(steps, moments):
        notes = data.FOLLOW_UP_NOTES.get(f"{kind}:{outcome}") or data.FOLLOW_UP_NOTES[outcome]
        rows.append(
            dict(
                lead=lead["id"],
                author=author,
                kind=kind,
                outcome=outcome,
                created_at=at,
                note=rng.choice(notes),
                next_step=data.FOLLOW_UP_NEXT_STEPS.get(outcome, "") if rng.random() < 0.6 else "",
            )
        )
    when = None
    if lead["next_follow_up_on"] is not None:
        when = datetime.combine(lead["next_follow_up_on"], time(10), LOCAL_TZ).astimezone(UTC)
    if when is not None and when > rows[-1]["created_at"]:  # a plan is made for later, as the app requires
        ahead = when > ctx.now
        rows[-1].update(
            next_follow_up_at=when, reminder="pending" if ahead else "sent", reminded_at=None if ahead else when
        )
    return rows


async def seed_leads(ctx: Ctx) -> None:
    rows = [_lead_row(ctx) for _ in range(data.LEAD_COUNT - data.LEAD_DUPLICATES)]
    candidates = [r for r in rows if r["phone"] and r["status"] != "invalid"]
    originals = ctx.rng.sample(candidates, data.LEAD_DUPLICATES)
    rows += [_near_duplicate(ctx, original, i) for i, original in enumerate(originals)]
    rows.sort(key=lambda r: r["created_at"])
    # A random source of its own for what was added later: the draws of the data after it stay put.
    rng = random.Random(ctx.seed + 3)
    subjects = list(data.LEAD_SUBJECTS)
    for row in rows:
        if rng.random() < 0.75:
            row["course_interests"] = sorted(
                set(rng.choices(subjects, weights=list(data.LEAD_SUBJECTS.values()), k=rng.choice((1, 1, 2))))
            )
    for row, id_ in zip(rows, await insert_rows(Lead, rows)):
        row["id"] = id_
    ctx.leads = rows
    ctx.count(Lead, len(rows))
    follow_ups = [f for row in rows for f in _follow_ups(ctx, rng, row)]
    await insert_rows(FollowUp, follow_ups)
    ctx.count(FollowUp, len(follow_ups))
    await rebuild_all_keys()  # the duplicate check's blocking keys for rows inserted in bulk
