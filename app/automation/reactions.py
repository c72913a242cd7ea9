"""Records the triggers rules listen to, inside the transaction of the ticket write that caused them.

A trigger row cannot be lost (it commits with the write) and costs nothing when no active rule
listens to that trigger: which triggers are listened to is cached in the process for a couple of
seconds, so the hot write paths do not query for it every time.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass

from app.automation.rules import MAX_DEPTH, triggers_of
from app.core.db import UnitOfWork, reacts_to
from app.core.events import Event
from tables.automation.tables import AutomationRule, AutomationTrigger

log = logging.getLogger(__name__)

RUN_JOB = "run_automation"
# How long another process may keep using its cached list after an admin changes a rule.
CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class RunContext:
    """Set while a rule's actions run: the triggers they cause carry the chain of rules behind them."""

    chain: tuple[int, ...]
    depth: int


current_run: ContextVar[RunContext | None] = ContextVar("automation_run", default=None)
_cache: dict = {"until": 0.0, "triggers": frozenset()}


def forget_cached_rules() -> None:
    """After a rule changes in this process: its next write reads the rules again."""
    _cache["until"] = 0.0


async def listened_triggers() -> frozenset[str]:
    if time.monotonic() < _cache["until"]:
        return _cache["triggers"]
    rows = (
        await AutomationRule.select(AutomationRule.trigger)
        .where(AutomationRule.is_active.eq(True) & AutomationRule.deleted_at.is_null())
        .distinct()
    )
    _cache.update(triggers=frozenset(r["trigger"] for r in rows), until=time.monotonic() + CACHE_SECONDS)
    return _cache["triggers"]


def _payload(event: Event) -> dict:
    keep = ("status", "old_status", "priority", "assignee", "fields", "sla", "public", "activity", "type")
    return {k: event.payload[k] for k in keep if k in event.payload}


@reacts_to("ticket.")
async def record_triggers(uow: UnitOfWork, event: Event) -> None:
    ticket_id = event.payload.get("id")
    if not isinstance(ticket_id, int):
        return
    names = triggers_of(event.name, event.payload)
    if not names:
        return
    listened = await listened_triggers()
    names = [n for n in names if n in listened]
    if not names:
        return
    context = current_run.get()
    depth = context.depth if context else 0
    if depth > MAX_DEPTH:
        log.warning("automation on ticket %s stopped at depth %s (rules %s)", ticket_id, depth, context.chain)
        return
    # One write may emit several events for one ticket; each trigger is recorded once per write.
    seen: set = uow.__dict__.setdefault("_automation_seen", set())
    fresh = [n for n in names if (ticket_id, n) not in seen]
    seen.update((ticket_id, n) for n in fresh)
    if not fresh:
        return
    chain = list(context.chain) if context else []
    rows = await AutomationTrigger.insert(
        *[
            AutomationTrigger(ticket=ticket_id, trigger=name, payload=_payload(event), chain=chain, depth=depth)
            for name in fresh
        ]
    ).returning(AutomationTrigger.id)
    for row in rows:
        uow.enqueue(RUN_JOB, row["id"], job_id=f"automation:{row['id']}")
