"""Ticket creation over HTTP: POST /api/v1/tickets against real uvicorn processes.

uvicorn with `--workers` processes (default 2, one per core) and the arq worker (as in production:
every unassigned new ticket enqueues an assignment job) on a throwaway database and Redis;
`--concurrency` clients (httpx.AsyncClient, one event loop) post tickets with a bearer token for `--seconds`. Reports tickets/s and the
latency of each request (p50/p95/max), then checks that every 201 left exactly one ticket with
its own number. Target (issue #3): >= 200 tickets/s on a 2-core machine.
python bench/ticket_create.py [--backend sqlite|postgres] [--seconds 15] [--concurrency 20] [--profile FILE]
With --profile, py-spy (pip install py-spy) samples the server while it is measured and writes
collapsed stacks to FILE (one "frame;frame;... count" line per stack, for flamegraph tools).

python bench/ticket_create.py --in-process 500 [--cprofile FILE] [--top 30]
The same POSTs through the ASGI app in this process (httpx.ASGITransport, one at a time): CPU
milliseconds of this process per ticket, which other work on a shared machine barely moves (the
HTTP rate does). With --cprofile, cProfile runs over the measured requests; the top functions are
printed as ms of CPU per ticket (cumulative and own) and the raw stats saved to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from common import arq_worker, environment, machine, percentiles, process_tree, services, wait_http, web_server

USER, PASSWORD = "benchdesk", "bench-pass-1"


async def _prepare(base: str) -> dict:
    from app.accounts.services import create_user
    from app.tickets.types.defaults import ensure_default_types

    await ensure_default_types()
    await create_user(username=USER, password=PASSWORD, role="customer_service")
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/api/v1/auth/token", json={"username": USER, "password": PASSWORD})
        return {"Authorization": f"Bearer {response.json()['token']}"}


def _body(n: int) -> dict:
    return {
        "type": "repair",
        "title": f"压测报修 {n}",
        "description": "投影仪不亮，已重启无效。",
        "priority": "normal",
        "fields": {"location": f"{n % 9 + 1} 楼 30{n % 7}", "equipment": "投影仪"},
        "tags": ["压测"],
    }


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


class RawClient:
    """A keep-alive HTTP/1.1 connection that sends prepared POSTs and reads Content-Length replies.

    httpx spends about 2.5 ms of CPU per request on this machine, a quarter of a core at 100
    requests/s taken from the two cores the server also runs on; a load generator such as wrk
    would spend a tenth of that. This is the same idea in a few lines of asyncio (`--client raw`).
    """

    def __init__(self, base: str, headers: dict) -> None:
        url = httpx.URL(base)
        self.host, self.port = url.host, url.port or 80
        self.head = "".join(
            f"{k}: {v}\r\n"
            for k, v in {**headers, "Host": f"{self.host}:{self.port}", "Content-Type": "application/json"}.items()
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = json.dumps(body, ensure_ascii=False).encode()
        self.writer.write(
            f"POST {path} HTTP/1.1\r\n{self.head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" not in fields:
            raise RuntimeError(f"reply without Content-Length: {lines[:5]}")
        return status, await self.reader.readexactly(int(fields["content-length"]))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def _raw_loop(client: RawClient, deadline: float, counter: list, latencies: list, failures: list):
    try:
        while time.perf_counter() < deadline:
            counter[0] += 1
            started = time.perf_counter()
            status, body = await client.post("/api/v1/tickets", _body(counter[0]))
            elapsed = (time.perf_counter() - started) * 1000
            if status == 201:
                latencies.append(elapsed)
            else:
                failures.append(f"{status} {body[:200]!r}")
    finally:
        await client.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far (Linux /proc): the server is uvicorn's
    supervisor and its worker processes."""
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _profiler(pid: int, seconds: float, out: str | None) -> subprocess.Popen | None:
    if not out:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            out,
            "--nonblocking",
        ]
    )


async def measure(
    base: str,
    seconds: float,
    concurrency: int,
    server_pid: int,
    profile: str | None,
    worker_pid: int | None = None,
    raw: bool = True,
) -> dict:
    headers = await _prepare(base)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        for n in range(20):  # warm-up: imports, caches, the first connections
            await client.post("/api/v1/tickets", json=_body(-n))
        counter, latencies, failures = [0], [], []
        profiler = _profiler(server_pid, seconds, profile)
        server_cpu, client_cpu = _cpu_seconds(server_pid), _own_cpu_seconds()
        worker_cpu = _cpu_seconds(worker_pid) if worker_pid else 0.0
        started = time.perf_counter()
        deadline = started + seconds
        if raw:
            await asyncio.gather(
                *[
                    _raw_loop(RawClient(base, headers), deadline, counter, latencies, failures)
                    for _ in range(concurrency)
                ]
            )
        else:
            await asyncio.gather(
                *[_client_loop(client, deadline, counter, latencies, failures) for _ in range(concurrency)]
            )
        wall = time.perf_counter() - started
        server_cpu, client_cpu = _cpu_seconds(server_pid) - server_cpu, _own_cpu_seconds() - client_cpu
        worker_cpu = (_cpu_seconds(worker_pid) - worker_cpu) if worker_pid else 0.0
    if profiler:
        profiler.wait(timeout=60)
    return {
        "created": len(latencies),
        "failed": len(failures),
        "first_failures": failures[:3],
        "seconds": round(wall, 2),
        "tickets_per_s": round(len(latencies) / wall, 1),
        # Share of one core used during the run (web processes together; the arq worker; this client).
        "server_cpu_share": round(server_cpu / wall, 2),
        "client_cpu_share": round(client_cpu / wall, 2),
        "worker_cpu_share": round(worker_cpu / wall, 2),
        "server_cpu_ms_per_ticket": round(server_cpu * 1000 / max(len(latencies), 1), 2),
        "latency_ms": percentiles(latencies) if len(latencies) > 1 else {},
    }


