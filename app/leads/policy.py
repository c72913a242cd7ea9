"""Who may see and change leads."""

from __future__ import annotations

from app.core.permissions import CurrentUser, visible_owner_ids
from tables.leads.tables import Lead

LEAD_ROLES = ("admin", "supervisor", "advisor", "customer_service")
ASSIGNING_ROLES = ("admin", "supervisor")


def can_use_leads(user: CurrentUser) -> bool:
    return user.role in LEAD_ROLES


async def visibility_filter(user: CurrentUser):
    """The WHERE clause every lead query applies; None when the user sees every lead."""
    owners = await visible_owner_ids(user)
    if owners is None:
        return None
    # Unowned leads sit in the public pool, which every lead user may browse.
    return Lead.owner.is_in(sorted(owners)) | Lead.owner.is_null()


async def can_view(user: CurrentUser, lead: dict) -> bool:
    if not can_use_leads(user):
        return False
    owners = await visible_owner_ids(user)
    return owners is None or lead["owner"] is None or lead["owner"] in owners


async def can_assign_to(user: CurrentUser, owner_id: int | None) -> bool:
    if owner_id is None or owner_id == user.id:
        return True
    if user.role not in ASSIGNING_ROLES:
        return False
    owners = await visible_owner_ids(user)
    return owners is None or owner_id in owners
