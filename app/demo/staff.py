"""Campuses, the team tree and the staff who work in it."""

from __future__ import annotations

from app.accounts.passwords import hash_password
from app.demo import data
from app.demo.context import Ctx, insert_rows
from tables.accounts.tables import Campus, Team, User


async def seed_campuses(ctx: Ctx) -> None:
    rows = [dict(name=name, code=code, address=address) for code, name, address, _ in data.CAMPUSES]
    ids = await insert_rows(Campus, rows)
    ctx.campuses = {row["code"]: id_ for row, id_ in zip(rows, ids)}
    ctx.count(Campus, len(ids))


async def seed_teams(ctx: Ctx) -> dict[str, int]:
    """Creates the tree level by level (a parent needs its id first); returns key -> id."""
    specs = [(*data.HQ_TEAM, None)] + [
        (key.format(c=code), name, parent.format(c=code) if parent else None, code)
        for code in ctx.campuses
        for key, name, parent in data.CAMPUS_TEAMS
    ]
    team_ids: dict[str, int] = {}
    while len(team_ids) < len(specs):
        level = [s for s in specs if s[0] not in team_ids and (s[2] is None or s[2] in team_ids)]
        rows = [dict(name=s[1], campus=ctx.campuses.get(s[3]), parent=team_ids.get(s[2])) for s in level]
        for spec, id_ in zip(level, await insert_rows(Team, rows)):
            team_ids[spec[0]] = id_
    ctx.count(Team, len(team_ids))
    return team_ids


def _staff_name(ctx: Ctx, taken: set[str]) -> tuple[str, str]:
    """A new (display name, username) pair; the username is the pinyin, deduplicated by a suffix."""
    while True:
        (surname, s_py), (given, g_py) = ctx.rng.choice(data.STAFF_SURNAMES), ctx.rng.choice(data.STAFF_GIVEN)
        if surname + given not in taken:  # two colleagues with one name would confuse the demo
            break
    username, n = s_py + g_py, 2
    while username in taken:
        username, n = f"{s_py}{g_py}{n}", n + 1
    return surname + given, username


def _staff_rows(ctx: Ctx, team_ids: dict[str, int]) -> list[dict]:
    admin_hash, demo_hash = hash_password(data.ADMIN_PASSWORD), hash_password(data.DEMO_PASSWORD)
    taken = {name for spec in data.STAFF for name in spec[:2] if name}  # usernames and names
    rows = []
    for username, display_name, role, campus, team, _ in data.STAFF:
        if username is None:
            display_name, username = _staff_name(ctx, taken)
            taken |= {display_name, username}
        rows.append(
            dict(
                username=username,
                display_name=display_name,
                role=role,
                email=f"{username}@{data.EMAIL_DOMAIN}",
                phone=ctx.phone(),
                password_hash=admin_hash if username == "admin" else demo_hash,
                campus=ctx.campuses.get(campus),
                team=team_ids[team],
                created_at=ctx.now,
                updated_at=ctx.now,
                password_changed_at=ctx.now,
            )
        )
    return rows


async def seed_staff(ctx: Ctx) -> None:
    team_ids = await seed_teams(ctx)
    rows = _staff_rows(ctx, team_ids)
    ids = await insert_rows(User, rows)
    codes = {id_: code for code, id_ in ctx.campuses.items()}
    ctx.users = [
        dict(
            id=id_,
            username=row["username"],
            display_name=row["display_name"],
            role=row["role"],
            campus=codes.get(row["campus"]),
        )
        for row, id_ in zip(rows, ids)
    ]
    ctx.count(User, len(ids))
    for spec, row, id_ in zip(data.STAFF, rows, ids):
        if spec[5]:  # this member leads their team
            await Team.update({Team.leader: id_}).where(Team.id == row["team"])
