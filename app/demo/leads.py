"""About 2,000 leads over the last 180 days, a third in the public pool, and some near-duplicates."""

from __future__ import annotations

from datetime import timedelta

from app.demo import data
from app.demo.context import Ctx, insert_rows
from app.leads.dedup.check import rebuild_all_keys
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
        student_name=name, guardian_name=ctx.guardian(name, polite=0.25), **_contact(ctx),
        city=city, district=ctx.weighted(districts), grade=ctx.grade(),
        source=ctx.weighted(data.LEAD_SOURCES), status=status,
        owner=ctx.rng.choice(ctx.staff("advisor", code))["id"] if owned else None,
        campus=ctx.campuses[code], note=ctx.rng.choice(notes) if ctx.rng.random() < 0.6 else "",
        next_follow_up_on=follow_up, version=1 if status == "new" else ctx.rng.randint(2, 5),
        created_at=created, updated_at=created if status == "new" else ctx.later(created, 45),
        _code=code, _gender=gender,
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
        source=ctx.weighted(data.LEAD_SOURCES), status="new", note="", next_follow_up_on=None,
        owner=ctx.rng.choice(advisors)["id"] if ctx.rng.random() < 0.5 else None,
        version=1, created_at=created, updated_at=created,
    )
    return row


async def seed_leads(ctx: Ctx) -> None:
    rows = [_lead_row(ctx) for _ in range(data.LEAD_COUNT - data.LEAD_DUPLICATES)]
    candidates = [r for r in rows if r["phone"] and r["status"] != "invalid"]
    originals = ctx.rng.sample(candidates, data.LEAD_DUPLICATES)
    rows += [_near_duplicate(ctx, original, i) for i, original in enumerate(originals)]
    rows.sort(key=lambda r: r["created_at"])
    for row, id_ in zip(rows, await insert_rows(Lead, rows)):
        row["id"] = id_
    ctx.leads = rows
    ctx.count(Lead, len(rows))
    await rebuild_all_keys()  # the duplicate check's blocking keys for rows inserted in bulk
