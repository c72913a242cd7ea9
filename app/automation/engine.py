"""The worker side: take a recorded trigger, run the rules that listen to it in order, log each run.

Exactly once per (trigger, rule): a run row is inserted before the rule's actions start, under a
unique index, so a second worker or a retried job finds it and moves on. A worker that dies in the
middle of a rule leaves that run "running" (shown as interrupted) rather than repeating its actions:
a duplicate reply or webhook is worse than a missing one, which the log shows.

Loop protection: actions run inside a RunContext, so the triggers they cause carry the chain of
rules behind them; a rule never runs on a trigger its own actions caused (directly or through other
rules), and after MAX_DEPTH generations no trigger is recorded at all.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from app.automation import actions
from app.automation.reactions import RunContext, current_run
from app.automation.rules import rule_matches
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.events import Event
from app.tickets.audience import of_ticket
from tables.automation.tables import AutomationRule, AutomationRun, AutomationTrigger
from tables.students.tables import StudentTag
from tables.tickets.tables import Ticket, TicketActivity, TicketTag

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
TICKET_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.title,
    Ticket.description,
    Ticket.status,
    Ticket.priority,
    Ticket.channel,
    Ticket.fields,
    Ticket.assignee,
    Ticket.campus,
    Ticket.team,
    Ticket.student,
    Ticket.class_group,
    Ticket.version,
    Ticket.requester_name,
    Ticket.csat_score,
    Ticket.deleted_at,
    Ticket.ticket_type.code.as_alias("type_code"),
    Ticket.student.name.as_alias("student_name"),
)


def _claimable(now: datetime):
    return (AutomationTrigger.status == "pending") | (
        (AutomationTrigger.status == "running") & (AutomationTrigger.locked_until < now)
    )


async def rules_for(trigger: str) -> list[dict]:
    return (
        await AutomationRule.select(
            AutomationRule.id,
            AutomationRule.name,
            AutomationRule.match,
            AutomationRule.conditions,
            AutomationRule.actions,
        )
        .where(
            (AutomationRule.trigger == trigger)
            & AutomationRule.is_active.eq(True)
            & AutomationRule.deleted_at.is_null()
        )
        .order_by(AutomationRule.position)
        .order_by(AutomationRule.id)
        .output(load_json=True)
    )


async def ticket_view(ticket_id: int, payload: dict) -> dict | None:
    """The ticket as conditions see it, read fresh before each rule (an earlier rule may have changed it)."""
    ticket = await Ticket.select(*TICKET_COLUMNS).where(Ticket.id == ticket_id).first().output(load_json=True)
    if ticket is None or ticket["deleted_at"] is not None:
        return None
    ticket["tags"] = [r["tag"] for r in await TicketTag.select(TicketTag.tag).where(TicketTag.ticket == ticket_id)]
    ticket["student_tags"] = (
        [r["tag"] for r in await StudentTag.select(StudentTag.tag).where(StudentTag.student == ticket["student"])]
        if ticket["student"] is not None
        else []
    )
    event = dict(payload)
    if isinstance(payload.get("activity"), int):
        message = (
            await TicketActivity.select(TicketActivity.body).where(TicketActivity.id == payload["activity"]).first()
        )
        event["body"] = message["body"] if message else ""
    ticket["event"] = event
    return ticket


async def process(trigger_id: int, clock: Clock = system_clock) -> list[dict]:
    """Run the rules of one trigger; returns the runs it made ([] when another worker has it)."""
    now = clock.now()
    claimed = (
        await AutomationTrigger.update(
            {
                AutomationTrigger.status: "running",
                AutomationTrigger.locked_until: now + LEASE,
            }
        )
        .where((AutomationTrigger.id == trigger_id) & _claimable(now))
        .returning(
            AutomationTrigger.id,
            AutomationTrigger.ticket,
            AutomationTrigger.trigger,
            AutomationTrigger.payload,
            AutomationTrigger.chain,
            AutomationTrigger.depth,
        )
    )
    if not claimed:
        return []
    trigger = _decoded(claimed[0])
    runs = []
    for rule in await rules_for(trigger["trigger"]):
        ticket = await ticket_view(trigger["ticket"], trigger["payload"])
        if ticket is None:
            break
        if not rule_matches(rule, ticket):
            continue
        run = await _run_rule(trigger, rule, ticket, clock)
        if run is not None:
            runs.append(run)
    await AutomationTrigger.update(
        {
            AutomationTrigger.status: "done",
            AutomationTrigger.processed_at: clock.now(),
            AutomationTrigger.locked_until: None,
        }
    ).where(AutomationTrigger.id == trigger_id)
    return runs


def _decoded(row: dict) -> dict:
    for key in ("payload", "chain"):
        if isinstance(row[key], str):
            row[key] = json.loads(row[key])
    return row


async def _run_rule(trigger: dict, rule: dict, ticket: dict, clock: Clock) -> dict | None:
    looped = rule["id"] in trigger["chain"]
    inserted = (
        await AutomationRun.insert(
            AutomationRun(
                trigger_event=trigger["id"],
                rule=rule["id"],
                rule_name=rule["name"],
                ticket=ticket["id"],
                trigger=trigger["trigger"],
                outcome="skipped_loop" if looped else "running",
                created_at=clock.now(),
                finished_at=clock.now() if looped else None,
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(AutomationRun.id)
    )
    if not inserted:
        return None  # run before (a retried job, or another worker)
    run_id = inserted[0]["id"]
    if looped:
        log.info("rule %s skipped on ticket %s: its own actions caused this trigger", rule["id"], ticket["id"])
        return {"id": run_id, "rule": rule["id"], "outcome": "skipped_loop", "log": []}
    entries = []
    token = current_run.set(RunContext(chain=(*trigger["chain"], rule["id"]), depth=trigger["depth"] + 1))
    try:
        for index, action in enumerate(rule["actions"]):
            entries.append(await _act(action, index, ticket, rule, run_id, trigger, clock))
            # Later actions see what earlier ones did (a tag added, a new assignee).
            ticket = await ticket_view(ticket["id"], trigger["payload"]) or ticket
    finally:
        current_run.reset(token)
    outcome = "done" if all(e["ok"] for e in entries) else "failed"
    await _finish(run_id, rule, trigger, ticket, entries, outcome, clock)
    return {"id": run_id, "rule": rule["id"], "outcome": outcome, "log": entries}


async def _act(action: dict, index: int, ticket: dict, rule: dict, run_id: int, trigger: dict, clock: Clock) -> dict:
    handler = actions.HANDLERS.get(action.get("kind", ""))
    entry = {"kind": action.get("kind", ""), "ok": False, "detail": ""}
    if handler is None:
        entry["detail"] = "unknown action"
        return entry
    try:
        if handler is actions.webhook:
            result = await handler(ticket, action, rule, run_id, clock, trigger=trigger["trigger"], index=index)
        else:
            result = await handler(ticket, action, rule, run_id, clock)
        _describe(entry, result)
        entry["ok"] = True
    except actions.ActionFailed as exc:
        _describe(entry, exc.note)
    except Exception as exc:  # noqa: BLE001 - one broken action must not stop the rule's others or later rules
        log.exception("automation rule %s action %s failed on ticket %s", rule["id"], index, ticket["id"])
        entry["detail"] = f"{type(exc).__name__}: {exc}"[:300]
    return entry


def _describe(entry: dict, result) -> None:
    """`detail` in English for the error column and logs; `msg` and `params` for the reader's language."""
    if isinstance(result, actions.Note):
        entry.update(detail=result.english, msg=result.text, params=result.params)
        if not result.changed:
            entry["unchanged"] = True
    else:
        entry["detail"] = "" if result is None else str(result)


