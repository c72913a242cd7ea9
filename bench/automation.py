"""Automation rules, end to end over real processes: a web server, the arq worker, Redis, a database.

  created → run: POST /api/v1/tickets until the rule's run is logged as done (its three actions
                 applied: priority, tag, a notified role), measured from the POST's start to the
                 run's finished_at, one ticket at a time (the next is posted when the run is done);
  burst:         the same for tickets posted back to back, where runs queue behind each other and
                 behind the other jobs a new ticket brings (assignment, SLA);
  POST cost:     POST /api/v1/tickets latency with no rule, then with five rules listening on
                 "created" (the trigger rows written in the ticket's own transaction).
python bench/automation.py [--backend sqlite|postgres] [--rounds 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from common import arq_worker, environment, machine, percentiles, services, wait_http, web_server

PASSWORD = "bench-pass-1"
TICKET = {"type": "repair", "title": "302 教室投影仪不亮", "fields": {"location": "3 楼 302", "equipment": "投影仪"}}


async def _setup() -> None:
    from app.accounts.services import create_user
    from app.tickets.types.defaults import ensure_default_types

    await ensure_default_types()
    await create_user(username="benchadmin", password=PASSWORD, role="admin")
    await create_user(username="benchsupervisor", password=PASSWORD, role="supervisor")


async def _rules(count: int) -> None:
    from app.automation import services
    from app.core.permissions import CurrentUser
    from tables.accounts.tables import User

    admin = await User.select(User.id).where(User.username == "benchadmin").first()
    actor = CurrentUser(
        id=admin["id"], username="benchadmin", display_name="bench", role="admin", team_id=None, campus_id=None
    )
    for i in range(count):
        await services.save_rule(
            actor,
            None,
            {
                "name": f"bench {i}",
                "trigger": "created",
                # Only the first rule matches repairs; the others are evaluated and skipped.
                "conditions": [{"subject": "type", "op": "is", "value": "repair" if i == 0 else "refund"}],
                "actions": [
                    {"kind": "set_priority", "value": "high"},
                    {"kind": "add_tag", "value": "bench"},
                    {"kind": "notify_role", "value": "supervisor"},
                ],
            },
        )


async def _post_latencies(api: httpx.AsyncClient, rounds: int) -> tuple[list[float], list[tuple[int, datetime]]]:
    samples, posted = [], []
    for _ in range(rounds):
        started_wall = datetime.now(UTC)
        started = time.perf_counter()
        response = await api.post("/api/v1/tickets", json=TICKET)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        posted.append((response.json()["id"], started_wall))
    return samples, posted


async def _run_latencies(posted: list[tuple[int, datetime]], timeout: float = 120, poll: float = 0.2) -> list[float]:
    from tables.automation.tables import AutomationRun

    ids = [ticket_id for ticket_id, _ in posted]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = await AutomationRun.select(AutomationRun.ticket, AutomationRun.finished_at).where(
            AutomationRun.ticket.is_in(ids) & (AutomationRun.outcome == "done")
        )
        if len(rows) == len(ids):
            finished = {r["ticket"]: r["finished_at"] for r in rows}
            return [(finished[t] - at).total_seconds() * 1000 for t, at in posted]
        await asyncio.sleep(poll)
    raise RuntimeError("not every run finished in time")


async def _spaced_run_latencies(api: httpx.AsyncClient, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        _, posted = await _post_latencies(api, 1)
        samples += await _run_latencies(posted, poll=0.01)
    return samples


async def measure(base: str, rounds: int) -> dict:
    await _setup()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        token = (await client.post("/api/v1/auth/token", json={"username": "benchadmin", "password": PASSWORD})).json()
        api = httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token['token']}"})
        async with api:
            await _post_latencies(api, 10)  # warm-up
            without, _ = await _post_latencies(api, rounds)
            await _rules(5)
            await asyncio.sleep(2.5)  # the web process's listened-triggers cache (2 s) sees the rules
            with_rules, posted = await _post_latencies(api, rounds)
            burst = await _run_latencies(posted)
            spaced = await _spaced_run_latencies(api, rounds)
    return {
        "post_no_rules_ms": percentiles(without),
        "post_five_rules_ms": percentiles(with_rules),
        "created_to_run_done_ms": percentiles(spaced),
        "burst_created_to_run_done_ms": percentiles(burst),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    with environment(args.backend) as env:
        from app.wiring import wire

        wire()
        logs = Path(env["SHUYUAN_VAR_DIR"])
        port = services.free_port()
        with web_server(port, logs / "web.log"), arq_worker(logs / "worker.log"):
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/login")
            result = asyncio.run(measure(base, args.rounds))
    print(
        json.dumps(
            {"benchmark": "automation", "backend": args.backend, "machine": machine(), **result},
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
