"""Outbox jobs: deliver freshly written rows now, and sweep every 10 s for anything due (retries,
rows whose job was lost with Redis, rows a killed worker left behind). Both are safe to run twice:
rows are claimed atomically in the database."""

from __future__ import annotations

from dataclasses import asdict

from app.notifications import outbox


async def deliver_outbox(ctx: dict, ids: list[int]) -> dict:
    report = await outbox.deliver(ids, clock=ctx.get("clock") or outbox.system_clock, channels=ctx.get("channels"))
    return asdict(report)


async def sweep_outbox(ctx: dict) -> dict:
    report = await outbox.deliver(clock=ctx.get("clock") or outbox.system_clock, channels=ctx.get("channels"))
    return asdict(report)