async def check_integrity(expected: int) -> dict:
    """Every 201 is one stored ticket, numbers gap-free and unique (the warm-up's 20 included)."""
    from tables.tickets.tables import Ticket

    rows = await Ticket.select(Ticket.number)
    numbers = sorted(int(r["number"].rsplit("-", 1)[1]) for r in rows)
    return {"stored": len(rows), "expected": expected + 20, "unique_gap_free": numbers == list(range(1, len(rows) + 1))}


async def measure_in_process(count: int, cprofile: str | None, top: int) -> dict:
    """POST `count` tickets through the app in this process; CPU ms per ticket (all threads)."""
    import cProfile
    import logging
    import pstats

    from app.asgi import create_app

    app = create_app()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the client's own request log is not the server's cost
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:
            headers = await _prepare_in_process(client)
            for n in range(20):  # warm-up: imports, compiled queries, caches
                await client.post("/api/v1/tickets", json=_body(-n), headers=headers)
            profiler = cProfile.Profile() if cprofile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for n in range(count):
                response = await client.post("/api/v1/tickets", json=_body(n), headers=headers)
                assert response.status_code == 201, response.text
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    result = {
        "tickets": count,
        "cpu_ms_per_ticket": round(cpu * 1000 / count, 2),
        "wall_ms_per_ticket": round(wall * 1000 / count, 2),
        "profiled": bool(profiler),
    }
    if profiler:
        profiler.dump_stats(cprofile)
        stats = pstats.Stats(profiler)
        rows = []
        for (path, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():
            rows.append((cumulative, own, calls, f"{Path(path).name}:{line}({name})"))
        for key, index in (("top_cumulative", 0), ("top_own", 1)):
            ordered = sorted(rows, key=lambda r: r[index], reverse=True)[:top]
            result[key] = [
                f"{r[0] * 1000 / count:7.2f} cum {r[1] * 1000 / count:6.2f} own {r[2] / count:6.1f}x {r[3]}"
                for r in ordered
            ]
    return result


async def _prepare_in_process(client: httpx.AsyncClient) -> dict:
    from app.accounts.services import create_user
    from app.tickets.types.defaults import ensure_default_types

    await ensure_default_types()
    await create_user(username=USER, password=PASSWORD, role="customer_service")
    response = await client.post("/api/v1/auth/token", json={"username": USER, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _use_wal(path: str) -> None:
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (one per core)")
    parser.add_argument(
        "--client",
        default="raw",
        choices=["raw", "httpx"],
        help="load generator: raw keep-alive HTTP/1.1 (light) or httpx.AsyncClient",
    )
    parser.add_argument("--no-arq", action="store_true", help="without the arq worker (assignment jobs then wait)")
    parser.add_argument("--profile", default=None, help="write py-spy collapsed stacks of the server here")
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        metavar="N",
        help="POST N tickets through the ASGI app in this process; report CPU ms per ticket",
    )
    parser.add_argument("--cprofile", default=None, help="with --in-process: cProfile the requests, stats to FILE")
    parser.add_argument("--top", type=int, default=30, help="with --cprofile: how many functions to list")
    parser.add_argument(
        "--sqlite-wal",
        action="store_true",
        help="switch the SQLite file to WAL first (what-if: the app ships the rollback journal)",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]  # other work on the machine skews the figures
    if args.in_process:
        with environment(args.backend):
            from app.wiring import wire

            wire()
            result = asyncio.run(measure_in_process(args.in_process, args.cprofile, args.top))
            result["integrity"] = asyncio.run(check_integrity(result["tickets"]))
        print(
            json.dumps(
                {
                    "benchmark": "ticket_create_in_process",
                    "backend": args.backend,
                    "machine": machine(),
                    "load_average_before": round(load_before, 2),
                    **result,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    with environment(args.backend) as env:
        if args.sqlite_wal and args.backend == "sqlite":
            _use_wal(env["DATABASE_URL"].removeprefix("sqlite:///"))
        port = services.free_port()
        var = Path(env["SHUYUAN_VAR_DIR"])
        with contextlib.ExitStack() as stack:
            worker = None if args.no_arq else stack.enter_context(arq_worker(var / "worker.log"))
            server = stack.enter_context(web_server(port, var / "web.log", workers=args.workers))
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/login")
            result = asyncio.run(
                measure(
                    base,
                    args.seconds,
                    args.concurrency,
                    server.pid,
                    args.profile,
                    worker.pid if worker else None,
                    raw=args.client == "raw",
                )
            )
        result["integrity"] = asyncio.run(check_integrity(result["created"]))
    print(
        json.dumps(
            {
                "benchmark": "ticket_create",
                "backend": args.backend,
                "machine": machine(),
                "sqlite_journal": ("wal" if args.sqlite_wal else "delete") if args.backend == "sqlite" else None,
                "load_average_before": round(load_before, 2),
                "concurrency": args.concurrency,
                "web_processes": args.workers,
                "arq_worker": not args.no_arq,
                "client": args.client,
                "target_tickets_per_s": 200,
                **result,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
