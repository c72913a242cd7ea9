"""Automation jobs: thin wrappers over app.automation.engine, safe to run twice.

`ctx["clock"]`, when a test's worker sets it, is the time the engine acts at (as for the outbox jobs)."""

from app.automation import engine
from app.core.clock import system_clock


async def run_automation(ctx: dict, trigger_id: int) -> int:
    return len(await engine.process(trigger_id, ctx.get("clock") or system_clock))


async def sweep_automation(ctx: dict) -> int:
    return await engine.sweep(ctx.get("clock") or system_clock)


async def prune_automation_triggers(ctx: dict) -> int:
    return await engine.prune(ctx.get("clock") or system_clock)
