"""Campuses and teams (admins only). A team's parent chain decides who sees whose records."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.accounts.staff import require_admin
from app.core import audit
from app.core.db import UnitOfWork
from app.core.errors import FieldError, NotFound, ValidationFailed
from app.core.forms import parse_int
from app.core.permissions import CurrentUser
from tables.accounts.tables import Campus, Team, User

TEAM_FIELDS = ("name", "campus", "parent", "leader")
CAMPUS_FIELDS = ("name", "code", "timezone", "address")


async def list_teams() -> list[dict]:
    teams = (
        await Team.select(
            Team.id,
            Team.name,
            Team.campus,
            Team.parent,
            Team.leader,
            Team.campus.name.as_alias("campus_name"),
            Team.parent.name.as_alias("parent_name"),
            Team.leader.display_name.as_alias("leader_name"),
        )
        .order_by(Team.campus)
        .order_by(Team.name)
    )
    members = await User.select(User.team).where(User.is_active.eq(True) & User.team.is_not_null())
    sizes: dict[int, int] = {}
    for row in members:
        sizes[row["team"]] = sizes.get(row["team"], 0) + 1
    for team in teams:
        team["members"] = sizes.get(team["id"], 0)
    return teams


def _ref(value) -> int | str | None:
    if value in (None, ""):
        return None
    number = parse_int(value)
    return "invalid" if number is None else number


async def _creates_cycle(team_id: int | None, parent_id: int | None) -> bool:
    if team_id is None or parent_id is None:
        return False
    parents = {t["id"]: t["parent"] for t in await Team.select(Team.id, Team.parent)}
    seen, current = set(), parent_id
    while current is not None and current not in seen:
        if current == team_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


async def _clean_team(values: dict, team_id: int | None) -> dict:
    out, errors = {"name": str(values.get("name", "")).strip()}, []
    if not out["name"] or len(out["name"]) > 100:
        errors.append(FieldError("name", "Enter a name of at most 100 characters."))
    for field, table, message in (
        ("campus", Campus, "Unknown campus."),
        ("parent", Team, "Unknown team."),
        ("leader", User, "Unknown user."),
    ):
        ref = _ref(values.get(field))
        if ref == "invalid" or (ref is not None and not await table.exists().where(table.id == ref)):
            errors.append(FieldError(field, message))
            ref = None
        out[field] = ref
    if out["parent"] is not None and (out["parent"] == team_id or await _creates_cycle(team_id, out["parent"])):
        errors.append(FieldError("parent", "A team cannot sit under itself or one of its own sub-teams."))
    if errors:
        raise ValidationFailed(errors)
    return out


async def save_team(actor: CurrentUser, values: dict, team_id: int | None = None) -> int:
    require_admin(actor)
    before = {}
    if team_id is not None:
        before = await Team.select().where(Team.id == team_id).first()
        if before is None:
            raise NotFound()
    data = await _clean_team(values, team_id)
    return await _save_audited(actor, Team, "team", TEAM_FIELDS, data, before, team_id)


async def _save_audited(actor, table, entity_type, fields, data, before, row_id) -> int:
    """Insert or update one row and its audit entry in one transaction."""
    async with UnitOfWork():
        if row_id is None:
            row_id = (await table.insert(table(**data)).returning(table.id))[0]["id"]
            changes, action = audit.snapshot(data, fields), "create"
        else:
            await table.update({getattr(table, k): v for k, v in data.items()}).where(table.id == row_id)
            changes, action = audit.diff(before, data, fields), "update"
        if changes:
            await audit.record(
                actor_id=actor.id, action=action, entity_type=entity_type, entity_id=row_id, changes=changes
            )
    return row_id


async def save_campus(actor: CurrentUser, values: dict, campus_id: int | None = None) -> int:
    require_admin(actor)
    before = {}
    if campus_id is not None:
        before = await Campus.select().where(Campus.id == campus_id).first()
        if before is None:
            raise NotFound()
    data = {f: str(values.get(f, "")).strip() for f in CAMPUS_FIELDS}
    data["timezone"] = data["timezone"] or "Asia/Shanghai"
    errors = []
    if not data["name"] or len(data["name"]) > 100:
        errors.append(FieldError("name", "Enter a name of at most 100 characters."))
    elif await Campus.exists().where((Campus.name == data["name"]) & (Campus.id != (campus_id or 0))):
        errors.append(FieldError("name", "Another campus already has this name."))
    if not data["code"] or len(data["code"]) > 20:
        errors.append(FieldError("code", "Enter a short code of at most 20 characters."))
    elif await Campus.exists().where((Campus.code == data["code"]) & (Campus.id != (campus_id or 0))):
        errors.append(FieldError("code", "Another campus already has this code."))
    try:
        ZoneInfo(data["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(FieldError("timezone", "Unknown time zone, e.g. Asia/Shanghai."))
    if errors:
        raise ValidationFailed(errors)
    return await _save_audited(actor, Campus, "campus", CAMPUS_FIELDS, data, before, campus_id)
