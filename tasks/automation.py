"""Automation jobs: thin wrappers over app.automation.engine, safe to run twice."""

from app.automation import engine


async def run_automation(ctx: dict, trigger_id: int) -> int:
    return len(await engine.process(trigger_id))


async def sweep_automation(ctx: dict) -> int:
    return await engine.sweep()
