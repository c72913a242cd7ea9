"""Transactions: one unit of work per state change, with its events published after commit."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from app.core.events import Event, publish


def engine():
    from piccolo_conf import DB

    return DB


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


def transaction():
    db = engine()
    if isinstance(db, SQLiteEngine):
        # IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
        # instead of deadlocking when both try to upgrade a read lock.
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


class UnitOfWork:
    """`async with UnitOfWork() as uow: ...; uow.emit(Event(...))`.

    Writes inside the block share one transaction; emitted events are published only if it commits.
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._tx: Any = None

    def emit(self, event: Event) -> None:
        self.events.append(event)

    async def __aenter__(self) -> "UnitOfWork":
        self._tx = transaction()
        await self._tx.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        await self._tx.__aexit__(exc_type, exc, tb)
        if exc_type is None:
            await publish(*self.events)
        return False


async def ping_database() -> None:
    await engine().run_ddl("SELECT 1")
