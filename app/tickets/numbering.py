"""Ticket numbers: T-<year>-<six digits>, gap-free per year, unique under concurrency."""

from __future__ import annotations

from datetime import datetime

from piccolo.engine.postgres import PostgresEngine

from app.core.db import engine
from app.core.prepared import Prepared
from tables.tickets.tables import Ticket

LOCK_KEY = 727001  # any constant: serialises number allocation across PostgreSQL sessions
_LAST = Prepared(lambda pattern: Ticket.select(Ticket.number).where(Ticket.number.like(pattern))
                 .order_by(Ticket.number, ascending=False).first(), 1)  # fmt: skip


async def next_number(now: datetime) -> str:
    """Call inside the creating transaction: the number is taken only if that transaction commits."""
    if isinstance(engine(), PostgresEngine):
        await engine().run_ddl(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
    # SQLite transactions are IMMEDIATE (app.core.db), which serialises writers already.
    prefix = f"T-{now.year}-"
    last = await _LAST.run(prefix + "%")
    sequence = int(last["number"].removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{sequence:06d}"
