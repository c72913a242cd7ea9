"""Ticket creation over HTTP: POST /api/v1/tickets against a real uvicorn process.

One uvicorn process on a throwaway database and Redis; `--concurrency` clients (httpx.AsyncClient,
one event loop) post tickets with a bearer token for `--seconds`. Reports tickets/s and the
latency of each request (p50/p95/max), then checks that every 201 left exactly one ticket with
its own number. Target (issue #3): >= 200 tickets/s on a 2-core machine.
python bench/ticket_create.py [--backend sqlite|postgres] [--seconds 15] [--concurrency 20] [--profile FILE]
With --profile, py-spy (pip install py-spy) samples the server while it is measured and writes
collapsed stacks to FILE (one "frame;frame;... count" line per stack, for flamegraph tools).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from common import environment, machine, percentiles, services, wait_http, web_server

USER, PASSWORD = "benchdesk", "bench-pass-1"


async def _prepare(base: str) -> dict:
    from app.accounts.services import create_user
    from app.tickets.defaults import ensure_default_types

    await ensure_default_types()
    await create_user(username=USER, password=PASSWORD, role="customer_service")
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/api/v1/auth/token", json={"username": USER, "password": PASSWORD})
        return {"Authorization": f"Bearer {response.json()['token']}"}


def _body(n: int) -> dict:
    return {"type": "repair", "title": f"压测报修 {n}", "description": "投影仪不亮，已重启无效。", "priority": "normal",
            "fields": {"location": f"{n % 9 + 1} 楼 30{n % 7}", "equipment": "投影仪"}, "tags": ["压测"]}  # fmt: skip


async def _client_loop(client: httpx.AsyncClient, deadline: float, counter: list, latencies: list, failures: list):
    while time.perf_counter() < deadline:
        counter[0] += 1
        started = time.perf_counter()
        response = await client.post("/api/v1/tickets", json=_body(counter[0]))
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code == 201:
            latencies.append(elapsed)
        else:
            failures.append(f"{response.status_code} {response.text[:200]}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), to see whether the server is CPU-bound."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _profiler(pid: int, seconds: float, out: str | None) -> subprocess.Popen | None:
    if not out:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250",
                             "--format", "raw", "--output", out, "--nonblocking"])  # fmt: skip


async def measure(base: str, seconds: float, concurrency: int, server_pid: int, profile: str | None) -> dict:
    headers = await _prepare(base)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        for n in range(20):  # warm-up: imports, caches, the first connections
            await client.post("/api/v1/tickets", json=_body(-n))
        counter, latencies, failures = [0], [], []
        profiler = _profiler(server_pid, seconds, profile)
        server_cpu, client_cpu = _cpu_seconds(server_pid), _own_cpu_seconds()
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(
            *[_client_loop(client, deadline, counter, latencies, failures) for _ in range(concurrency)]
        )
        wall = time.perf_counter() - started
        server_cpu, client_cpu = _cpu_seconds(server_pid) - server_cpu, _own_cpu_seconds() - client_cpu
    if profiler:
        profiler.wait(timeout=60)
    return {"created": len(latencies), "failed": len(failures), "first_failures": failures[:3],
            "seconds": round(wall, 2), "tickets_per_s": round(len(latencies) / wall, 1),
            # Share of one core used during the run; the server is one process with one event loop.
            "server_cpu_share": round(server_cpu / wall, 2), "client_cpu_share": round(client_cpu / wall, 2),
            "latency_ms": percentiles(latencies) if len(latencies) > 1 else {}}  # fmt: skip


async def check_integrity(expected: int) -> dict:
    """Every 201 is one stored ticket, numbers gap-free and unique (the warm-up's 20 included)."""
    from tables.tickets.tables import Ticket

    rows = await Ticket.select(Ticket.number)
    numbers = sorted(int(r["number"].rsplit("-", 1)[1]) for r in rows)
    return {"stored": len(rows), "expected": expected + 20, "unique_gap_free": numbers == list(range(1, len(rows) + 1))}


def _use_wal(path: str) -> None:
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--profile", default=None, help="write py-spy collapsed stacks of the server here")
    parser.add_argument(
        "--sqlite-wal",
        action="store_true",
        help="switch the SQLite file to WAL first (what-if: the app ships the rollback journal)",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]  # other work on the machine skews the figures
    with environment(args.backend) as env:
        if args.sqlite_wal and args.backend == "sqlite":
            _use_wal(env["DATABASE_URL"].removeprefix("sqlite:///"))
        port = services.free_port()
        with web_server(port, Path(env["SHUYUAN_VAR_DIR"]) / "web.log") as server:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/login")
            result = asyncio.run(measure(base, args.seconds, args.concurrency, server.pid, args.profile))
        result["integrity"] = asyncio.run(check_integrity(result["created"]))
    print(json.dumps({"benchmark": "ticket_create", "backend": args.backend, "machine": machine(),
                      "sqlite_journal": ("wal" if args.sqlite_wal else "delete") if args.backend == "sqlite" else None,
                      "load_average_before": round(load_before, 2), "concurrency": args.concurrency,
                      "target_tickets_per_s": 200, **result},
                     ensure_ascii=False, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
