"""Test fixtures: a real Redis and a real database (SQLite or PostgreSQL) per test session.

SHUYUAN_TEST_DB=sqlite|postgres picks the database. The services start in pytest_configure,
before any test module imports the app, because settings are read once per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import services as devservices  # noqa: E402  (scripts/services.py)

_started: list = []


def _backend() -> str:
    return os.environ.get("SHUYUAN_TEST_DB", "sqlite")


def _owner() -> str:
    """Who sets up the services in this process: "main", or the pytest-xdist worker's id."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def pytest_configure(config: pytest.Config) -> None:
    # SHUYUAN_TEST_READY names whoever started the services: an xdist worker inherits the
    # controller's environment but must start its own Redis and database (tests wipe them).
    if os.environ.get("SHUYUAN_TEST_READY") in ("1", _owner()):
        return
    if getattr(config.option, "numprocesses", None) and _owner() == "main":
        return  # the pytest-xdist controller runs no tests: each worker sets up for itself
    base = Path(tempfile.mkdtemp(prefix="shuyuan-test-", dir=os.environ.get("SHUYUAN_TEST_TMP")))
    redis = devservices.start_redis(base / "redis")
    _started.append(redis)
    env = {
        "SHUYUAN_VAR_DIR": str(base / "var"),
        "REDIS_URL": redis.url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SHUYUAN_TEST_READY": _owner(),
    }
    if _backend() == "postgres":
        pg = devservices.start_postgres(base / "pg")
        _started.append(pg)
        env["DATABASE_URL"] = pg.url
    else:
        env["DATABASE_URL"] = f"sqlite:///{base / 'var' / 'test.sqlite3'}"
    os.environ.update(env)
    (base / "var").mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError("migrations failed:\n" + result.stdout[-3000:] + result.stderr[-3000:])
    config._shuyuan_base = base  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    for service in reversed(_started):
        service.stop()
    base = getattr(config, "_shuyuan_base", None)
    if base:
        shutil.rmtree(base, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> str:
    return f"shuyuan database: {_backend()}"


@pytest.fixture(autouse=True)
async def clean_state():
    from app.wiring import wire

    wire()  # as create_app and the worker do: the core's hooks and the reactions
    """Every test starts from empty tables and an empty Redis."""
    from tests.support import wipe

    await wipe()
    yield


@pytest.fixture
async def app():
    from app.asgi import create_app

    return create_app()


@contextlib.asynccontextmanager
async def running(app):
    """Hold the app's lifespan open in one task: pytest-asyncio runs a fixture's setup and teardown
    in different tasks, and the lifespan's anyio task group must exit in the task that entered it."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(serve())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():  # startup failed: raise its error here
        waiter.cancel()
        task.result()
    try:
        yield
    finally:
        stop.set()
        await task


@pytest.fixture
async def client(app):
    """HTTP client on the test's own event loop (Litestar's test client runs the app on another
    loop, which would strand the process-wide Redis client); the app's lifespan runs too."""
    import httpx

    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as test_client:
            yield test_client


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Real argon2 at a test-sized cost: at production cost each user or login takes ~0.2 s here."""
    from argon2 import PasswordHasher

    from app.accounts import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def make_user():
    from tests.support import make_user as factory

    return factory


@pytest.fixture
def login():
    from tests.support import login as do_login

    return do_login


@pytest.fixture
def count_queries(monkeypatch):
    """`with count_queries() as statements:` lists the SQL statements run inside the block."""
    from tests.support import count_queries as counter

    return lambda: counter(monkeypatch)
