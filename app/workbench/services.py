"""我的待办: a staff member's pending tickets, in sections with counts and short lists.

Every section applies the same visibility rule as the ticket list (policy.visibility_filter), so
the workbench never shows a ticket its user could not open. A page costs a fixed number of
queries: one COUNT and one short SELECT per section, whatever the number of tickets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from app.approvals import queries as approvals
from app.approvals import services as approval_services
from app.core.clock import Clock, system_clock
from app.core.i18n import N_
from app.core.permissions import CurrentUser, descendant_team_ids
from app.tickets import policy, workflow
from app.tickets.pages import forms as page_forms
from app.tickets.services import LIST_COLUMNS
from tables.accounts.tables import Team
from tables.notifications.tables import Notification
from tables.tickets.tables import Ticket

SHORT_LIST = 5
DUE_SOON = timedelta(hours=24)


@dataclass
class Section:
    key: str
    title: str
    count: int = 0
    items: list[dict] = field(default_factory=list)
    see_all: str = ""
    empty: str = ""


OPEN = "&".join(f"status={s}" for s in workflow.OPEN_STATUSES)  # the ticket list's filter for "still open"
SECTIONS: dict[str, tuple[str, str, str]] = {
    # key: (title, "see all" link into the ticket list, empty-state text)
    "mine": (N_("Assigned to me"), f"/tickets?assignee=me&{OPEN}", N_("Nothing assigned to you is open.")),
    "unassigned": (
        N_("Unassigned in my teams"),
        f"/tickets?assignee=none&{OPEN}",
        N_("No unassigned tickets in your teams."),
    ),
    "due_soon": (
        N_("Due within 24 hours"),
        f"/tickets?assignee=me&{OPEN}",
        N_("Nothing of yours is due in the next 24 hours."),
    ),
    "overdue": (N_("Overdue"), "/tickets?overdue=1", N_("Nothing is overdue.")),
    "mentions": (N_("Mentioning me"), "/notifications?unread=1", N_("No unread mentions.")),
    "approvals": (N_("Waiting for my approval"), "", N_("Nothing is waiting for your approval.")),
}


async def my_team_ids(user: CurrentUser) -> set[int]:
    """The user's own team, the teams they lead and every team below those."""
    teams = await Team.select(Team.id, Team.parent, Team.leader)
    led = {t["id"] for t in teams if t["leader"] == user.id}
    ids = descendant_team_ids(teams, led) if led else set()
    if user.team_id is not None:
        ids.add(user.team_id)
    return ids


async def _clauses(user: CurrentUser, clock: Clock) -> dict:
    """The WHERE clause of each ticket section for this user."""
    now = clock.now()
    base = (
        Ticket.deleted_at.is_null() & Ticket.merged_into.is_null() & Ticket.status.is_in(list(workflow.OPEN_STATUSES))
    )
    visible = await policy.visibility_filter(user)
    if visible is not None:
        base &= visible
    teams = sorted(await my_team_ids(user))
    in_my_teams = Ticket.team.is_in(teams) if teams else None
    mine = Ticket.assignee == user.id
    # The desk works the whole (visible) campus pool; everyone else their teams' tickets.
    pool = base & Ticket.assignee.is_null()
    if not policy.is_desk(user):
        pool = pool & in_my_teams if in_my_teams is not None else None
    overdue_owner = mine | in_my_teams if in_my_teams is not None else mine
    has_due = Ticket.due_at.is_not_null()
    return {
        "mine": base & mine,
        "unassigned": pool,
        "due_soon": base & mine & has_due & (Ticket.due_at >= now) & (Ticket.due_at < now + DUE_SOON),
        "overdue": base & has_due & (Ticket.due_at < now) & overdue_owner,
    }


ORDER = {
    "mine": (Ticket.created_at, True),
    "unassigned": (Ticket.created_at, True),
    "due_soon": (Ticket.due_at, True),
    "overdue": (Ticket.due_at, True),
}


def _mentions_where(user: CurrentUser):
    return (Notification.recipient == user.id) & (Notification.kind == "mention") & Notification.read_at.is_null()


async def counts(user: CurrentUser, clock: Clock = system_clock) -> dict[str, int | None]:
    """Only the numbers (the live push re-renders these)."""
    result: dict[str, int | None] = {}
    for key, where in (await _clauses(user, clock)).items():
        result[key] = await Ticket.count().where(where) if where is not None else 0
    result["mentions"] = await Notification.count().where(_mentions_where(user))
    result["approvals"] = await approvals.waiting_count(user)
    return result


async def sections(user: CurrentUser, clock: Clock = system_clock) -> list[Section]:
    found = []
    for key, where in (await _clauses(user, clock)).items():
        section = _section(key)
        if where is not None:
            column, ascending = ORDER[key]
            section.count = await Ticket.count().where(where)
            section.items = await (
                Ticket.select(*LIST_COLUMNS, Ticket.team)
                .where(where)
                .order_by(column, ascending=ascending)
                .order_by(Ticket.id)
                .limit(SHORT_LIST)
            )
        found.append(section)
    mentions = _section("mentions")
    mentions.count = await Notification.count().where(_mentions_where(user))
    mentions.items = await (
        Notification.select(
            Notification.id, Notification.title, Notification.body, Notification.link, Notification.created_at
        )
        .where(_mentions_where(user))
        .order_by(Notification.id, ascending=False)
        .limit(SHORT_LIST)
    )
    found.append(mentions)
    waiting = _section("approvals")
    waiting.count = await approvals.waiting_count(user)
    waiting.items = await approvals.waiting_items(user, SHORT_LIST, clock)
    found.append(waiting)
    # One query for every row shown: a ticket waiting on its approval offers no Resolve button.
    tickets = [item for s in found if s.key != "mentions" for item in s.items]
    held = await approval_services.running_among({item["id"] for item in tickets})
    for item in tickets:
        item["approval_running"] = item["id"] in held
    # Overdue in any ticket section (the pool's too, which "Overdue" leaves to their teams); an
    # approval row's "overdue" is its step's, set by its query.
    page_forms.mark_overdue([item for s in found if s.key in ORDER for item in s.items], clock.now())
    return found


def _section(key: str) -> Section:
    title, see_all, empty = SECTIONS[key]
    return Section(key=key, title=title, see_all=see_all, empty=empty)


def counts_of(found: list[Section]) -> dict[str, int | None]:
    return {s.key: s.count for s in found}


def row_actions(user: CurrentUser, ticket: dict) -> dict[str, bool]:
    """Which one-click buttons a row offers; the services check again when clicked."""
    workable = policy.can_work(user, ticket)
    return {
        "claim": policy.can_claim(user, ticket),
        "resolve": workable and workflow.can_move(ticket["status"], "resolved") and not ticket.get("approval_running"),
        "reply": True,
    }