async def _finish(run_id, rule, trigger, ticket, entries, outcome, clock) -> None:
    now = clock.now()
    async with UnitOfWork() as uow:
        await AutomationRun.update(
            {
                AutomationRun.outcome: outcome,
                AutomationRun.log: entries,
                AutomationRun.finished_at: now,
                AutomationRun.error: "; ".join(e["detail"] for e in entries if not e["ok"])[:2000],
            }
        ).where(AutomationRun.id == run_id)
        if outcome == "done" and all(e.get("unchanged") for e in entries):
            return  # the ticket was as the rule wants it: the run log has it, the timeline stays quiet
        await TicketActivity.insert(
            TicketActivity(
                ticket=ticket["id"],
                kind="automation",
                created_at=now,
                changes={
                    "rule": rule["id"],
                    "name": rule["name"],
                    "trigger": trigger["trigger"],
                    "run": run_id,
                    "outcome": outcome,
                    "actions": entries,
                },
            )
        )
        # Open ticket pages and boards refresh; fields ["automation"] fires no trigger of its own.
        uow.emit(
            Event(
                "ticket.updated",
                {
                    "id": ticket["id"],
                    "status": ticket["status"],
                    "old_status": None,
                    "assignee": ticket["assignee"],
                    "campus": ticket["campus"],
                    "priority": ticket["priority"],
                    "type": ticket["type_code"],
                    "version": ticket["version"],
                    "old_assignee": ticket["assignee"],
                    "fields": ["automation"],
                },
                audience=of_ticket(ticket["id"]),
            )
        )


async def pending_ids(clock: Clock = system_clock, older_than_seconds: float = 5, limit: int = 200) -> list[int]:
    """Triggers whose job was lost (Redis flushed, worker down): the sweeper runs them."""
    now = clock.now()
    rows = (
        await AutomationTrigger.select(AutomationTrigger.id)
        .where(_claimable(now) & (AutomationTrigger.created_at <= now - timedelta(seconds=older_than_seconds)))
        .order_by(AutomationTrigger.id)
        .limit(limit)
    )
    return [r["id"] for r in rows]


async def sweep(clock: Clock = system_clock, older_than_seconds: float = 5) -> int:
    done = 0
    for trigger_id in await pending_ids(clock, older_than_seconds):
        try:
            await process(trigger_id, clock)
            done += 1
        except Exception:  # noqa: BLE001 - the lease expires and the next sweep retries it
            log.exception("automation trigger %s failed", trigger_id)
    return done


# Processed triggers are kept this long (their runs keep the rule, ticket and outcome for good).
KEEP_DONE = timedelta(days=14)


async def prune(clock: Clock = system_clock) -> int:
    """Forget processed triggers older than KEEP_DONE: the table would otherwise grow with every write."""
    gone = (
        await AutomationTrigger.delete()
        .where((AutomationTrigger.status == "done") & (AutomationTrigger.created_at < clock.now() - KEEP_DONE))
        .returning(AutomationTrigger.id)
    )
    return len(gone)
