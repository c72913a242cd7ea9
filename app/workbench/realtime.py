"""Live workbench counts: a ticket or mention event re-renders #workbench-counts for those it affects.

A ticket event's audience is everyone who may see the ticket (app/tickets/audience.py), more
than whose counts change, so this renderer narrows it, as Zulip does: the assignee and the
previous assignee, the members and leaders of the ticket's team, and the desk of the ticket's
campus. Everyone else gets nothing. Only tabs that show the workbench get pushes: the page sends
`{"type": "workbench", "open": true}` over its socket when it loads and after every reconnect
(answered with fresh counts, so nothing missed while offline stays wrong) and `"open": false` when
htmx swaps it away. Who is affected is worked out once per event, not once per connection; the
counts themselves are read from the database for each recipient, with their own visibility.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from app.core.events import Event
from app.core.templates import render_macro
from app.realtime.hub import Connection, on_event, on_message
from app.tickets import policy
from app.workbench import services as workbench
from tables.accounts.tables import Team, User
from tables.tickets.tables import Ticket

_MEMO_SIZE = 64
_memo: OrderedDict[int, tuple[Event, asyncio.Future]] = OrderedDict()


@dataclass(frozen=True)
class Affected:
    user_ids: frozenset[int] = field(default_factory=frozenset)
    campus: int | None = None
    desk: bool = False  # whether the desk of `campus` (all campuses when None) is affected


async def _team_people(team_id: int | None) -> set[int]:
    """Members of the team and the leaders of it and of every team above it."""
    if team_id is None:
        return set()
    teams = {t["id"]: t for t in await Team.select(Team.id, Team.parent, Team.leader)}
    people = {r["id"] for r in await User.select(User.id).where(User.team == team_id)}
    current, seen = team_id, set()
    while current in teams and current not in seen:  # up the parent chain; a cycle in bad data stops
        seen.add(current)
        if teams[current]["leader"] is not None:
            people.add(teams[current]["leader"])
        current = teams[current]["parent"]
    return people


async def _compute(event: Event) -> Affected:
    payload = event.payload
    if event.name == "notification.created":
        mentioned = event.audience.users if event.audience is not None else ()
        return Affected(frozenset(mentioned)) if payload.get("kind") == "mention" else Affected()
    users = {u for u in (payload.get("assignee"), payload.get("old_assignee")) if u is not None}
    row = await Ticket.select(Ticket.team).where(Ticket.id == payload.get("id")).first()
    users |= await _team_people(row["team"] if row else None)
    return Affected(frozenset(users), campus=payload.get("campus"), desk=True)


async def affected_by(event: Event) -> Affected:
    """Once per event, however many connections ask (the hub renders connections concurrently)."""
    hit = _memo.get(id(event))
    if hit is None or hit[0] is not event:
        future = asyncio.ensure_future(_compute(event))
        _memo[id(event)] = (event, future)  # holding the event keeps its id from being reused
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
        hit = _memo[id(event)]
    return await asyncio.shield(hit[1])


def is_affected(affected: Affected, user) -> bool:
    if user.id in affected.user_ids:
        return True
    if not affected.desk or not policy.is_desk(user):
        return False
    return user.campus_id is None or affected.campus is None or affected.campus == user.campus_id


async def counts_fragment(user, changed: bool = True) -> str:
    """`changed` offers to reload the lists, which a push does not touch (a half-typed reply would be lost)."""
    return render_macro(
        "tickets/workbench_counts.html",
        "workbench_counts",
        counts=await workbench.counts(user),
        sections_meta=workbench.SECTIONS,
        oob=True,
        changed=changed,
    )


@on_message("workbench")
async def follow_workbench(conn: Connection, message: dict) -> str | None:
    if conn.readonly:
        return None
    if message.get("open") in (True, "true", "1", 1):
        conn.subscriptions["workbench"] = True
        return await counts_fragment(conn.user, changed=False)
    conn.subscriptions.pop("workbench", None)
    return None


@on_event("ticket.created", "ticket.updated", "notification.created")
async def push_workbench_counts(event: Event, conn: Connection) -> str | None:
    """A reply or note changes no count (a mention arrives as its own notification.created)."""
    if not conn.subscriptions.get("workbench") or not is_affected(await affected_by(event), conn.user):
        return None
    return await counts_fragment(conn.user)


# Approvers' counts: `approval.changed` re-renders #workbench-counts on their workbench tabs.
@on_event("approval.changed")
async def push_approval_counts(event: Event, conn: Connection) -> str | None:
    if conn.readonly or not conn.subscriptions.get("workbench"):
        return None
    return await counts_fragment(conn.user)
