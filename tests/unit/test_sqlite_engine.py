"""The pooled SQLite engine: concurrent writers queue instead of sleeping, reads see every commit,
and a failed statement never leaves a shared connection holding a lock."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.core.db import UnitOfWork, is_sqlite
from tables.accounts.tables import Campus

pytestmark = pytest.mark.skipif(not is_sqlite(), reason="SQLite engine only")


async def _add(n: int) -> None:
    async with UnitOfWork():
        await Campus.insert(Campus(name=f"校区{n}", code=f"C{n}"))
        await asyncio.sleep(0)  # give the others a chance to try to write meanwhile


async def test_many_concurrent_writers_all_commit_promptly():
    started = time.perf_counter()
    await asyncio.gather(*[_add(n) for n in range(40)])
    elapsed = time.perf_counter() - started
    assert await Campus.count() == 40
    # SQLite's busy handler sleeps up to 100 ms per retry; queueing in-process must not.
    assert elapsed < 5, elapsed


async def test_a_read_outside_a_transaction_sees_the_commit_just_made():
    for n in range(20):
        await _add(n)
        assert await Campus.count() == n + 1


async def test_a_failed_write_outside_a_transaction_leaves_no_lock_behind():
    await Campus.insert(Campus(name="东校区", code="E"))
    with pytest.raises(Exception):
        await Campus.insert(Campus(name="东校区", code="E"))  # unique violation on a shared connection
    await asyncio.wait_for(_add(1), timeout=5)  # would wait 30 s on a lock left behind
    assert await Campus.count() == 2


async def test_a_rolled_back_transaction_keeps_nothing_and_the_next_one_works():
    with pytest.raises(RuntimeError):
        async with UnitOfWork():
            await Campus.insert(Campus(name="西校区", code="W"))
            raise RuntimeError("changed my mind")
    assert await Campus.count() == 0
    await _add(2)
    assert [r["name"] for r in await Campus.select(Campus.name)] == ["校区2"]
