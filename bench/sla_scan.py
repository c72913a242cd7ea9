"""One SLA scan over 10,000 open tickets (issue #4: under 1 s).

Rows are bulk-inserted directly (tickets, their "created" activity and their TicketSla with policy
snapshot and dues), then the worker's scan function (app.sla.scan.scan) is timed in-process:

idle:     nothing has come due: the cost of finding out (one indexed query on TicketSla.scan_at).
due_1pct: 1% of the tickets (100) have just breached their first response: each gets its SlaAction,
          a timeline entry, a notification to the team leader and a ticket.updated event.
batch:    a full batch (500 breached tickets, the most one scan takes; the next scan takes the rest).
Each round re-arms the same tickets (actions and entries deleted, scan_at back in the past).

python bench/sla_scan.py [--backend sqlite|postgres] [--tickets 10000] [--rounds 5]

Measured 2026-12-02, 2-core VM shared with other jobs (load ~1.5), 5 rounds, median / max ms:
  sqlite:   idle 1.9 / 2.4 · due_1pct 626 / 660 · batch(500) 2748 / 3337
  postgres: idle 3.5 / 4.4 · due_1pct 425 / 643 · batch(500) 2113 / 2520
Acting costs ~4-6 ms per breach, about half of it notify() (notification + outbox rows + preferences).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from common import environment, machine


async def _seed(n: int) -> list[int]:
    """n open tickets, all assigned to agents of a desk team whose leader hears of breaches."""
    from app.accounts.services import create_user
    from app.sla.policies import snapshot
    from tables.accounts.tables import Team
    from tables.sla.tables import TicketSla
    from tables.tickets.tables import Ticket, TicketActivity, TicketType

    leader = await create_user(username="benchlead", password="bench-pass-1", role="supervisor")
    team = (await Team.insert(Team(name="前台", leader=leader)).returning(Team.id))[0]["id"]
    agents = [
        await create_user(username=f"agent{i}", password="bench-pass-1", role="customer_service", team_id=team)
        for i in range(10)
    ]
    types = {r["id"]: await snapshot(r["id"]) for r in await TicketType.select(TicketType.id)}
    rng, now = random.Random(11), datetime.now(UTC)
    ids: list[int] = []
    for start in range(0, n, 500):
        rows = []
        for i in range(start, min(start + 500, n)):
            rows.append(
                Ticket(
                    number=f"T-SLA-{i:06d}",
                    ticket_type=rng.choice(list(types)),
                    title=f"压测工单 {i}",
                    team=team,
                    status=rng.choice(["assigned", "in_progress"]),
                    priority=rng.choice(["low", "normal", "high", "urgent"]),
                    assignee=rng.choice(agents),
                    search_text=f"压测工单 {i}",
                    created_at=now,
                    updated_at=now,
                )
            )
        inserted = await Ticket.insert(*rows).returning(Ticket.id, Ticket.ticket_type, Ticket.status, Ticket.priority)
        await TicketActivity.insert(
            *[
                TicketActivity(
                    ticket=t["id"],
                    kind="created",
                    created_at=now,
                    changes={"status": [None, t["status"]], "priority": [None, t["priority"]]},
                )
                for t in inserted
            ]
        )
        slas = []
        for t in inserted:
            due = now + timedelta(minutes=rng.randint(60, 4000))
            slas.append(
                TicketSla(
                    ticket=t["id"],
                    targets=types[t["ticket_type"]],
                    paused_statuses=["pending"],
                    first_response_due=due,
                    resolution_due=due + timedelta(days=2),
                    scan_at=due - timedelta(minutes=30),
                    updated_at=now,
                )
            )
        await TicketSla.insert(*slas)
        ids += [t["id"] for t in inserted]
    return ids


async def _arm(ticket_ids: list[int]) -> None:
    """Make these tickets' first response breach a minute ago, with nothing acted on yet."""
    from tables.notifications.tables import Notification
    from tables.sla.tables import SlaAction, TicketSla
    from tables.tickets.tables import TicketActivity

    now = datetime.now(UTC)
    await SlaAction.delete().where(SlaAction.id.is_not_null())
    await TicketActivity.delete().where(TicketActivity.kind == "sla")
    await Notification.delete().where(Notification.id.is_not_null())
    for start in range(0, len(ticket_ids), 500):
        chunk = ticket_ids[start : start + 500]
        await TicketSla.update(
            {
                TicketSla.first_response_due: now - timedelta(minutes=1),
                TicketSla.scan_at: now - timedelta(minutes=1),
                TicketSla.first_response_breached_at: None,
            }
        ).where(TicketSla.ticket.is_in(chunk))


async def _quiet() -> None:
    """Nothing due: every ticket's next point a day away (as after a scan has caught up)."""
    from tables.sla.tables import TicketSla

    later = datetime.now(UTC) + timedelta(days=1)
    await TicketSla.update({TicketSla.scan_at: later}).where(TicketSla.id.is_not_null())


async def _timed_scan() -> tuple[float, dict]:
    from app.sla.scan import scan

    started = time.perf_counter()
    done = await scan()
    return (time.perf_counter() - started) * 1000, dict(done)


async def run(n: int, rounds: int) -> dict:
    from piccolo.engine.postgres import PostgresEngine

    from piccolo_conf import DB

    if isinstance(DB, PostgresEngine):
        await DB.start_connection_pool(min_size=1, max_size=5)
    from app.calendars.services import hours_for_campus

    ids = await _seed(n)
    await hours_for_campus(None)  # warm the calendar cache, as a running worker has it
    results: dict[str, list[float]] = {"idle": [], "due_1pct": [], "batch": []}
    acted: dict[str, dict] = {}
    rng = random.Random(5)
    for _ in range(rounds):
        await _quiet()
        ms, done = await _timed_scan()
        results["idle"].append(ms)
        acted["idle"] = done
        await _quiet()
        await _arm(rng.sample(ids, n // 100))
        ms, done = await _timed_scan()
        results["due_1pct"].append(ms)
        acted["due_1pct"] = done
        await _quiet()
        await _arm(rng.sample(ids, 500))
        ms, done = await _timed_scan()
        results["batch"].append(ms)
        acted["batch"] = done
    summary = {
        name: {"median_ms": round(statistics.median(v), 1), "max_ms": round(max(v), 1), "acted": acted[name]}
        for name, v in results.items()
    }
    if isinstance(DB, PostgresEngine):
        await DB.close_connection_pool()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with environment(args.backend):
        from app.wiring import wire

        wire()
        summary = asyncio.run(run(args.tickets, args.rounds))
    print(
        json.dumps(
            {"bench": "sla_scan", "backend": args.backend, "tickets": args.tickets, "machine": machine(), **summary},
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
