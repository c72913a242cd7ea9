"""Shared set-up for benchmarks: throwaway Redis + database, migrated, and app processes."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import services  # noqa: E402


@contextlib.contextmanager
def environment(backend: str = "sqlite"):
    """Start Redis (and PostgreSQL), point the settings at them, migrate; yields the env dict."""
    base = Path(tempfile.mkdtemp(prefix="shuyuan-bench-"))
    started = [services.start_redis(base / "redis")]
    env = {
        "SHUYUAN_VAR_DIR": str(base / "var"),
        "REDIS_URL": started[0].url,
        "SECRET_KEY": "bench-secret",
        "PYTHONPATH": str(ROOT),
    }
    if backend == "postgres":
        started.append(services.start_postgres(base / "pg"))
        env["DATABASE_URL"] = started[-1].url
        sockets = sorted((base / "pg").rglob(f".s.PGSQL.{started[-1].port}"))
        if sockets and os.environ.get("BENCH_PG_TCP") != "1":  # as PostgreSQL on the same host is reached
            env["DATABASE_URL"] = f"postgres://postgres@:{started[-1].port}/shuyuan?host={sockets[0].parent}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{base / 'var' / 'bench.sqlite3'}"
    (base / "var").mkdir()
    os.environ.update(env)
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env={**os.environ, "QUIET": "1"}, check=True)
    try:
        yield env
    finally:
        for service in reversed(started):
            service.stop()
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def process(args: list[str], log: Path):
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=os.environ.copy(), stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def web_server(port: int, log: Path, workers: int = 1):
    """uvicorn on `port`; with workers > 1 its supervisor forks that many processes sharing the socket."""
    extra = ["--workers", str(workers)] if workers > 1 else []
    return process(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            *extra,
        ],
        log,
    )


def arq_worker(log: Path):
    """The arq worker as production runs it (scripts/run.sh)."""
    return process([sys.executable, "-m", "arq", "tasks.worker.WorkerSettings"], log)


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux /proc), e.g. uvicorn's supervisor and its workers."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return found


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:  # noqa: BLE001
            time.sleep(0.1)
    raise RuntimeError(f"{url} not up")


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"n": len(ordered), "p50": round(q[49], 2), "p95": round(q[94], 2), "max": round(ordered[-1], 2)}


def machine() -> str:
    return f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · {date.today()}"
