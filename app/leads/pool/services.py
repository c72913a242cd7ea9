"""The public pool (公海): browse unowned leads, claim one within the role's limit, release one.

Every move of a lead in or out of the pool (claim, release, reclaim, distribute) goes through
`record_move`: one conditional UPDATE of the owner, an audit entry on the lead's timeline and one
event, in the caller's unit of work. The conditional UPDATE (... WHERE owner IS NULL for a claim)
is what makes concurrent claims safe: of 20 advisors claiming the same lead, one update matches.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork, is_sqlite
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.events import Event
from app.core.i18n import N_, gettext
from app.core.pagination import Page, PageRequest, fetch_page
from app.core.permissions import CurrentUser, has_permission, visible_owner_ids
from app.core.phones import mask_phone
from app.leads import policy
from app.leads.audience import of_lead
from app.leads.pool import settings as pool_settings
from tables.accounts.tables import User
from tables.leads.tables import Lead

POOL_COLUMNS = (
    Lead.id,
    Lead.student_name,
    Lead.guardian_name,
    Lead.phone,
    Lead.status,
    Lead.source,
    Lead.city,
    Lead.district,
    Lead.grade,
    Lead.created_at,
    Lead.updated_at,
)
# Leads that count against a person's limit: every private lead not yet signed.
COUNTED = ("won",)
EVENTS = {
    "claim": "lead.claimed",
    "release": "lead.released",
    "reclaim": "lead.reclaimed",
    "distribute": "lead.distributed",
}


@dataclass(frozen=True)
class PoolFilter:
    q: str = ""
    city: str = ""


def _pool_where(filters: PoolFilter):
    where = Lead.owner.is_null() & Lead.deleted_at.is_null()
    if filters.q.strip():
        term = f"%{filters.q.strip()}%"
        where &= Lead.student_name.ilike(term) | Lead.guardian_name.ilike(term) | Lead.phone.like(term)
    if filters.city.strip():
        term = f"%{filters.city.strip()}%"
        where &= Lead.city.ilike(term) | Lead.district.ilike(term)
    return where


async def list_pool(user: CurrentUser, filters: PoolFilter, page: PageRequest) -> Page[dict]:
    if not policy.can_use_leads(user):
        raise Forbidden()
    result = await fetch_page(Lead, POOL_COLUMNS, _pool_where(filters), page, order_by=Lead.updated_at)
    # Numbers are for whoever claims the lead; admins and supervisors (leads.view_phone) see them, others
    # may reveal one, audited (app/leads/phones.py).
    full = has_permission(user, "leads.view_phone")
    for item in result.items:
        item["phone_masked"] = not full
        if not full:
            item["phone"] = mask_phone(item["phone"])
    return result


async def held_count(user_id: int) -> int:
    return await Lead.count().where(
        (Lead.owner == user_id) & Lead.deleted_at.is_null() & Lead.status.not_in(list(COUNTED))
    )


async def quota(user: CurrentUser) -> dict:
    """How many private leads the user holds and may hold (limit None: no limit)."""
    settings = await pool_settings.load()
    return {"held": await held_count(user.id), "limit": settings.limit_for(user.role)}


async def record_move(
    uow: UnitOfWork,
    lead_id: int,
    *,
    action: str,
    old_owner: int | None,
    new_owner: int | None,
    actor_id: int | None,
    clock: Clock = system_clock,
    reason: str = "",
    ip: str = "",
    version: int | None = None,
) -> bool:
    """Move a lead from `old_owner` (None: the pool) to `new_owner`, only if it still has that owner
    (and `version`, when given) and is not deleted. Returns whether this call moved it; a False
    means someone else was first."""
    where = (Lead.id == lead_id) & Lead.deleted_at.is_null()
    if version is not None:
        where &= Lead.version == version
    where &= Lead.owner.is_null() if old_owner is None else (Lead.owner == old_owner)
    moved = (
        await Lead.update({Lead.owner: new_owner, Lead.version: Lead.version + 1, Lead.updated_at: clock.now()})
        .where(where)
        .returning(Lead.id)
    )
    if not moved:
        return False
    changes: dict[str, list] = {"owner": [old_owner, new_owner]}
    if reason:
        changes["reason"] = [None, reason]
    await audit.record(actor_id=actor_id, action=action, entity_type="lead", entity_id=lead_id, changes=changes, ip=ip)
    uow.emit(
        Event(
            EVENTS[action],
            {"id": lead_id, "owner": new_owner, "old_owner": old_owner, "reason": reason},
            audience=of_lead(lead_id, old_owner=old_owner, had_owner=True),
        )
    )
    return True


async def _lock_holder(user_id: int) -> None:
    """Serialise one person's claims, so two at once cannot both pass the limit. SQLite writes one
    transaction at a time already (IMMEDIATE); PostgreSQL locks the person's row until commit."""
    if not is_sqlite():
        await User.select(User.id).where(User.id == user_id).lock_rows()


