"""Event audiences: who may receive an event, how it travels as JSON, and how a connection is matched.

The matching runs per connection without a query (app/realtime/audience.py); `owners` and records
are resolved once per event against the database, so those tests write real rows.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from app.core.events import ADMINS, EVERYONE, Audience, Event
from app.core.permissions import CurrentUser, led_team_ids
from app.leads import services as lead_services
from app.leads.audience import of_lead
from app.realtime.audience import Viewer, admits, resolve
from app.tickets import services as ticket_services
from app.tickets.audience import of_ticket
from app.tickets.services import Draft
from app.tickets.types.defaults import ensure_default_types
from tables.tickets.tables import TicketWatcher
from tests.support import make_campus, make_team, set_leader

ROOT = Path(__file__).resolve().parents[2]


def person(
    user_id: int = 1, role: str = "teacher", *, team: int | None = None, campus: int | None = None
) -> CurrentUser:
    return CurrentUser(id=user_id, username=f"u{user_id}", display_name="", role=role, team_id=team, campus_id=campus)


def test_an_audience_round_trips_through_json_in_a_compact_form():
    audience = Audience(
        users=(3, 1, 3),
        teams=(5,),
        leaders=(7,),
        campuses=(2,),
        roles=("admin", "supervisor@2"),
        owners=(9,),
        records=(("ticket", 4), ("lead", 8)),
    )
    event = Event("ticket.updated", {"id": 4}, audience=audience)
    raw = json.loads(event.to_json())
    assert raw["audience"]["users"] == [1, 3] and "everyone" not in raw["audience"]
    assert Event.from_json(event.to_json()) == event
    assert Event.from_json(Event("x", audience=EVERYONE).to_json()).audience == EVERYONE
    # An empty audience stays empty (nobody), it does not turn into "everyone".
    assert Event.from_json(Event("x", audience=Audience()).to_json()).audience == Audience()


def test_events_queued_before_audiences_are_still_read():
    """A web process may read events a not-yet-upgraded process published."""
    listed = Event.from_json('{"name": "notification.created", "payload": {"id": 1}, "audience": [7], "version": 1}')
    assert listed.audience == Audience.user(7)
    legacy = Event.from_json('{"name": "ticket.updated", "payload": {"id": 1}, "audience": null, "version": 1}')
    assert legacy.audience is None and admits(legacy.audience, Viewer(person()))
    assert Event.from_json('{"name": "ticket.updated"}').audience is None


def test_explicit_users_and_everyone():
    assert admits(Audience.user(1), Viewer(person(1)))
    assert not admits(Audience.user(1), Viewer(person(2)))
    assert admits(EVERYONE, Viewer(person(2)))
    assert not admits(Audience(), Viewer(person(2, "admin")))  # an admin is not in every audience: notifications


def test_teams_reach_members_and_leaders_above_leaders_only_leaders():
    member, outsider = Viewer(person(1, team=10)), Viewer(person(2, team=11))
    leader_above = Viewer(person(3, team=99), led_teams=frozenset({9, 10}))  # leads team 9, parent of 10
    assert admits(Audience(teams=(10,)), member) and admits(Audience(teams=(10,)), leader_above)
    assert not admits(Audience(teams=(10,)), outsider)
    # `leaders`: who sees the records of a team's members, not the teammates themselves.
    assert admits(Audience(leaders=(10,)), leader_above)
    assert not admits(Audience(leaders=(10,)), member)


def test_roles_may_be_limited_to_a_campus():
    desk_a = Viewer(person(1, "customer_service", campus=1))
    desk_b = Viewer(person(2, "customer_service", campus=2))
    desk_anywhere = Viewer(person(3, "customer_service"))
    admin_b = Viewer(person(4, "admin", campus=2))
    teacher_a = Viewer(person(5, "teacher", campus=1))
    at_a = Audience.roles_at(("customer_service", "admin"), 1)
    assert at_a.roles == ("admin@1", "customer_service@1")
    assert admits(at_a, desk_a) and admits(at_a, desk_anywhere) and admits(at_a, admin_b)
    assert not admits(at_a, desk_b) and not admits(at_a, teacher_a)
    assert admits(Audience.roles_at(("customer_service",)), desk_b)
    assert admits(Audience(campuses=(1,)), teacher_a) and not admits(Audience(campuses=(1,)), desk_b)
    assert admits(ADMINS, admin_b) and not admits(ADMINS, desk_a)


def test_audiences_combine_as_a_union():
    both = Audience.user(1) | Audience.roles_at(("admin",)) | Audience.record("ticket", 5)
    assert both == Audience(users=(1,), roles=("admin",), records=(("ticket", 5),))
    assert not both.is_concrete and Audience.user(1).is_concrete


async def test_a_tickets_audience_is_who_may_see_it(make_user):
    await ensure_default_types()
    campus, other = await make_campus(), await make_campus()
    parent = await make_team(campus=campus)
    team = await make_team(campus=campus, parent=parent)
    boss = await make_user("advisor", campus=campus)  # not the desk: sees the ticket only as the leader above
    await set_leader(parent, boss.id)
    teacher = await make_user("teacher", team=team, campus=campus)
    teammate = await make_user("teacher", team=team, campus=campus)
    watcher = await make_user("teacher", campus=other)
    stranger = await make_user("teacher", campus=campus)
    desk = await make_user("customer_service", campus=campus)
    far_desk = await make_user("customer_service", campus=other)
    admin = await make_user("admin")
    draft = Draft(
        type="repair",
        title="投影仪",
        fields={"location": "1", "equipment": "投影仪"},
        campus_id=campus,
        assignee_id=teacher.id,
    )
    ticket = await ticket_services.create_ticket(admin, draft)
    await TicketWatcher.insert(TicketWatcher(ticket=ticket["id"], user=watcher.id))

    audience = await resolve(of_ticket(ticket["id"]))

    async def sees(user) -> bool:
        return admits(audience, Viewer(user, await led_team_ids(user)))

    assert audience.is_concrete
    for user in (desk, teacher, boss, watcher):
        assert await sees(user), user.username
    for user in (far_desk, stranger, teammate):
        assert not await sees(user), user.username
    # Each of them agrees with the ticket policy itself.
    from app.tickets import policy

    for user in (desk, teacher, boss, watcher, far_desk, stranger, teammate):
        assert await sees(user) == await policy.can_view(user, ticket), user.username

    # Moved to the other campus: the change also reaches the desk that saw it before (its board drops the card).
    moved = await ticket_services.update_ticket(desk, ticket["id"], {"campus": other}, version=None)
    change = await resolve(of_ticket(ticket["id"], ticket))
    assert admits(change, Viewer(far_desk)) and admits(change, Viewer(desk))
    assert not admits(await resolve(of_ticket(moved["id"])), Viewer(desk))


async def test_a_leads_audience_is_its_owner_and_the_leaders_above(make_user):
    team, other_team = await make_team(), await make_team()
    leader = await make_user("supervisor", team=team)
    await set_leader(team, leader.id)
    owner = await make_user("advisor", team=team)
    teammate = await make_user("advisor", team=team)
    other_advisor = await make_user("advisor", team=other_team)
    admin = await make_user("admin")
    lead = await lead_services.create_lead(owner, {"student_name": "王小明", "phone": "13800138123", "owner": owner.id})

    audience = await resolve(of_lead(lead["id"]))
    seen = {
        u.username
        for u in (leader, owner, teammate, other_advisor, admin)
        if admits(audience, Viewer(u, await led_team_ids(u)))
    }
    assert seen == {leader.username, owner.username, admin.username}

    # Back in the public pool: everyone who works with leads.
    pool = await resolve(of_lead(lead["id"], old_owner=None, had_owner=True))
    assert admits(pool, Viewer(other_advisor))


async def test_an_unknown_record_kind_reaches_nobody_but_keeps_the_explicit_part():
    audience = await resolve(Audience.user(5) | Audience.record("no-such-kind", 1))
    assert audience == Audience.user(5)


def _events_without_audience(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Event"
            and len(node.args) < 3
            and not any(k.arg == "audience" for k in node.keywords)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_event_the_application_emits_names_its_audience():
    """None would mean "every connection" (kept only to read events queued before audiences)."""
    missing = [
        hit
        for folder in ("app", "tasks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for hit in _events_without_audience(path)
    ]
    assert missing == []
