"""Ticket numbers: T-<year>-<six digits>, gap-free per year, unique under concurrency."""

from __future__ import annotations

import secrets
from datetime import datetime

from piccolo.engine.postgres import PostgresEngine

from app.core.db import engine
from app.core.prepared import Prepared
from tables.tickets.tables import Ticket

LOCK_KEY = 727001  # any constant: serialises number allocation across PostgreSQL sessions
_LAST = Prepared(
    lambda pattern: (
        Ticket.select(Ticket.number).where(Ticket.number.like(pattern)).order_by(Ticket.number, ascending=False).first()
    ),
    1,
)
_SET_NUMBER = Prepared(
    lambda number, ticket_id: Ticket.update({Ticket.number: number}).where(Ticket.id == ticket_id), 2
)


PENDING_PREFIX = "T-new-"  # no year's pattern matches it


def pending_number() -> str:
    """What a ticket's number is inside its creating transaction until `assign_number` runs."""
    return PENDING_PREFIX + secrets.token_hex(6)


def is_pending(number: str) -> bool:
    return number.startswith(PENDING_PREFIX)


async def assign_number(ticket_id: int, now: datetime) -> str:
    """Give the ticket its number, as the last step of the creating transaction: on PostgreSQL the
    lock that keeps numbers gap-free is then held only from here to the commit, not while the
    ticket's SLA, approval and rules are worked out (every creator waits on that lock)."""
    number = await next_number(now)
    await _SET_NUMBER.run(number, ticket_id)
    return number


async def next_number(now: datetime) -> str:
    """Call inside the creating transaction: the number is taken only if that transaction commits."""
    if isinstance(engine(), PostgresEngine):
        await engine().run_ddl(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
    # SQLite transactions are IMMEDIATE (app.core.db), which serialises writers already.
    prefix = f"T-{now.year}-"
    last = await _LAST.run(prefix + "%")
    sequence = int(last["number"].removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{sequence:06d}"
