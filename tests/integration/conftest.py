"""The HTTP client for integration tests: the app on the test's own loop, its lifespan in one task.

Overrides tests/conftest.py's `client`, which enters `app.lifespan()` directly in the fixture:
pytest-asyncio runs a fixture's setup and teardown in different tasks, and the lifespan holds an
anyio task group (Litestar's event emitter) that must exit in the task that entered it, so every
test errored at teardown with "Attempted to exit cancel scope in a different task than it was
entered in". Here one task enters the lifespan, waits, and exits it.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest


@contextlib.asynccontextmanager
async def running(app):
    """Hold the app's lifespan open in one task: its task group must exit where it entered."""
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
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as test_client:
            yield test_client
