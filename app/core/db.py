"""Transactions: one unit of work per state change, with its events published after commit."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from app.core.events import Event
from app.core.jobs import dispatch

log = logging.getLogger(__name__)


Reaction = Callable[["UnitOfWork", Event], Awaitable[None]]
_reactions: list[tuple[str, Reaction]] = []
_wired = False


def reacts_to(prefix: str) -> Callable[[Reaction], Reaction]:
    """Register `async def fn(uow, event)` to run inside the transaction of every write that emits an
    event whose name starts with `prefix` (e.g. "ticket."), just before it commits.

    This is how another domain keeps derived state (SLA clocks, approvals) exactly in step with
    every write path without the writer knowing it: the reaction's own writes share the
    transaction, and an exception in it rolls the whole write back.
    """

    def register(fn: Reaction) -> Reaction:
        _reactions.append((prefix, fn))
        return fn

    return register


def mark_reactions_registered() -> None:
    """Called by app/wiring.py once every domain's reactions are imported (registered)."""
    global _wired
    _wired = True


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
        self._after_commit: list[Callable[[], Awaitable[Any]]] = []
        self._jobs: list[tuple[str, tuple, str | None, int]] = []
        self._before_commit: list[Callable[[], Awaitable[Any]]] = []
        self._tx: Any = None

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def before_commit(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Run `await callback()` last inside the transaction, after the reactions, in the order
        registered; an exception rolls the whole write back. For work that takes a lock other
        writers wait on (a gap-free number): done last, the lock is held only until the commit."""
        self._before_commit.append(callback)

    def after_commit(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Run `await callback()` once the transaction has committed (e.g. enqueue an arq job).

        Failures are logged, not raised: the write stands. Anything that must not be lost needs a
        database row written in the transaction (an outbox), with this only as the fast path.
        """
        self._after_commit.append(callback)

    def enqueue(self, function: str, *args: Any, job_id: str | None = None, coalesce_ms: int = 0) -> None:
        """Enqueue an arq job after commit, so the worker never sees rows that are not there yet
        (`coalesce_ms`: see app.core.jobs.enqueue)."""
        self._jobs.append((function, args, job_id, coalesce_ms))

    async def _react(self) -> None:
        if not _wired:
            # A write whose derived state (SLA clocks, approvals, rules) silently did not follow
            # would be worse than no write: refuse until the start-up registered the reactions.
            raise RuntimeError("domain reactions not registered: call app.wiring.wire() at start-up")
        if not _reactions:
            return
        # Reactions see the events of the write itself, then (one more round) the events the
        # reactions emitted, such as the SLA's "breached" found while recomputing a late answer;
        # what that second round emits is published but not reacted to, so no loop can form.
        done = 0
        for _round in range(2):
            batch, done = self.events[done:], len(self.events)
            for event in batch:
                for prefix, reaction in _reactions:
                    if event.name.startswith(prefix):
                        await reaction(self, event)

    async def __aenter__(self) -> UnitOfWork:
        self._tx = transaction()
        await self._tx.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc_type is None and (self.events or self._before_commit):
            try:
                if self.events:
                    await self._react()
                done = 0
                while done < len(self._before_commit):  # a callback may register another
                    await self._before_commit[done]()
                    done += 1
            except BaseException as failure:
                await self._tx.__aexit__(type(failure), failure, failure.__traceback__)
                raise
        await self._tx.__aexit__(exc_type, exc, tb)
        if exc_type is None:
            await dispatch(self.events, self._jobs)
            for callback in self._after_commit:
                try:
                    await callback()
                except Exception:  # noqa: BLE001 - committed already; the sweeper jobs catch up
                    log.exception("after-commit callback failed")
        return False


async def ping_database() -> None:
    await engine().run_ddl("SELECT 1")
