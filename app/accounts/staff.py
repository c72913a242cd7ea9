"""Managing staff accounts (admins only): list, edit, deactivate, reset passwords."""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts import passwords, sessions
from app.accounts.services import USER_AUDIT_FIELDS, _password_errors
from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.core.forms import parse_int
from app.core.pagination import Page, PageRequest, fetch_page
from app.core.permissions import ROLES, CurrentUser
from tables.accounts.tables import Campus, Team, User

STAFF_COLUMNS = (
    User.id,
    User.username,
    User.display_name,
    User.email,
    User.phone,
    User.role,
    User.campus,
    User.team,
    User.is_active,
    User.created_at,
    User.team.name.as_alias("team_name"),
    User.campus.name.as_alias("campus_name"),
)


@dataclass(frozen=True)
class StaffFilter:
    q: str = ""
    role: str = ""
    team: int | None = None
    active: str = "1"  # "1" active only, "0" inactive only, "" everyone


def require_admin(user: CurrentUser) -> None:
    if not user.is_admin:
        raise Forbidden()


async def list_staff(user: CurrentUser, filters: StaffFilter, page: PageRequest) -> Page[dict]:
    require_admin(user)
    where = User.id.is_not_null()
    if filters.q:
        term = f"%{filters.q.strip()}%"
        where &= User.username.ilike(term) | User.display_name.ilike(term) | User.phone.like(term)
    if filters.role in ROLES:
        where &= User.role == filters.role
    if filters.team:
        where &= User.team == filters.team
    if filters.active in ("0", "1"):
        where &= User.is_active.eq(filters.active == "1")
    return await fetch_page(User, STAFF_COLUMNS, where, page, ascending=True)


async def get_staff(user: CurrentUser, staff_id: int) -> dict:
    require_admin(user)
    row = await User.select(*STAFF_COLUMNS).where(User.id == staff_id).first()
    if row is None:
        raise NotFound()
    return row


def _as_id(value) -> int | str | None:
    if value in (None, ""):
        return None
    number = parse_int(value)
    return "invalid" if number is None else number


async def _clean(values: dict) -> tuple[dict, list[FieldError]]:
    out, errors = {}, []
    display_name = str(values.get("display_name", "")).strip()
    if not display_name:
        errors.append(FieldError("display_name", "Enter a name."))
    elif len(display_name) > 100:
        errors.append(FieldError("display_name", "Too long."))
    out["display_name"] = display_name
    out["email"] = str(values.get("email", "")).strip()[:255]
    out["phone"] = str(values.get("phone", "")).strip()[:32]
    out["role"] = str(values.get("role", ""))
    if out["role"] not in ROLES:
        errors.append(FieldError("role", "Unknown role."))
    for field, table, message in (("campus", Campus, "Unknown campus."), ("team", Team, "Unknown team.")):
        ref = _as_id(values.get(field))
        if ref == "invalid" or (ref is not None and not await table.exists().where(table.id == ref)):
            errors.append(FieldError(field, message))
        out[field] = ref if ref != "invalid" else None
    out["is_active"] = str(values.get("is_active", "")) in ("1", "on", "true", "True")
    return out, errors


async def update_staff(actor: CurrentUser, staff_id: int, values: dict, clock: Clock = system_clock) -> dict:
    before = await get_staff(actor, staff_id)
    data, errors = await _clean(values)
    if staff_id == actor.id and (data["role"] != "admin" or not data["is_active"]):
        # An admin locking themselves out leaves the school without anyone to undo it.
        errors.append(
            FieldError("role" if data["role"] != "admin" else "is_active", "You cannot remove your own admin access.")
        )
    if errors:
        raise ValidationFailed(errors)
    changes = audit.diff(before, data, [f for f in USER_AUDIT_FIELDS if f in data])
    if not changes:
        return before
    async with UnitOfWork():
        await User.update({**{getattr(User, k): v for k, v in data.items()}, User.updated_at: clock.now()}).where(
            User.id == staff_id
        )
        await audit.record(actor_id=actor.id, action="update", entity_type="user", entity_id=staff_id, changes=changes)
    if not data["is_active"]:
        await sessions.end_other_sessions(staff_id, keep=None)
    return await get_staff(actor, staff_id)


async def reset_password(actor: CurrentUser, staff_id: int, new_password: str, clock: Clock = system_clock) -> None:
    await get_staff(actor, staff_id)
    errors = _password_errors("new_password", new_password or "")
    if errors:
        raise ValidationFailed(errors)
    async with UnitOfWork():
        await User.update(
            {User.password_hash: passwords.hash_password(new_password), User.password_changed_at: clock.now()}
        ).where(User.id == staff_id)
        await audit.record(
            actor_id=actor.id,
            action="update",
            entity_type="user",
            entity_id=staff_id,
            changes={"password": ["***", "***"]},
        )
    await sessions.end_other_sessions(staff_id, keep=None)
