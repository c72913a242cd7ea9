"""The demo school `make run` loads (`python -m app seed-demo`): loaded once, in one transaction, and the
main pages work on it for the demo logins."""

from __future__ import annotations

from datetime import UTC, datetime

from app.core.clock import FrozenClock
from app.demo import data
from app.demo.context import LOCAL_TZ
from app.demo.seed import seed_demo
from app.leads.follow_ups.services import remind_due
from app.sla.scan import scan
from app.tickets.types.fields import clean_values
from tables.accounts.tables import User
from tables.follow_ups.tables import FollowUp
from tables.leads.tables import Lead
from tables.notifications.tables import Notification
from tables.sla.tables import SlaAction, TicketSla
from tables.students.tables import Student
from tables.tickets.tables import Ticket, TicketActivity, TicketType
from tests.support import login


async def test_the_demo_school_loads_once_and_its_pages_work(client):
    started = datetime.now(UTC).replace(microsecond=0)  # the seed's "now" is this or later
    counts = await seed_demo()
    assert counts["lead"] == await Lead.count() > 0
    assert counts["student"] == await Student.count() > 0
    assert counts["ticket"] == await Ticket.count() == data.TICKET_COUNT
    numbers = [r["number"] for r in await Ticket.select(Ticket.number)]
    assert len(set(numbers)) == len(numbers)
    users = await User.count()
    # Each ticket has the timeline of how it got where it is: one "created" row, and its last move
    # reaches the status it has, at the time it says it was resolved or closed.
    assert await TicketActivity.count().where(TicketActivity.kind == "created") == data.TICKET_COUNT
    for status in ("resolved", "closed", "pending"):
        ticket = (
            await Ticket.select(Ticket.id, Ticket.resolved_at, Ticket.closed_at, Ticket.first_response_at)
            .where(Ticket.status == status)
            .first()
        )
        moves = (
            await TicketActivity.select(TicketActivity.changes, TicketActivity.created_at)
            .where((TicketActivity.ticket == ticket["id"]) & (TicketActivity.kind == "status"))
            .order_by(TicketActivity.id)
            .output(load_json=True)
        )
        assert moves[-1]["changes"]["status"][1] == status and ticket["first_response_at"] is not None
        if status != "pending":
            assert ticket[f"{status}_at"] == moves[-1]["created_at"]

    # The forms are filled in as a requester would have: every value passes its type's form, the
    # required ones are there, and the text ones are found by the search.
    forms = {
        r["id"]: r["fields"] for r in await TicketType.select(TicketType.id, TicketType.fields).output(load_json=True)
    }
    tickets = await Ticket.select(Ticket.ticket_type, Ticket.fields, Ticket.search_text, Ticket.class_group).output(
        load_json=True
    )
    for ticket in tickets:
        values, errors = clean_values(forms[ticket["ticket_type"]], ticket["fields"])
        assert (errors, values) == ([], ticket["fields"]), ticket
    assert sum(1 for t in tickets if t["fields"]) == data.TICKET_COUNT
    leave = [t for t in tickets if "lesson_date" in t["fields"]]
    assert leave and all(t["fields"]["class_group"] == t["class_group"] for t in leave)  # the form names its class
    asked = next(t for t in tickets if "device" in t["fields"])  # a value only the form holds
    assert asked["fields"]["device"].lower() in asked["search_text"]

    # A claim is one row carrying both changes, as claim_ticket writes it: no separate move out of "new".
    moves = (
        await TicketActivity.select(TicketActivity.kind, TicketActivity.changes)
        .where(TicketActivity.kind.is_in(["assign", "status"]))
        .output(load_json=True)
    )
    assert not [m for m in moves if m["kind"] == "status" and m["changes"]["status"][0] == "new"]
    assert any(m["kind"] == "assign" and m["changes"].get("status") == ["new", "assigned"] for m in moves)

    # Service levels as for any ticket: a snapshot each, dues on the open ones, and what fell due before
    # today already acted on, so the worker's first scan does not send weeks of reminders at once.
    assert await TicketSla.count() == data.TICKET_COUNT
    assert (
        await Ticket.count().where(Ticket.status.is_in(["new", "assigned", "in_progress"]) & Ticket.due_at.is_null())
        == 0
    )
    assert await SlaAction.count() > 0 and await TicketActivity.count().where(TicketActivity.kind == "sla") > 0
    rows = (
        await TicketActivity.select(TicketActivity.ticket, TicketActivity.created_at)
        .order_by(TicketActivity.ticket)
        .order_by(TicketActivity.id)
    )
    assert all(a["created_at"] <= b["created_at"] for a, b in zip(rows, rows[1:]) if a["ticket"] == b["ticket"])
    # At the moment the seed started, everything that had fallen due is already acted on.
    acted = await scan(FrozenClock(started))
    assert sum(acted.values()) == 0, acted
    assert await Notification.count().where(Notification.kind.like("sla%")) == 0

    # Leads an advisor has worked carry the follow-ups that brought them to their status, within the
    # lead's life; no reminder that fell due before the seed is still waiting to go out.
    worked = await Lead.select(Lead.id, Lead.created_at, Lead.updated_at, Lead.status).where(
        Lead.status.is_in(["contacted", "visited", "trial", "won"])
    )
    contacts: dict[int, list[dict]] = {}
    for row in (
        await FollowUp.select(
            FollowUp.lead, FollowUp.created_at, FollowUp.kind, FollowUp.note, FollowUp.next_follow_up_at
        )
        .order_by(FollowUp.created_at)
        .order_by(FollowUp.id)
    ):
        contacts.setdefault(row["lead"], []).append(row)
    assert worked and all(contacts.get(lead["id"]) for lead in worked)
    assert all(
        lead["created_at"] <= f["created_at"] <= lead["updated_at"] for lead in worked for f in contacts[lead["id"]]
    )
    assert all(contacts[lead["id"]][-1]["created_at"] == lead["updated_at"] for lead in worked)
    planned = [f for rows in contacts.values() for f in rows if f["next_follow_up_at"] is not None]
    assert planned and all(f["next_follow_up_at"] > f["created_at"] for f in planned)  # planned for later
    assert all(8 <= f["created_at"].astimezone(LOCAL_TZ).hour < 22 for rows in contacts.values() for f in rows)
    visited = next(lead for lead in worked if lead["status"] == "visited")
    assert contacts[visited["id"]][-1]["kind"] == "visit"
    assert await remind_due(FrozenClock(started)) == 0
    assert await FollowUp.count().where(FollowUp.reminder == "pending") > 0
    interests = [r["course_interests"] for r in await Lead.select(Lead.course_interests).output(load_json=True)]
    assert sum(1 for i in interests if i) > len(interests) / 2 and all(
        set(i) <= set(data.LEAD_SUBJECTS) for i in interests
    )

    assert await seed_demo() == {}  # already loaded: nothing added, nothing wiped
    assert (await User.count(), await Ticket.count()) == (users, data.TICKET_COUNT)

    answer = await login(client, "admin", data.ADMIN_PASSWORD)
    assert answer.status_code in (302, 303), answer.text[:300]
    for path in ("/workbench", "/board", "/tickets", "/leads", "/leads/pool", "/students", "/recycle"):
        page = await client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
    board = (await client.get("/board")).text
    assert "T-" in board  # cards of the demo's open tickets
    timeline = (await client.get(f"/leads/{visited['id']}/timeline", headers={"HX-Request": "true"})).text
    assert contacts[visited["id"]][-1]["note"] in timeline  # the follow-ups on the lead's timeline
