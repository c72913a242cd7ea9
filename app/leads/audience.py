"""Who may receive a lead's events: the lead visibility of app/leads/policy.py, as an audience.

An owned lead reaches its owner, the leaders above the owner and admins; a lead in the public
pool reaches everyone who works with leads.
"""

from __future__ import annotations

from app.core.events import Audience, record_audience
from app.leads.policy import LEAD_ROLES
from tables.leads.tables import Lead

POOL = Audience.roles_at(LEAD_ROLES)


def of_owners(*owners: int | None) -> Audience:
    """Who sees leads owned by these users; None stands for the public pool."""
    audience = Audience(owners=tuple(o for o in owners if o is not None))
    return audience | POOL if None in owners else audience


@record_audience("lead")
async def lead_viewers(ids: list[int]) -> Audience:
    rows = await Lead.select(Lead.owner).where(Lead.id.is_in(ids))
    return of_owners(*(r["owner"] for r in rows))


def of_lead(*lead_ids: int, old_owner: int | None = None, had_owner: bool = False) -> Audience:
    """Who may see the leads now, and (`had_owner`) who saw them under `old_owner` (None: the pool)."""
    audience = Audience.record("lead", *lead_ids)
    return audience | of_owners(old_owner) if had_owner else audience
