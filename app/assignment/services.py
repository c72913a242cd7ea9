"""Auto-assignment: read what the decisions need (inputs.py) in a fixed number of queries,
decide (rules.py), write the outcomes through conditional UPDATEs in one unit of work.

`assign_tickets` decides a batch: the job of one new ticket also takes the other undecided
tickets waiting at that moment (a burst of 1,000 is then a few dozen transactions, not 1,000),
and loads and round-robin cursors are carried from one ticket to the next inside the batch.
`reassign_on_escalation` is for the SLA escalation. All are safe to run twice and from several
workers at once: the ticket row changes only `WHERE assignee IS NULL` (or still the old
assignee), a ticket gets at most one automatic decision (unique row), and decisions are
serialised (SQLite's write lock, a PostgreSQL advisory lock) so each reads the loads the
previous one wrote.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.assignment import rules
from app.assignment.inputs import (  # noqa: F401 - Setting, setting_for, needs_of: part of this module's API
    DEFAULT_KINDS,
    TICKET_COLUMNS,
    Setting,
    candidates_by_needs,
    candidates_for,
    loads_of,
    needs_key,
    needs_of,
    reading,
    setting_for,
    settings_for,
)
from app.assignment.rules import Candidate, Choice, Needs
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork, is_sqlite
from app.core.events import Event
from app.core.i18n import gettext
from app.notifications.services import notify
from app.tickets.audience import of_ticket
from app.tickets.workflow import OPEN_STATUSES
from tables.assignment.tables import AssignmentCursor, AssignmentDecision, AssignmentSetting
from tables.tickets.tables import Ticket, TicketActivity, TicketType

log = logging.getLogger(__name__)
LOCK_KEY = 4_711_001  # PostgreSQL advisory lock that serialises assignment decisions


# -- writing ------------------------------------------------------------------------------------


async def _serialise() -> None:
    """Decisions one at a time, so each reads the loads the previous one wrote. SQLite's
    BEGIN IMMEDIATE already holds the database's write lock; PostgreSQL takes an advisory lock
    held until commit."""
    if not is_sqlite():
        await Ticket.raw("SELECT pg_advisory_xact_lock({})", LOCK_KEY)


async def _cursor(scope: str) -> int:
    row = await AssignmentCursor.select(AssignmentCursor.last_user).where(AssignmentCursor.scope == scope).first()
    return row["last_user"] if row else 0


async def _move_cursor(scope: str, user_id: int) -> None:
    done = (
        await AssignmentCursor.update({AssignmentCursor.last_user: user_id})
        .where(AssignmentCursor.scope == scope)
        .returning(AssignmentCursor.id)
    )
    if not done:
        await AssignmentCursor.insert(AssignmentCursor(scope=scope, last_user=user_id))


def _skill_words(needs: Needs, ticket: dict) -> str:
    labels = {
        "type": {ticket["type_code"]: ticket["type_name"]},
        "campus": {str(ticket.get("campus")): ticket.get("campus_name")},
    }
    words = []
    for kind, values in needs.required.items():
        for value in sorted(values):
            label = labels.get(kind, {}).get(value) or (
                gettext(rules.LANGUAGES[value]) if kind == "language" and value in rules.LANGUAGES else value
            )
            words.append(f"“{label}”")
    return "、".join(words)


def fallback_reason(choice: Choice, needs: Needs, ticket: dict) -> str:
    """The sentence on the timeline, in the school's language (the worker has no request)."""
    skills = _skill_words(needs, ticket)
    if not skills:
        if choice.reason == rules.NOBODY_SKILLED:
            return gettext("Nobody is set up for automatic assignment; the ticket is in the team queue.")
        return gettext(
            "Nobody set up for automatic assignment is on shift and online; the ticket is in the team queue."
        )
    if choice.reason == rules.NOBODY_SKILLED:
        return gettext("Nobody has the skills %(skills)s; the ticket is in the team queue.", skills=skills)
    return gettext(
        "Nobody on shift and online has the skills %(skills)s; the ticket is in the team queue.", skills=skills
    )


def _updated_event(ticket: dict, status: str, assignee: int | None, changes: dict) -> Event:
    """The same `ticket.updated` shape as app.tickets.services.claim_ticket, marked by="auto"."""
    return Event(
        "ticket.updated",
        {
            "id": ticket["id"],
            "status": status,
            "old_status": ticket["status"] if "status" in changes else None,
            "assignee": assignee,
            "campus": ticket["campus"],
            "priority": ticket["priority"],
            "type": ticket["type_code"],
            "version": ticket["version"] + 1,
            "old_assignee": ticket["assignee"],
            "fields": sorted(changes),
            "by": "auto",
        },
        audience=of_ticket(ticket["id"], ticket),
    )


