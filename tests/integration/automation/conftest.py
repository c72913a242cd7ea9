"""Automation tests: the seeded ticket types and SLA policies, an admin, rules saved through the real
service, and `drain` to run recorded triggers the way the worker does (engine.process per trigger)."""

import pytest

from app.automation import engine, services
from app.core.clock import Clock, system_clock
from app.sla.policies import ensure_default_policies
from app.tickets.types.defaults import ensure_default_types
from tables.automation.tables import AutomationRun, AutomationTrigger
from tables.tickets.tables import TicketActivity, TicketTag

# More rounds than any test needs: a loop the engine failed to stop shows up as this many.
MAX_ROUNDS = 25


@pytest.fixture(autouse=True)
async def default_types_and_policies():
    """The six seeded ticket types and their seeded SLA policies (each test starts from empty tables)."""
    await ensure_default_types()
    await ensure_default_policies()


@pytest.fixture
async def admin(make_user):
    return await make_user("admin")


@pytest.fixture
def make_rule(admin):
    """`await make_rule("created", [{"kind": "add_tag", "value": "VIP"}], conditions=[...])` -> the saved rule."""

    async def factory(
        trigger: str,
        actions: list[dict],
        *,
        conditions: list[dict] | None = None,
        match: str = "all",
        name: str = "",
        active: bool = True,
    ) -> dict:
        data = {
            "name": name or f"{trigger} rule",
            "trigger": trigger,
            "match": match,
            "is_active": active,
            "conditions": conditions or [],
            "actions": actions,
        }
        return await services.save_rule(admin, None, data)

    return factory


async def pending_triggers() -> list[int]:
    rows = (
        await AutomationTrigger.select(AutomationTrigger.id)
        .where(AutomationTrigger.status == "pending")
        .order_by(AutomationTrigger.id)
    )
    return [r["id"] for r in rows]


@pytest.fixture
def drain():
    """Process pending triggers, including those the rules' own actions cause, until none is left.
    Returns the number of rounds; a loop the engine did not stop fails the test."""

    async def run(clock: Clock = system_clock) -> int:
        for rounds in range(MAX_ROUNDS):
            ids = await pending_triggers()
            if not ids:
                return rounds
            for trigger_id in ids:
                await engine.process(trigger_id, clock)
        raise AssertionError(f"automation still has pending triggers after {MAX_ROUNDS} rounds")

    return run


async def runs_of(ticket_id: int | None = None) -> list[dict]:
    query = AutomationRun.select(
        AutomationRun.id,
        AutomationRun.rule,
        AutomationRun.rule_name,
        AutomationRun.trigger,
        AutomationRun.outcome,
        AutomationRun.log,
        AutomationRun.trigger_event,
        AutomationRun.error,
    ).order_by(AutomationRun.id)
    if ticket_id is not None:
        query = query.where(AutomationRun.ticket == ticket_id)
    return await query.output(load_json=True)


async def tags_of(ticket_id: int) -> set[str]:
    return {r["tag"] for r in await TicketTag.select(TicketTag.tag).where(TicketTag.ticket == ticket_id)}


async def activities(ticket_id: int, kind: str) -> list[dict]:
    return (
        await TicketActivity.select(
            TicketActivity.id,
            TicketActivity.actor,
            TicketActivity.body,
            TicketActivity.is_public,
            TicketActivity.changes,
        )
        .where((TicketActivity.ticket == ticket_id) & (TicketActivity.kind == kind))
        .order_by(TicketActivity.id)
        .output(load_json=True)
    )


@pytest.fixture
def automation():
    """The read helpers above, for the test modules (no package here, so no shared import path)."""

    class Helpers:
        runs = staticmethod(runs_of)
        tags = staticmethod(tags_of)
        activities = staticmethod(activities)
        pending = staticmethod(pending_triggers)

    return Helpers
