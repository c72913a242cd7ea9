"""The demo school `make run` loads (`python -m app seed-demo`): loaded once, in one transaction, and the
main pages work on it for the demo logins."""

from __future__ import annotations

from app.demo import data
from app.demo.seed import seed_demo
from tables.accounts.tables import User
from tables.leads.tables import Lead
from tables.students.tables import Student
from tables.tickets.tables import Ticket
from tests.support import login


async def test_the_demo_school_loads_once_and_its_pages_work(client):
    counts = await seed_demo()
    assert counts["lead"] == await Lead.count() > 0
    assert counts["student"] == await Student.count() > 0
    assert counts["ticket"] == await Ticket.count() == data.TICKET_COUNT
    numbers = [r["number"] for r in await Ticket.select(Ticket.number)]
    assert len(set(numbers)) == len(numbers)
    users = await User.count()

    assert await seed_demo() == {}  # already loaded: nothing added, nothing wiped
    assert (await User.count(), await Ticket.count()) == (users, data.TICKET_COUNT)

    answer = await login(client, "admin", data.ADMIN_PASSWORD)
    assert answer.status_code in (302, 303), answer.text[:300]
    for path in ("/workbench", "/board", "/tickets", "/leads", "/leads/pool", "/students", "/recycle"):
        page = await client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
    board = (await client.get("/board")).text
    assert "T-" in board  # cards of the demo's open tickets