async def _give(uow: UnitOfWork, ticket: dict, choice: Choice, now: datetime, extra: dict) -> bool:
    """Conditional UPDATE: only while the ticket still has the assignee we decided about."""
    old = ticket["assignee"]
    status = "assigned" if ticket["status"] == "new" else ticket["status"]
    still = Ticket.assignee.is_null() if old is None else (Ticket.assignee == old)
    won = (
        await Ticket.update(
            {
                Ticket.assignee: choice.assignee,
                Ticket.status: status,
                Ticket.version: Ticket.version + 1,
                Ticket.updated_at: now,
            }
        )
        .where((Ticket.id == ticket["id"]) & still & (Ticket.status == ticket["status"]) & Ticket.deleted_at.is_null())
        .returning(Ticket.id)
    )
    if not won:
        return False
    changes: dict = {"assignee": [old, choice.assignee]}
    if status != ticket["status"]:
        changes["status"] = [ticket["status"], status]
    await TicketActivity.insert(
        TicketActivity(
            ticket=ticket["id"],
            actor=None,
            kind="assign",
            created_at=now,
            changes={**changes, "by": "auto", "reason": choice.reason, **extra},
        )
    )
    await notify(
        uow,
        [choice.assignee],
        kind="ticket_assigned",
        title=f"{ticket['number']} {ticket['title']}",
        link=f"/tickets/{ticket['id']}",
    )
    uow.emit(_updated_event(ticket, status, choice.assignee, changes))
    return True


async def _queue(uow: UnitOfWork, ticket: dict, team: int | None, reason: str, now: datetime) -> None:
    """Nobody fits: the ticket stays unassigned in its team's queue, and the timeline says why."""
    if team is not None and ticket["team"] is None:
        await Ticket.update({Ticket.team: team}).where((Ticket.id == ticket["id"]) & Ticket.team.is_null())
    rows = await TicketActivity.insert(
        TicketActivity(
            ticket=ticket["id"],
            actor=None,
            kind="note",
            body=reason,
            is_public=False,
            created_at=now,
            changes={"by": "auto", "queued": team},
        )
    ).returning(TicketActivity.id)
    uow.emit(
        Event(
            "ticket.message",
            {
                "id": ticket["id"],
                "activity": rows[0]["id"],
                "public": False,
                "version": ticket["version"],
                "by": "auto",
            },
            audience=of_ticket(ticket["id"]),
        )
    )


def _scope(team: int | None) -> str:
    return f"team:{team}" if team else "all"


@dataclass(frozen=True)
class _Case:
    ticket: dict
    setting: Setting
    needs: Needs
    candidates: list[Candidate]


async def _pending(ticket_ids: list[int]) -> list[dict]:
    """Those of the tickets that are open, unassigned, undecided and of an automatic type."""
    rows = (
        await Ticket.select(*TICKET_COLUMNS)
        .where(
            Ticket.id.is_in(ticket_ids)
            & Ticket.assignee.is_null()
            & Ticket.deleted_at.is_null()
            & Ticket.status.is_in(list(OPEN_STATUSES))
        )
        .order_by(Ticket.id)
        .output(load_json=True)
    )
    if not rows:
        return []
    decided = {
        r["ticket"]
        for r in await AssignmentDecision.select(AssignmentDecision.ticket).where(
            AssignmentDecision.ticket.is_in([r["id"] for r in rows])
        )
    }
    return [r for r in rows if r["id"] not in decided]


async def _cases(ticket_ids: list[int], now: datetime, clock: Clock) -> list[_Case]:
    async with reading():
        tickets = await _pending(ticket_ids)
        if not tickets:
            return []
        settings = await settings_for({t["ticket_type"]: t["type_team"] for t in tickets})
        tickets = [t for t in tickets if settings[t["ticket_type"]].mode == "auto"]
        needs = {t["id"]: needs_of(t, settings[t["ticket_type"]].skill_kinds) for t in tickets}
        candidates = await candidates_by_needs(list(needs.values()), now, clock) if tickets else {}
    return [
        _Case(t, settings[t["ticket_type"]], needs[t["id"]], candidates[needs_key(needs[t["id"]])]) for t in tickets
    ]


