"""Helpers shared by tests: wiping state, building users and teams, logging in, counting SQL
statements, running the arq worker (in process, or as real processes beside web servers)."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from piccolo.engine.postgres import PostgresEngine

from app.accounts.services import create_user, issue_api_token, load_user
from app.core.permissions import CurrentUser
from app.core.redis import get_redis
from piccolo_conf import APP_REGISTRY, DB
from tables.accounts.tables import Campus, Team

_counter = itertools.count(1)
PASSWORD = "test-pass-123"
ROOT = Path(__file__).resolve().parent.parent
# The worker as production starts it (scripts/run.sh, the Dockerfile): the same settings class.
WORKER_COMMAND = [sys.executable, "-m", "arq", "tasks.worker.WorkerSettings"]


def all_tables():
    return [t for app in APP_REGISTRY.app_configs.values() for t in app.table_classes]


async def wipe() -> None:
    names = [t._meta.tablename for t in all_tables()]
    if isinstance(DB, PostgresEngine):
        await DB.run_ddl(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    else:
        # One transaction with foreign keys checked at commit, when every table is empty:
        # rows that reference each other (a team's leader, a user's team) need no ordering.
        async with DB.transaction():
            await DB.run_ddl("PRAGMA defer_foreign_keys = ON")
            for name in names:
                await DB.run_ddl(f"DELETE FROM {name}")
    await get_redis().flushdb()
    from app.automation.reactions import forget_cached_rules

    forget_cached_rules()  # the rules a previous test cached are gone with its tables


async def make_campus(name: str | None = None) -> int:
    n = next(_counter)
    rows = await Campus.insert(Campus(name=name or f"校区{n}", code=f"C{n}")).returning(Campus.id)
    return rows[0]["id"]


async def make_team(
    name: str = "", *, leader: int | None = None, parent: int | None = None, campus: int | None = None
) -> int:
    rows = await Team.insert(
        Team(name=name or f"team-{next(_counter)}", leader=leader, parent=parent, campus=campus)
    ).returning(Team.id)
    return rows[0]["id"]


async def set_leader(team_id: int, user_id: int) -> None:
    await Team.update({Team.leader: user_id}).where(Team.id == team_id)


async def make_user(
    role: str = "advisor",
    *,
    username: str | None = None,
    team: int | None = None,
    campus: int | None = None,
    display_name: str = "",
) -> CurrentUser:
    username = username or f"{role}{next(_counter)}"
    user_id = await create_user(
        username=username,
        password=PASSWORD,
        role=role,
        team_id=team,
        campus_id=campus,
        display_name=display_name or username,
    )
    return await load_user(user_id)


async def token_for(user: CurrentUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {await issue_api_token(user, 'test')}"}


def csrf_headers(client) -> dict[str, str]:
    token = client.cookies.get("csrftoken")
    return {"x-csrftoken": token} if token else {}


async def login(client, user: CurrentUser | str, password: str = PASSWORD):
    """Log in through the real form (CSRF included); returns the response of the POST."""
    username = user if isinstance(user, str) else user.username
    page = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    return await client.post(
        "/login",
        data={"_csrf_token": token, "username": username, "password": password},
        follow_redirects=False,
    )


async def post_form(client, url: str, data: dict, **kwargs):
    """POST a form the way a logged-in browser does: with the CSRF token from the cookie."""
    return await client.post(
        url, data=data, headers={**csrf_headers(client), **kwargs.pop("headers", {})}, follow_redirects=False, **kwargs
    )


def repair(title: str = "302 教室投影仪不亮", **kwargs):
    """A valid equipment-repair draft (one of the six default types); override any Draft field."""
    from app.tickets.services import Draft

    return Draft(
        **{"type": "repair", "title": title, "fields": {"location": "3 楼 302", "equipment": "投影仪"}, **kwargs}
    )


async def browser_log_in(browser, base: str, username: str, width: int = 1440, height: int = 900):
    """A new browser context logged in through the real form; returns the page, on the workbench."""
    context = await browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.fill("#f-username", username)
    await page.fill("#f-password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/workbench")  # the pending-tickets workbench is home
    return page


async def keep_screenshot(page, name: str) -> None:
    """A full-page screenshot `<name>.png` in the folder SHUYUAN_SCREENSHOTS names (browser tests); none without it."""
    folder = os.environ.get("SHUYUAN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def run_worker_burst(**options):
    """A real arq worker with the app's jobs, in burst mode: it runs what is queued and returns.
    `options` go to arq's Worker (e.g. ctx=..., cron_jobs=[...]).  Built from the same
    WorkerSettings as `arq tasks.worker.WorkerSettings`, but without its crons (a test passes the
    ones it means to run) and without its shutdown hook (the test process keeps its Redis client
    and database pool)."""
    from arq.worker import Worker

    from app.core.jobs import arq_redis_settings
    from tasks.worker import WorkerSettings

    worker = Worker(
        functions=WorkerSettings.functions,
        redis_settings=arq_redis_settings(),
        burst=True,
        poll_delay=0.05,
        on_startup=WorkerSettings.on_startup,
        handle_signals=False,
        **options,
    )
    await worker.main()
    await worker.close()
    return worker


# --- SQL statements -------------------------------------------------------------------------


@contextmanager
def count_queries(monkeypatch) -> Iterator[list[str]]:
    """The SQL statements our Piccolo engine runs inside the block, in order (queries and DDL).

    It is the engine's own query log, sent to a list.  The engine uses __slots__, so the log
    method is replaced on its class, for the block only.  Tests take it as the `count_queries`
    fixture: `with count_queries() as statements: ...; len(statements)`."""
    from piccolo_conf import DB

    statements: list[str] = []
    with monkeypatch.context() as patch:
        patch.setattr(DB, "log_queries", True)
        patch.setattr(type(DB), "print_query", lambda _engine, query_id, query: statements.append(query))
        yield statements


# --- real processes -------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (scripts/services.py)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import services

    return services.free_port()


def web_command(port: int) -> list[str]:
    """A uvicorn web server for the app on 127.0.0.1:`port`."""
    return [
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
    ]


@contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen]:
    """A child process run from the repository root with the test environment (the test Redis and
    database), its output in `log`; terminated (killed after 10 s) when the block ends."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def worker_processes(count: int, logs: Path) -> Iterator[list[Path]]:
    """`count` arq worker processes (WORKER_COMMAND); yields their log files, worker-<n>.log."""
    paths = [logs / f"worker-{n}.log" for n in range(count)]
    with ExitStack() as stack:
        for path in paths:
            stack.enter_context(process(WORKER_COMMAND, path))
        yield paths


def wait_http(url: str, timeout: float = 30) -> None:
    """Wait until `url` answers (any 2xx/3xx) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:  # noqa: BLE001 - not up yet (or 503 while the worker warms up)
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")
