"""Real processes for browser tests: N uvicorn web servers and one arq worker, same DB and Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    sys.path.insert(0, str(ROOT / "scripts"))
    import services

    return services.free_port()


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:  # noqa: BLE001 - not up yet (or 503 while the worker warms up)
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextmanager
def _process(args: list[str], log: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def servers(tmp_path):
    """Two web processes and one worker; yields the two base URLs."""
    ports = [_free_port(), _free_port()]
    web = [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1", "--log-level", "warning"]
    with (
        _process([*web, "--port", str(ports[0])], tmp_path / "web-a.log"),
        _process([*web, "--port", str(ports[1])], tmp_path / "web-b.log"),
        _process([sys.executable, "-m", "arq", "tasks.worker.WorkerSettings"], tmp_path / "worker.log"),
    ):
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        try:
            for url in urls:
                _wait_http(url + "/login")
        except RuntimeError as exc:
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("*.log")))
            raise RuntimeError(f"{exc}\n{logs}") from None
        yield urls


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()