async def _cursors(scopes: set[str]) -> dict[str, int]:
    rows = await AssignmentCursor.select(AssignmentCursor.scope, AssignmentCursor.last_user).where(
        AssignmentCursor.scope.is_in(sorted(scopes))
    )
    return dict.fromkeys(scopes, 0) | {r["scope"]: r["last_user"] for r in rows}


async def assign_tickets(ticket_ids: list[int], clock: Clock = system_clock) -> dict[int, dict]:
    """Decide each new, unassigned ticket of an automatic type once, in id order. Returns
    {ticket id: {"outcome": "assigned"|"queued", "assignee", "reason"}} for the tickets decided."""
    now = clock.now()
    cases = await _cases(ticket_ids, now, clock)
    if not cases:
        return {}
    decisions: dict[int, dict] = {}
    async with UnitOfWork() as uow:
        await _serialise()
        # Another worker's batch may have decided some of them since they were read.
        decided = set(
            await AssignmentDecision.select(AssignmentDecision.ticket)
            .where(AssignmentDecision.ticket.is_in([c.ticket["id"] for c in cases]))
            .output(as_list=True)
        )
        cases = [c for c in cases if c.ticket["id"] not in decided]
        if not cases:
            return {}
        eligible = sorted({c.user_id for case in cases for c in case.candidates if c.on_shift and c.online})
        loads = await loads_of(eligible)
        cursors = await _cursors({_scope(case.setting.team or case.ticket["team"]) for case in cases})
        moved: set[str] = set()
        for case in cases:
            ticket, team = case.ticket, case.setting.team or case.ticket["team"]
            scope = _scope(team)
            choice = rules.choose_assignee(case.needs, case.candidates, loads, cursors[scope])
            if choice.assignee is None:
                reason, outcome = fallback_reason(choice, case.needs, ticket), "queued"
                if case.candidates:  # with nobody set up at all, automatic assignment is simply not in use
                    await _queue(uow, ticket, team, reason, now)
            else:
                reason, outcome = choice.reason, "assigned"
                if not await _give(uow, ticket, choice, now, {}):
                    continue  # someone claimed it meanwhile: their choice stands
                loads[choice.assignee] = loads.get(choice.assignee, 0.0) + rules.LOAD_WEIGHTS.get(
                    ticket["priority"], 1.0
                )
                if choice.advances_cursor:
                    cursors[scope] = choice.assignee
                    moved.add(scope)
            await AssignmentDecision.insert(
                AssignmentDecision(
                    ticket=ticket["id"],
                    outcome=outcome,
                    assignee=choice.assignee,
                    reason=reason,
                    decided_at=clock.now(),
                )
            )
            decisions[ticket["id"]] = {"outcome": outcome, "assignee": choice.assignee, "reason": reason}
        for scope in sorted(moved):
            await _move_cursor(scope, cursors[scope])
    return decisions


async def waiting_ids(limit: int, older_than: datetime | None = None, first: int | None = None) -> list[int]:
    """Unassigned, undecided open tickets of automatic types, oldest first (`first` included)."""
    manual = await AssignmentSetting.select(AssignmentSetting.ticket_type).where(AssignmentSetting.mode == "manual")
    where = (
        Ticket.assignee.is_null()
        & Ticket.status.is_in(list(OPEN_STATUSES))
        & Ticket.deleted_at.is_null()
        & Ticket.id.not_in(AssignmentDecision.select(AssignmentDecision.ticket))
    )
    if older_than is not None:
        where &= Ticket.created_at < older_than
    if manual:
        where &= Ticket.ticket_type.not_in([r["ticket_type"] for r in manual])
    rows = await Ticket.select(Ticket.id).where(where).order_by(Ticket.id).limit(limit)
    ids = [r["id"] for r in rows]
    return ids if first is None or first in ids else [first, *ids[: limit - 1]]


async def assign_ticket(ticket_id: int, clock: Clock = system_clock, batch: int = 1) -> dict | None:
    """Decide for one ticket; with `batch` > 1, also for other tickets waiting now."""
    others = await waiting_ids(batch, first=ticket_id) if batch > 1 else [ticket_id]
    return (await assign_tickets(sorted(set(others) | {ticket_id}), clock)).get(ticket_id)


async def assign_waiting(
    first: int | None = None, batch: int = 50, limit: int = 2000, clock: Clock = system_clock
) -> dict[int, dict]:
    """Decide every ticket waiting now, oldest first (`first` among them), `batch` per transaction
    so other writers get their turn: the assignment job of a time window (app/assignment/reactions.py)."""
    decisions: dict[int, dict] = {}
    while len(decisions) < limit:
        ids = await waiting_ids(batch, first=first)
        first = None
        if not ids:
            break
        done = await assign_tickets(ids, clock)
        decisions.update(done)
        if not done or len(ids) < batch:
            break  # nothing more waiting, or what is left cannot be decided now (claimed meanwhile)
    return decisions