async def check_claim(user: CurrentUser, lead: dict | None) -> int | None:
    """The claim rules that need no lock (the caller read `lead`: id, owner, deleted_at); returns
    the role's limit, checked again under the lock by `take`."""
    if not policy.can_use_leads(user):
        raise Forbidden()
    settings = await pool_settings.load()
    limit = settings.limit_for(user.role)
    if limit == 0:
        raise Forbidden(N_("Your role cannot claim leads from the public pool."))
    # A lead the user may not see answers as one that does not exist: no probing of ids.
    if lead is None or lead["deleted_at"] is not None or not await policy.can_view(user, lead):
        raise NotFound(N_("This lead does not exist or you cannot see it."))
    if lead["owner"] == user.id:
        raise Conflict(N_("This lead is already yours."))
    return limit


async def take(
    uow: UnitOfWork,
    user: CurrentUser,
    lead_id: int,
    limit: int | None,
    *,
    ip: str = "",
    clock: Clock = system_clock,
    version: int | None = None,
) -> bool:
    """Move a pool lead to `user` within their limit, in the caller's unit of work; False when
    someone else was first (or the lead left the pool)."""
    await _lock_holder(user.id)
    if limit is not None and await held_count(user.id) >= limit:
        raise Conflict(
            gettext(
                N_(
                    "You already hold %(limit)s private leads, the limit for your role. Release "
                    "or convert some before claiming more."
                ),
                limit=limit,
            )
        )
    return await record_move(
        uow,
        lead_id,
        action="claim",
        old_owner=None,
        new_owner=user.id,
        actor_id=user.id,
        clock=clock,
        ip=ip,
        version=version,
    )


async def claim(user: CurrentUser, lead_id: int, *, ip: str = "", clock: Clock = system_clock) -> dict:
    """Take a lead from the pool into the user's private list, within the role's limit."""
    lead = await Lead.select(Lead.id, Lead.owner, Lead.deleted_at).where(Lead.id == lead_id).first()
    limit = await check_claim(user, lead)
    async with UnitOfWork() as uow:
        if not await take(uow, user, lead_id, limit, ip=ip, clock=clock):
            raise Conflict(N_("Someone else claimed this lead first."))
    return {"id": lead_id, "owner": user.id}


async def can_release(user: CurrentUser, owner_id: int | None) -> bool:
    """The owner, an admin, or a supervisor over the owner may put a lead back into the pool."""
    if owner_id is None or not policy.can_use_leads(user):
        return False
    if owner_id == user.id or user.is_admin:
        return True
    if user.role != "supervisor":
        return False
    visible = await visible_owner_ids(user)
    return visible is None or owner_id in visible


async def check_release(user: CurrentUser, lead: dict | None) -> None:
    """The release rules (the caller read `lead`: id, owner, deleted_at)."""
    if lead is None or lead["deleted_at"] is not None or not await policy.can_view(user, lead):
        raise NotFound(N_("This lead does not exist or you cannot see it."))
    if lead["owner"] is None:
        raise Conflict(N_("This lead is already in the public pool."))
    if not await can_release(user, lead["owner"]):
        raise Forbidden(N_("Only the owner or their supervisor can release this lead."))


async def give_back(
    uow: UnitOfWork,
    user: CurrentUser,
    lead_id: int,
    owner: int,
    *,
    reason: str = "",
    ip: str = "",
    clock: Clock = system_clock,
    version: int | None = None,
) -> bool:
    """Put `owner`'s lead back into the pool in the caller's unit of work; False when it changed hands."""
    if not await record_move(
        uow,
        lead_id,
        action="release",
        old_owner=owner,
        new_owner=None,
        actor_id=user.id,
        clock=clock,
        reason=(reason or "").strip()[:200],
        ip=ip,
        version=version,
    ):
        return False
    # Returned leads meet the distribution rules, never the person who let them go.
    uow.enqueue("distribute_pool_leads", [lead_id], {str(lead_id): owner})
    return True


async def release(
    user: CurrentUser, lead_id: int, *, reason: str = "", ip: str = "", clock: Clock = system_clock
) -> dict:
    lead = await Lead.select(Lead.id, Lead.owner, Lead.deleted_at).where(Lead.id == lead_id).first()
    await check_release(user, lead)
    async with UnitOfWork() as uow:
        if not await give_back(uow, user, lead_id, lead["owner"], reason=reason, ip=ip, clock=clock):
            raise Conflict(N_("This lead changed hands meanwhile. Reload and try again."))
    return {"id": lead_id, "owner": None}
