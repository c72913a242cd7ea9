"""Piccolo's SQLite engine, with the per-query costs taken out.

Piccolo opens a fresh aiosqlite connection (a new thread, a new file handle, a PRAGMA) for every
query outside a transaction, and repeats the PRAGMA before every query inside one; on a busy page
or API call that was most of the time spent. Here queries outside a transaction share a few
long-lived connections in autocommit mode (each statement still commits on its own, as before),
and the PRAGMA runs once per connection. Each statement is one hop to aiosqlite's connection
thread (`execute_fetchall`): a hop costs ~70 µs of CPU here, more than a small indexed query, and
`execute` + `fetchall` + closing the cursor took three.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

POOL_SIZE = 3  # shared autocommit connections for queries outside transactions
IDLE_TRANSACTION_CONNECTIONS = 4  # connections kept for the next transaction


class PooledSQLiteTransaction(SQLiteTransaction):
    """A transaction on a reused connection, handed back (not closed) once it has ended cleanly.

    Writing transactions of one process also queue on an asyncio lock before BEGIN IMMEDIATE:
    SQLite's own busy handler polls with sleeps of up to 100 ms, which under load left most
    requests asleep while the file lock sat free. Other processes still meet the busy timeout.
    """

    _lock: asyncio.Lock | None = None

    async def __aenter__(self):
        if self._parent is None and self.transaction_type != TransactionType.deferred:
            self._lock = self.engine._write_lock()
            await self._lock.acquire()
        try:
            entered = await super().__aenter__()
        except BaseException:
            self._release()
            raise
        if self._lock is not None:
            # This process's write lock and the file's are held from here on, so no statement can
            # wait on another writer: run them on the event loop instead of hopping to the
            # connection's thread. Each hop also let every other ready request run before the
            # transaction went on, stretching the time the lock was held under load.
            self.connection.run_inline = True
        return entered

    async def begin(self):
        if self._lock is None:
            return await super().begin()
        # BEGIN IMMEDIATE on the event loop, without SQLite's busy handler: while another process
        # (the worker, a second web process) writes, poll every millisecond or so instead of
        # sleeping in the connection's thread for up to 100 ms at a time.
        raw = self.connection._conn
        loop = asyncio.get_running_loop()
        timeout = float(self.engine.connection_kwargs.get("timeout", 5))
        deadline, delay = loop.time() + timeout, 0.0005
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    raw.execute(f"BEGIN {self.transaction_type.value}")
                    return
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) or loop.time() > deadline:
                        raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.004)
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def get_connection(self):
        return await self.engine._take_connection()

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        # COMMIT may checkpoint the write-ahead log (disk syncs): that one goes to the thread.
        self.connection.run_inline = False
        clean = False
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
            clean = True
        finally:
            self.engine.current_transaction.reset(self.context)
            try:
                await self.engine._give_back(self.connection, clean)  # type: ignore[attr-defined]  # our subclass
            finally:
                self._release()
        return exception is None


class PooledSQLiteEngine(SQLiteEngine):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError("SQLite 3.35 or newer is needed (RETURNING)")
        self._pool: list[asyncio.Future] = []
        self._turn = itertools.count()
        self._idle: list[aiosqlite.Connection] = []
        self._wal = False
        self._locks: dict[int, asyncio.Lock] = {}

    def _write_lock(self) -> asyncio.Lock:
        # One lock per event loop: an asyncio.Lock belongs to the loop it was first used on.
        loop = asyncio.get_running_loop()
        lock = self._locks.get(id(loop))
        if lock is None:
            lock = asyncio.Lock()
            self._locks = {id(loop): lock}  # locks of loops that have ended are dropped
        return lock

    async def _open(self) -> aiosqlite.Connection:
        # check_same_thread=False: write transactions run their statements from the event loop's
        # thread (`run_inline`) while the connection is theirs alone.
        pending = aiosqlite.connect(**{**self.connection_kwargs, "check_same_thread": False})
        pending._thread.daemon = True  # an idle pooled connection must not keep the process alive
        connection = await pending
        connection.run_inline = False  # type: ignore[attr-defined]  # aiosqlite internal, not in its types
        connection.row_factory = dict_factory  # type: ignore[assignment]  # aiosqlite types it as a class
        # Every PRAGMA is read to its end (execute_fetchall): `journal_mode` answers with a row, and a
        # cursor left unread keeps its statement running. aiosqlite's thread holds the last result it
        # produced until it runs the next call, and a write transaction's statements bypass that thread,
        # so on a fresh connection the COMMIT would be refused ("SQL statements in progress").
        await connection.execute_fetchall("PRAGMA foreign_keys = 1")
        # With the write-ahead log, NORMAL syncs at checkpoints instead of at every commit: the file
        # cannot be corrupted, and only an OS crash or power cut (not a crash of ours) can lose
        # the last commits. PostgreSQL is the production database for anyone who needs more.
        await connection.execute_fetchall("PRAGMA synchronous = NORMAL")
        if not self._wal:
            # Write-ahead log: readers no longer block the writer (web + worker on one file), and a
            # commit is one append instead of a journal dance. Persistent in the file; set once.
            await connection.execute_fetchall("PRAGMA journal_mode = WAL")
            self._wal = True
        return connection

    async def _shared(self) -> aiosqlite.Connection:
        if len(self._pool) < POOL_SIZE:
            # The slot is taken before the first await, so concurrent first queries do not overfill it.
            self._pool.append(asyncio.ensure_future(self._open()))
            return await self._pool[-1]
        return await self._pool[next(self._turn) % POOL_SIZE]

    async def close_pool(self) -> None:
        pool, self._pool = self._pool, []
        for pending in pool:
            if pending.done() and not pending.exception():
                await pending.result().close()
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def get_connection(self) -> aiosqlite.Connection:
        return await self._open()

    async def _take_connection(self) -> aiosqlite.Connection:
        return self._idle.pop() if self._idle else await self._open()

    async def _give_back(self, connection: aiosqlite.Connection, clean: bool) -> None:
        # A connection whose COMMIT or ROLLBACK failed may still be inside a transaction: never reuse it.
        if clean and not connection.in_transaction and len(self._idle) < IDLE_TRANSACTION_CONNECTIONS:
            self._idle.append(connection)
        else:
            await connection.close()

    def transaction(self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True):
        return PooledSQLiteTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table=None
    ):
        connection = await self._shared()
        # One hop to the connection's thread (execute + fetch) instead of three (execute, fetch, close).
        return await connection.execute_fetchall(query, args or [])

    async def _run_in_existing_connection(
        self, connection, query: str, args: list[Any] | None = None, query_type: str = "generic", table=None
    ):
        # A transaction's connection comes from get_connection(), which has run the PRAGMA already.
        if connection.run_inline:
            cursor = connection._conn.execute(query, args or [])
            try:
                return cursor.fetchall()
            finally:
                cursor.close()
        return await connection.execute_fetchall(query, args or [])