async def _case(ticket_id: int, now: datetime, clock: Clock) -> _Case | None:
    async with reading():
        ticket = await Ticket.select(*TICKET_COLUMNS).where(Ticket.id == ticket_id).first().output(load_json=True)
        if ticket is None or ticket["deleted_at"] is not None or ticket["status"] not in OPEN_STATUSES:
            return None
        setting = await setting_for(ticket["ticket_type"], ticket["type_team"])
        if setting.mode != "auto":
            return None
        needs = needs_of(ticket, setting.skill_kinds)
        return _Case(ticket, setting, needs, await candidates_for(needs, now, clock))


async def reassign_on_escalation(
    ticket_id: int, reason: str, clock: Clock = system_clock, escalated_from: int | object | None = ...
) -> dict | None:
    """An escalated ticket goes to someone else who fits (not the current assignee). When nobody
    else fits it stays where it is and the timeline says so. Manual types are left alone, and so is
    a ticket whose assignee is no longer `escalated_from`, the one it had when it was escalated: a
    person or an automation rule on "breached" has decided already, and their choice stands."""
    now = clock.now()
    case = await _case(ticket_id, now, clock)
    if case is None:
        return None
    if escalated_from is not ... and case.ticket["assignee"] != escalated_from:
        return {"outcome": "skipped", "assignee": case.ticket["assignee"], "reason": "reassigned meanwhile"}
    ticket, setting, needs, candidates = case.ticket, case.setting, case.needs, case.candidates
    team = setting.team or ticket["team"]
    scope = _scope(team)
    exclude = frozenset({ticket["assignee"]} - {None})
    async with UnitOfWork() as uow:
        await _serialise()
        eligible = [c.user_id for c in candidates if c.on_shift and c.online and c.user_id not in exclude]
        choice = rules.choose_assignee(needs, candidates, await loads_of(eligible), await _cursor(scope), exclude)
        if choice.assignee is None:
            text = fallback_reason(choice, needs, ticket)
            if ticket["assignee"] is not None:
                text = gettext("Escalated (%(why)s), but nobody else fits; it stays with its assignee.", why=reason)
            await _queue(uow, ticket, team, text, now)
            return {
                "outcome": "kept" if ticket["assignee"] else "queued",
                "assignee": ticket["assignee"],
                "reason": text,
            }
        if not await _give(uow, ticket, choice, now, {"escalation": reason}):
            return None
        if choice.advances_cursor:
            await _move_cursor(scope, choice.assignee)
        await AssignmentDecision.delete().where(AssignmentDecision.ticket == ticket_id)
        await AssignmentDecision.insert(
            AssignmentDecision(
                ticket=ticket_id,
                outcome="assigned",
                assignee=choice.assignee,
                reason=choice.reason,
                decided_at=clock.now(),
            )
        )
    return {"outcome": "assigned", "assignee": choice.assignee, "reason": choice.reason}


async def sweep_unassigned(clock: Clock = system_clock, min_age_seconds: float = 5, batch: int = 50) -> int:
    """Catch tickets whose job was lost: unassigned, undecided, automatic, older than a few seconds."""
    ids = await waiting_ids(500, older_than=clock.now() - timedelta(seconds=min_age_seconds))
    done = 0
    for start in range(0, len(ids), batch):
        try:
            done += len(await assign_tickets(ids[start : start + batch], clock))
        except Exception:  # noqa: BLE001 - one bad batch must not starve the rest; the next sweep retries
            log.exception("assigning tickets %s failed", ids[start : start + batch])
    return done


# -- defaults -----------------------------------------------------------------------------------


async def ensure_default_settings() -> int:
    """One automatic setting per ticket type that has none (by the 'type' skill, the type's team)."""
    have = {r["ticket_type"] for r in await AssignmentSetting.select(AssignmentSetting.ticket_type)}
    types = await TicketType.select(TicketType.id, TicketType.team)
    missing = [
        AssignmentSetting(ticket_type=t["id"], mode="auto", skill_kinds=list(DEFAULT_KINDS), team=t["team"])
        for t in types
        if t["id"] not in have
    ]
    if missing:
        await AssignmentSetting.insert(*missing)
    return len(missing)
