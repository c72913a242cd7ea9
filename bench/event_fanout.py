"""Live-update latency across processes.

A write on web process A publishes an event; a browser-like WebSocket client connected to web
process B receives the re-rendered bell. Measures request start → message received:
  direct:  A's API marks a notification read → Redis → B's hub → /ws
  worker:  A's API posts an announcement → arq → worker → Redis → B's hub → /ws
python bench/event_fanout.py [--backend sqlite|postgres] [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path

import httpx
import websockets
from common import environment, machine, percentiles, process, services, wait_http, web_server


async def _login_cookie(base: str, username: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        page = await client.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        await client.post("/login", data={"_csrf_token": token, "username": username, "password": password})
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


async def _token(base: str, username: str, password: str) -> dict:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/api/v1/auth/token", json={"username": username, "password": password})
        return {"Authorization": f"Bearer {response.json()['token']}"}


async def _drain(socket, pattern: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        message = await asyncio.wait_for(socket.recv(), timeout=max(0.01, deadline - time.monotonic()))
        if pattern in message:
            return


async def measure(web_a: str, web_b: str, rounds: int) -> dict:
    from app.accounts.services import create_user

    await create_user(username="benchadmin", password="bench-pass-1", role="admin")
    headers = await _token(web_a, "benchadmin", "bench-pass-1")
    cookie = await _login_cookie(web_b, "benchadmin", "bench-pass-1")
    results: dict[str, list[float]] = {"direct": [], "worker": []}
    ws_url = web_b.replace("http", "ws") + "/ws"
    async with (
        websockets.connect(ws_url, additional_headers={"Cookie": cookie}) as socket,
        httpx.AsyncClient(base_url=web_a, headers=headers) as api,
    ):
        await _drain(socket, 'id="bell"')
        for i in range(rounds):
            started = time.perf_counter()
            await api.post("/api/v1/announcements", json={"title": f"bench {i}", "audience": "all"})
            await _drain(socket, f"bench {i}")
            results["worker"].append((time.perf_counter() - started) * 1000)

            listing = (await api.get("/api/v1/notifications", params={"unread": "true", "limit": 1})).json()
            started = time.perf_counter()
            await api.post(f"/api/v1/notifications/{listing['items'][0]['id']}/read")
            await _drain(socket, 'id="bell"')
            results["direct"].append((time.perf_counter() - started) * 1000)
    return {name: percentiles(samples) for name, samples in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with environment(args.backend) as env:
        from app.wiring import wire

        wire()
        logs = Path(env["SHUYUAN_VAR_DIR"])
        ports = [services.free_port(), services.free_port()]
        with (
            web_server(ports[0], logs / "a.log"),
            web_server(ports[1], logs / "b.log"),
            process([sys.executable, "-m", "arq", "tasks.worker.WorkerSettings"], logs / "worker.log"),
        ):
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            for url in urls:
                wait_http(url + "/login")
            result = asyncio.run(measure(urls[0], urls[1], args.rounds))
    print(
        json.dumps(
            {"benchmark": "event_fanout", "backend": args.backend, "machine": machine(), "latency_ms": result},
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
