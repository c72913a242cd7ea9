"""The Kanban board: tickets in columns by status, assignee or type, with counts per column.

A board shows the first `PAGE_SIZE` cards of each column (most recently changed first) and
loads more per column on request. Rendering costs a fixed number of queries whatever the number
of tickets: one light query for every matching ticket's id and column (counts and ordering come
from it), one for the cards shown, and one for the column heads when they are people or types.
Moving a card goes through the single ticket mutation path (services.update_ticket), so the
board obeys the same state machine, permissions and version checks as every other page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from piccolo.query.functions.aggregate import Count

from app.core.clock import Clock, system_clock
from app.core.errors import FieldError, ValidationFailed
from app.core.forms import int_list, parse_int
from app.core.i18n import N_
from app.core.i18n import gettext as _
from app.core.permissions import CurrentUser
from app.tickets import queries, services, workflow
from app.tickets.presence import initials
from app.tickets.services import LIST_COLUMNS, TicketFilter
from tables.accounts.tables import Campus, User
from tables.tickets.tables import Ticket, TicketType

GROUPS: dict[str, str] = {"status": N_("Status"), "assignee": N_("Assignee"), "type": N_("Type")}
BOARD_STATUSES = ("new", "assigned", "in_progress", "pending", "resolved")
PAGE_SIZE = 30
DUE_SOON = timedelta(hours=4)
_CHOOSE = N_("Choose one of the listed options.")


@dataclass(frozen=True)
class BoardQuery:
    """What a board shows: the grouping, the filters and whether closed tickets are included."""

    group: str = "status"
    q: str = ""
    type: str = ""
    priority: str = ""
    assignee: str = ""  # "me" | "none" | a user id
    campus: int | None = None
    tag: str = ""
    closed: bool = False

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> BoardQuery:
        """From URL parameters or a WebSocket message; a value outside the choices is a 422."""

        def text(name: str, limit: int) -> str:
            return str(params.get(name) or "").strip()[:limit]

        group, priority, assignee, campus = (
            text("group", 20) or "status",
            text("priority", 10),
            text("assignee", 12),
            text("campus", 12),
        )
        errors = [
            FieldError(name, _CHOOSE)
            for name, bad in (
                ("group", group not in GROUPS),
                ("priority", bool(priority) and priority not in workflow.PRIORITIES),
                ("assignee", bool(assignee) and assignee not in ("me", "none") and parse_int(assignee) is None),
                ("campus", bool(campus) and parse_int(campus) is None),
            )
            if bad
        ]
        if errors:
            raise ValidationFailed(errors)
        return cls(
            group=group,
            q=text("q", 100),
            type=text("type", 40),
            priority=priority,
            assignee=assignee,
            campus=int(campus) if campus else None,
            tag=text("tag", 40).lstrip("#"),
            closed=text("closed", 5).lower() in ("1", "true", "on"),
        )

    def params(self) -> dict[str, str]:
        """The non-default values, as they appear in the URL (and in the socket's subscription)."""
        values = {
            "group": "" if self.group == "status" else self.group,
            "q": self.q,
            "type": self.type,
            "priority": self.priority,
            "assignee": self.assignee,
            "campus": str(self.campus or ""),
            "tag": self.tag,
            "closed": "1" if self.closed else "",
        }
        return {k: v for k, v in values.items() if v}

    def url(self, **changes: Any) -> str:
        params = replace(self, **changes).params()
        return "/board" + ("?" + urlencode(params) if params else "")

    @property
    def filtered(self) -> bool:
        return any((self.q, self.type, self.priority, self.assignee, self.campus, self.tag))

    def statuses(self) -> tuple[str, ...]:
        return BOARD_STATUSES + (("closed",) if self.closed else ())

    def ticket_filter(self) -> TicketFilter:
        return TicketFilter(
            q=self.q,
            status=self.statuses(),
            type=self.type,
            priority=self.priority,
            assignee=self.assignee,
            campus=self.campus,
            tag=self.tag,
        )


@dataclass
class Column:
    group: str
    key: str
    label: str
    translate: bool = False  # the label is a msgid (status names, "Unassigned")
    count: int = 0
    cards: list[dict] = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return f"{self.group}-{self.key}"

    @property
    def target(self) -> str:
        """The value a move to this column posts: "status:pending", "assignee:7", "assignee:none"."""
        return f"{self.group}:{self.key}"

    @property
    def has_more(self) -> bool:
        return len(self.cards) < self.count


@dataclass
class Board:
    query: BoardQuery
    columns: list[Column]

    @property
    def total(self) -> int:
        return sum(c.count for c in self.columns)


def column_key(group: str, row: Mapping[str, Any]) -> str:
    if group == "assignee":
        return str(row["assignee"]) if row["assignee"] is not None else "none"
    if group == "type":
        return str(row["ticket_type"])
    return str(row["status"])


_GROUP_COLUMN = {"status": Ticket.status, "assignee": Ticket.assignee, "type": Ticket.ticket_type}


def _column_clause(query: BoardQuery, key: str):
    if query.group == "status" and key in query.statuses():
        return Ticket.status == key
    number = parse_int(key)
    if query.group == "assignee" and (key == "none" or number is not None):
        return Ticket.assignee.is_null() if key == "none" else Ticket.assignee == number
    if query.group == "type" and number is not None:
        return Ticket.ticket_type == number
    raise ValidationFailed.one("column", N_("Unknown column."))


async def column_heads(user: CurrentUser, query: BoardQuery, present: Iterable[str]) -> list[Column]:
    """The columns, empty: every status shown; every active type; nobody, me and people with tickets."""
    group, present = query.group, set(present)
    if group == "status":
        return [Column(group, s, workflow.STATUSES[s], translate=True) for s in query.statuses()]
    if group == "type":
        ids = int_list(present)
        rows = (
            await TicketType.select(TicketType.id, TicketType.name)
            .where(TicketType.is_active.eq(True) | TicketType.id.is_in(ids or [-1]))
            .order_by(TicketType.sort_order)
            .order_by(TicketType.id)
        )
        return [Column(group, str(r["id"]), r["name"]) for r in rows]
    ids = set(int_list(present)) | ({user.id} if user.id > 0 else set())
    people = await User.select(User.id, User.display_name, User.username).where(User.id.is_in(sorted(ids) or [-1]))
    people.sort(key=lambda p: (p["id"] != user.id, p["display_name"] or p["username"]))
    heads = [Column(group, "none", N_("Unassigned"), translate=True)]
    return heads + [Column(group, str(p["id"]), p["display_name"] or p["username"]) for p in people]


def sla_text(minutes: int) -> str:
    """ "2d 3h left", "Overdue 25m": in the current locale (static/js/board.js keeps it counting)."""
    m = abs(minutes)
    d, h, mm = m // 1440, m % 1440 // 60, m % 60
    span = _("%(d)sd %(h)sh", d=d, h=h) if d else _("%(h)sh %(m)sm", h=h, m=mm) if h else _("%(m)sm", m=mm)
    return _("Overdue %(span)s", span=span) if minutes < 0 else _("%(span)s left", span=span)


def decorate(row: dict, now: datetime) -> dict:
    """A card's derived values: the assignee's initials and the SLA state (minutes left, or late)."""
    card = dict(row)
    card["initials"] = initials(row.get("assignee_name") or "") if row.get("assignee") else ""
    card["priority_label"] = workflow.PRIORITIES.get(row["priority"], row["priority"])
    card["sla_state"], card["sla_minutes"] = None, None
    due = row.get("due_at")
    if due is not None and row["status"] in workflow.OPEN_STATUSES:
        if isinstance(due, str):
            due = datetime.fromisoformat(due)
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        left = due - now
        card["sla_minutes"] = int(left.total_seconds() // 60)
        card["sla_state"] = "overdue" if left.total_seconds() < 0 else "soon" if left <= DUE_SOON else "ok"
        card["sla_text"], card["due_iso"] = sla_text(card["sla_minutes"]), due.isoformat()
    return card


def _ordered(query):
    return query.order_by(Ticket.updated_at, ascending=False).order_by(Ticket.id, ascending=False)


async def load_board(user: CurrentUser, query: BoardQuery, clock: Clock = system_clock) -> Board:
    where = await queries.where_clause(user, query.ticket_filter(), clock)
    light = await _ordered(Ticket.select(Ticket.id, Ticket.status, Ticket.assignee, Ticket.ticket_type).where(where))
    by_column: dict[str, list[int]] = defaultdict(list)
    for row in light:
        by_column[column_key(query.group, row)].append(row["id"])
    columns = await column_heads(user, query, by_column)
    shown = [ticket_id for c in columns for ticket_id in by_column[c.key][:PAGE_SIZE]]
    rows = await Ticket.select(*LIST_COLUMNS).where(Ticket.id.is_in(shown)) if shown else []
    now = clock.now()
    cards = {r["id"]: decorate(r, now) for r in rows}
    for column in columns:
        column.count = len(by_column[column.key])
        column.cards = [cards[i] for i in by_column[column.key][:PAGE_SIZE] if i in cards]
    return Board(query, columns)


async def load_column(
    user: CurrentUser, query: BoardQuery, key: str, offset: int, clock: Clock = system_clock
) -> tuple[list[dict], int]:
    """The next page of one column ("load more"): its cards from `offset`, and its count."""
    where = await queries.where_clause(user, query.ticket_filter(), clock) & _column_clause(query, key)
    count = await Ticket.count().where(where)
    rows = await _ordered(Ticket.select(*LIST_COLUMNS).where(where)).limit(PAGE_SIZE).offset(max(0, offset))
    now = clock.now()
    return [decorate(r, now) for r in rows], count


async def column_counts(user: CurrentUser, query: BoardQuery, clock: Clock = system_clock) -> dict[str, int]:
    where = await queries.where_clause(user, query.ticket_filter(), clock)
    column = _GROUP_COLUMN[query.group]
    name = column._meta.name
    rows = await Ticket.select(column, Count(Ticket.id, alias="n")).where(where).group_by(column)
    return {column_key(query.group, {name: r[name]}): r["n"] for r in rows}


async def find_card(user: CurrentUser, query: BoardQuery, ticket_id: int, clock: Clock = system_clock) -> dict | None:
    """The ticket's card if it is on this user's board (visible and matching the filters), else None."""
    where = await queries.where_clause(user, query.ticket_filter(), clock)
    row = await Ticket.select(*LIST_COLUMNS).where(where & (Ticket.id == ticket_id)).first()
    return decorate(row, clock.now()) if row else None


async def move_card(
    actor: CurrentUser, ticket_id: int, to_column: str, version: int | None, clock: Clock = system_clock
) -> dict:
    """Drop a card on another column: a status or assignee change through services.update_ticket."""
    group, _sep, key = (to_column or "").partition(":")
    if group == "type":
        raise ValidationFailed.one("to", N_("A ticket keeps its type: cards cannot be moved between type columns."))
    if group == "status" and key:
        changes: dict[str, Any] = {"status": key}
    elif group == "assignee" and key:
        changes = {"assignee": None if key == "none" else key}
    else:
        raise ValidationFailed.one("to", N_("Unknown column."))
    if key == "assigned" and group == "status":
        ticket = await services.get_ticket(actor, ticket_id)
        if ticket["assignee"] is None and ticket["status"] != "assigned":
            raise ValidationFailed.one("to", N_("Assign the ticket to someone before moving it to “Assigned”."))
    return await services.update_ticket(actor, ticket_id, changes, version=version, clock=clock)


async def filter_choices() -> dict:
    types = (
        await TicketType.select(TicketType.id, TicketType.code, TicketType.name)
        .where(TicketType.is_active.eq(True))
        .order_by(TicketType.sort_order)
        .order_by(TicketType.id)
    )
    campuses = await Campus.select(Campus.id, Campus.name).order_by(Campus.id)
    people = (
        await User.select(User.id, User.display_name, User.username)
        .where(User.is_active.eq(True))
        .order_by(User.display_name)
    )
    return {"types": types, "campuses": campuses, "people": people, "priorities": workflow.PRIORITIES, "groups": GROUPS}
