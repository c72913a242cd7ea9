"""The Kanban board with 1,000 open tickets: render time, and live-update latency across processes.

render:     GET /board (by status, assignee and type) on web process A, logged in as a desk agent
            who sees every ticket; latency of each full page.
ws_update:  a second client on web process B holds /ws, subscribed to the board; client A moves a
            card (POST /board/move on A); measured from the request's start until B receives the
            re-rendered card. Targets (issue #3): render p95 < 150 ms, update p95 < 200 ms.
python bench/board.py [--backend sqlite|postgres] [--rounds 100] [--tickets 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import websockets
from common import environment, machine, percentiles, services, wait_http, web_server

PASSWORD = "bench-pass-1"


async def _seed(n: int) -> int:
    """n open tickets spread over statuses, types, priorities and ten agents; returns the agent's id."""
    from app.accounts.services import create_user
    from app.tickets.types.defaults import ensure_default_types
    from tables.tickets.tables import Ticket, TicketType

    await ensure_default_types()
    viewer = await create_user(username="benchdesk", password=PASSWORD, role="customer_service")
    agents = [
        await create_user(username=f"agent{i}", password=PASSWORD, role="customer_service", display_name=f"客服{i}")
        for i in range(10)
    ]
    types = [r["id"] for r in await TicketType.select(TicketType.id)]
    rng, now = random.Random(7), datetime.now(UTC)
    rows = []
    for i in range(n):
        status = rng.choice(["new", "assigned", "in_progress", "in_progress", "pending"])
        rows.append(
            Ticket(
                number=f"T-BENCH-{i:06d}",
                ticket_type=rng.choice(types),
                title=f"压测工单 {i} 教室投影仪不亮",
                status=status,
                priority=rng.choice(["low", "normal", "normal", "high", "urgent"]),
                assignee=None if status == "new" else rng.choice(agents),
                search_text=f"压测工单 {i}",
                due_at=now + timedelta(minutes=rng.randint(-600, 4000)),
                created_at=now,
                updated_at=now - timedelta(seconds=i),
            )
        )
    for start in range(0, n, 200):
        await Ticket.insert(*rows[start : start + 200])
    return viewer


async def _login(client: httpx.AsyncClient, username: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    await client.post("/login", data={"_csrf_token": token, "username": username, "password": PASSWORD})


async def _render(client: httpx.AsyncClient, rounds: int) -> dict:
    results = {}
    for group in ("status", "assignee", "type"):
        samples = []
        for i in range(rounds + 5):
            started = time.perf_counter()
            response = await client.get("/board", params={"group": group})
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200 and "board-card" in response.text, response.status_code
            if i >= 5:  # the first requests warm caches and connections
                samples.append(elapsed)
        results[group] = percentiles(samples)
    return results


async def _until(socket, pattern: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while pattern not in await asyncio.wait_for(socket.recv(), timeout=max(0.01, deadline - time.monotonic())):
        pass


async def _ws_update(client_a: httpx.AsyncClient, web_b: str, rounds: int) -> dict:
    from tables.tickets.tables import Ticket

    ticket = await Ticket.select(Ticket.id).where(Ticket.status == "in_progress").first()
    async with httpx.AsyncClient(base_url=web_b) as client_b:
        await _login(client_b, "benchdesk")
        cookie = "; ".join(f"{k}={v}" for k, v in client_b.cookies.items())
    samples = []
    headers = {"x-csrftoken": client_a.cookies["csrftoken"], "HX-Request": "true"}
    async with websockets.connect(web_b.replace("http", "ws") + "/ws", additional_headers={"Cookie": cookie}) as socket:
        await socket.send(json.dumps({"type": "subscribe", "board": {}}))
        await _until(socket, 'id="board-live"')
        for i in range(rounds):
            target = "pending" if i % 2 == 0 else "in_progress"
            started = time.perf_counter()
            response = await client_a.post(
                "/board/move", data={"id": ticket["id"], "to": f"status:{target}"}, headers=headers
            )
            assert response.status_code == 200, response.text[:300]
            await _until(socket, f"afterbegin:#cards-status-{target}")
            samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


async def measure(web_a: str, web_b: str, rounds: int, tickets: int) -> dict:
    await _seed(tickets)
    async with httpx.AsyncClient(base_url=web_a, timeout=30) as client_a:
        await _login(client_a, "benchdesk")
        render = await _render(client_a, rounds)
        update = await _ws_update(client_a, web_b, rounds)
    return {"render_ms": render, "ws_update_ms": update}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--tickets", type=int, default=1000)
    args = parser.parse_args()
    with environment(args.backend) as env:
        from app.wiring import wire

        wire()
        logs = Path(env["SHUYUAN_VAR_DIR"])
        ports = [services.free_port(), services.free_port()]
        with web_server(ports[0], logs / "a.log"), web_server(ports[1], logs / "b.log"):
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            for url in urls:
                wait_http(url + "/login")
            result = asyncio.run(measure(urls[0], urls[1], args.rounds, args.tickets))
    print(
        json.dumps(
            {
                "benchmark": "board",
                "backend": args.backend,
                "machine": machine(),
                "open_tickets": args.tickets,
                **result,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
