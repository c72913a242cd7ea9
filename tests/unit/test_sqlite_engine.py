"""The pooled SQLite engine: concurrent writers queue instead of sleeping, reads see every commit,
and a failed statement never leaves a shared connection holding a lock."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from app.core.db import UnitOfWork, is_sqlite
from tables.accounts.tables import Campus

pytestmark = pytest.mark.skipif(not is_sqlite(), reason="SQLite engine only")


async def _add(n: int) -> None:
    async with UnitOfWork():
        await Campus.insert(Campus(name=f"校区{n}", code=f"C{n}"))
        await asyncio.sleep(0)  # give the others a chance to try to write meanwhile


async def test_a_write_transaction_on_a_fresh_connection_commits():
    """The first thing a new process does may be a write (`python -m app seed-demo` is): the connection's
    opening PRAGMAs must not leave a statement running that the inline COMMIT would trip over."""
    from app.core.db import engine

    db = engine()
    await db.close_pool()  # no connection left: the next transaction opens one, PRAGMAs and all
    db._wal = False  # as in a new process, which sets the journal mode on its first connection
    await _add(1)
    assert [r["name"] for r in await Campus.select(Campus.name)] == ["校区1"]


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
    with pytest.raises(sqlite3.IntegrityError):
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


async def test_a_writer_waits_for_another_process_by_polling_and_keeps_the_loop_free():
    """SQLite's busy handler sleeps in growing steps (a writer freed at 340 ms would wake at 428);
    polling from the event loop starts within a few milliseconds of the other process's commit."""
    import subprocess
    import sys

    from piccolo_conf import DB

    hold = 0.34
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({DB.path!r}, isolation_level=None)\nc.execute('BEGIN IMMEDIATE')\n"
            f"print('locked', flush=True)\ntime.sleep({hold})\nc.execute('COMMIT')\nprint('free', flush=True)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout.readline().strip() == "locked"
    locked_at = time.perf_counter()
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await _add(1)
    waited = time.perf_counter() - locked_at
    ticker.cancel()
    other.wait(timeout=5)
    assert hold - 0.02 < waited < hold + 0.06, waited  # it did wait, and not for the busy handler's next step
    assert ticks >= 20  # the event loop went on serving others meanwhile
    assert await Campus.count() == 1
