"""UnitOfWork: reactions run inside the write's transaction; after-commit callbacks only on commit."""

from __future__ import annotations

import pytest

from app.core import db
from app.core.db import UnitOfWork
from app.core.events import Event
from tables.accounts.tables import Campus


@pytest.fixture
def reactions(monkeypatch):
    registered: list = []
    monkeypatch.setattr(db, "_reactions", registered)
    return registered


async def test_a_reaction_writes_in_the_same_transaction_and_sees_only_matching_events(reactions):
    seen = []

    @db.reacts_to("test.campus.")
    async def add_branch(uow, event):
        seen.append(event.payload["name"])
        await Campus.insert(Campus(name=f"{event.payload['name']} 分校", code=f"E{len(seen) + 1}"))
        # Emitted by a reaction: reacted to once more (one round), what that round emits no more.
        uow.emit(Event("test.campus.created", {"name": f"{event.payload['name']} 分校"}))

    async with UnitOfWork() as uow:
        await Campus.insert(Campus(name="东校区", code="E1"))
        uow.emit(Event("test.campus.created", {"name": "东校区"}))
        uow.emit(Event("test.other", {}))
    assert seen == ["东校区", "东校区 分校"]
    assert sorted(r["name"] for r in await Campus.select(Campus.name)) == ["东校区", "东校区 分校", "东校区 分校 分校"]
    assert [e.name for e in uow.events] == [
        "test.campus.created",
        "test.other",
        "test.campus.created",
        "test.campus.created",
    ]


async def test_a_failing_reaction_rolls_the_whole_write_back_and_skips_after_commit(reactions):
    called = []

    @db.reacts_to("test.")
    async def refuse(uow, event):
        raise RuntimeError("the derived state cannot be kept")

    with pytest.raises(RuntimeError):
        async with UnitOfWork() as uow:
            await Campus.insert(Campus(name="西校区", code="W1"))
            uow.emit(Event("test.campus.created", {}))
            uow.after_commit(lambda: _record(called))
    assert await Campus.count() == 0
    assert called == []


async def test_after_commit_runs_once_committed_and_a_failure_there_keeps_the_write(reactions):
    called = []

    async def broken():
        raise ConnectionError("redis is down")

    async with UnitOfWork() as uow:
        await Campus.insert(Campus(name="南校区", code="S1"))
        uow.after_commit(broken)
        uow.after_commit(lambda: _record(called))
    assert called == ["done"]
    assert await Campus.count() == 1


async def _record(called: list) -> None:
    called.append("done")
