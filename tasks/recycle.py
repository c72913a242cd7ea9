"""The recycle bin's daily clean-up: delete for good what has been in the bin for 30 days.

Safe to run twice or on two workers (each row's DELETE matches once). A test passes a FrozenClock as
ctx["clock"] (tests.support.run_worker_burst(ctx=...)).
"""

from __future__ import annotations

from app.core.clock import system_clock
from app.recycle import service


async def purge_recycle_bin(ctx: dict) -> dict:
    return await service.purge_expired(ctx.get("clock") or system_clock)
