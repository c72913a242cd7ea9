"""Lead jobs: follow-up reminders, the daily reclaim, pool distribution. Thin wrappers over the
services in app/leads, each safe to run twice or on several workers (see their docstrings).

A test can pass a FrozenClock as ctx["clock"] (tests.support.run_worker_burst(ctx=...)).
"""

from __future__ import annotations

from app.core.clock import system_clock
from app.leads.follow_ups import services as follow_ups
from app.leads.pool import distribution as pool_distribution
from app.leads.pool import reclaim as pool_reclaim


def _clock(ctx: dict):
    return ctx.get("clock") or system_clock


async def remind_due_follow_ups(ctx: dict) -> int:
    return await follow_ups.remind_due(_clock(ctx))


async def reclaim_leads(ctx: dict) -> dict:
    return dict(await pool_reclaim.reclaim_leads(_clock(ctx)))


async def distribute_pool_leads(ctx: dict, lead_ids: list[int], returned_from: dict | None = None) -> int:
    """Distribute these pool leads now; `returned_from` ({"lead id": previous owner}) keeps a lead
    away from the person it just left."""
    previous = {int(k): v for k, v in (returned_from or {}).items()}
    return len(await pool_distribution.distribute_leads(lead_ids, previous, clock=_clock(ctx)))


async def distribute_new_pool_leads(ctx: dict) -> int:
    return len(await pool_distribution.distribute_new(_clock(ctx)))
