"""`make run`'s script on a fresh machine state: an empty var/ directory, no database, the embedded SQLite
default. It migrates, loads the demo school, starts the worker and the web server, and the demo admin
can use the API; SIGTERM stops what it started. (Redis is the tests' own, as REDIS_URL.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.core.db import is_sqlite
from app.demo import data
from scripts.services import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not is_sqlite(), reason="the embedded default is SQLite; once is enough")


def _wait_ready(base: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"run.sh exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail("run.sh did not serve /login in time:\n" + log.read_text()[-3000:])


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the script's own session (run.sh, the worker, uvicorn), then SIGKILL to whatever of it
    is left, even when run.sh itself has already exited."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_run_sh_sets_up_an_empty_var_dir_and_serves_the_demo(tmp_path):
    port, log = free_port(), tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SHUYUAN_TEST_READY")}
    # A Redis database of its own: the tests' clean-up empties database 0 only.
    env.update(
        SHUYUAN_VAR_DIR=str(tmp_path / "var"),
        PORT=str(port),
        HOST="127.0.0.1",
        REDIS_URL=os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/7",
        PYTHON=sys.executable,
    )
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, process, log)
        assert (tmp_path / "var" / "shuyuan.sqlite3").exists()
        token = httpx.post(base + "/api/v1/auth/token", json={"username": "admin", "password": data.ADMIN_PASSWORD})
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        tickets = httpx.get(base + "/api/v1/tickets", headers=headers)
        assert tickets.status_code == 200 and tickets.json()["total"] > 0
        created = httpx.post(
            base + "/api/v1/tickets",
            headers=headers,
            json={
                "type": "repair",
                "title": "run.sh 冒烟测试",
                "description": "投影仪不亮",
                "priority": "normal",
                "fields": {"location": "3 楼 301", "equipment": "投影仪"},
            },
        )
        assert created.status_code == 201, created.text
        assert httpx.get(base + "/healthz").status_code == 200
    finally:
        _stop_group(process)
    assert "Shuyuan is running at" in log.read_text()
