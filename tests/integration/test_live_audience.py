"""Event audiences over a real WebSocket (real uvicorn, Redis pub/sub and hub): a connection receives
only the events its user may see.

A probe renderer answers every event it is given, so what reaches a socket shows whom the hub
chose; the live board and the bell are the real renderers behind the same gate.
"""

from __future__ import annotations

import asyncio
import json
import re

from app.core.events import Event
from app.leads import services as lead_services
from app.realtime import hub as hub_module
from app.realtime.hub import Connection
from app.tickets import services as ticket_services
from app.tickets.services import Draft
from app.tickets.types.defaults import ensure_default_types
from tests.integration.tickets.test_workbench import live_server, open_socket, pushes
from tests.support import make_campus, make_team, set_leader

PROBED = ("ticket.updated", "lead.updated")
PROBE_RE = re.compile(r'<div id="probe" data-event="([^"]+)" data-id="([^"]*)">')


async def _probe(event: Event, conn: Connection) -> str:
    return f'<div id="probe" data-event="{event.name}" data-id="{event.payload.get("id")}"></div>'


def _probes(messages: list[str]) -> set[str]:
    """The `event:id` of every probe the socket received."""
    return {f"{name}:{id_}" for m in messages for name, id_ in PROBE_RE.findall(m)}


async def test_a_connection_receives_only_what_its_user_may_see(app, make_user):
    await ensure_default_types()
    campus_a, campus_b = await make_campus(), await make_campus()
    team_a, team_b = await make_team(campus=campus_a), await make_team(campus=campus_b)
    desk_a = await make_user("customer_service", campus=campus_a)
    desk_b = await make_user("customer_service", campus=campus_b)
    leader_a = await make_user("advisor", team=team_a, campus=campus_a)
    await set_leader(team_a, leader_a.id)
    advisor_a = await make_user("advisor", team=team_a, campus=campus_a)
    advisor_b = await make_user("advisor", team=team_b, campus=campus_b)
    people = {"desk_a": desk_a, "desk_b": desk_b, "leader_a": leader_a, "advisor_a": advisor_a, "advisor_b": advisor_b}

    hub_module.on_event(*PROBED)(_probe)
    try:
        async with live_server(app) as address:
            sockets = {name: await open_socket(address, user, on_workbench=False) for name, user in people.items()}
            try:
                for name in ("desk_a", "desk_b"):  # both desks show the live board of every campus they see
                    await sockets[name].send(json.dumps({"type": "subscribe", "board": {}}))
                    assert any("live" in m for m in await pushes(sockets[name], 0.5))

                # A ticket of campus A changes: A's desk sees it on its board, B's desk gets nothing.
                draft = Draft(
                    type="repair", title="三楼空调", fields={"location": "301", "equipment": "空调"}, campus_id=campus_a
                )
                ticket = await ticket_services.create_ticket(desk_a, draft)
                await ticket_services.update_ticket(desk_a, ticket["id"], {"priority": "high"}, version=None)
                got = dict(zip(sockets, await asyncio.gather(*(pushes(s) for s in sockets.values()))))
                card = f"card-{ticket['id']}"
                assert f"ticket.updated:{ticket['id']}" in _probes(got["desk_a"])
                assert any(card in m for m in got["desk_a"])
                for name in ("desk_b", "advisor_a", "advisor_b", "leader_a"):
                    assert got[name] == [], name  # not even a "remove this card" or a count refresh

                # A lead of team A's advisor changes: the advisor and their leader hear of it,
                # another team's advisor and the desks do not.
                lead = await lead_services.create_lead(
                    advisor_a, {"student_name": "李小雨", "phone": "13900139001", "owner": advisor_a.id}
                )
                await lead_services.update_lead(advisor_a, lead["id"], {"grade": "初二"}, version=None)
                got = dict(zip(sockets, await asyncio.gather(*(pushes(s) for s in sockets.values()))))
                heard = {name for name, messages in got.items() if f"lead.updated:{lead['id']}" in _probes(messages)}
                assert heard == {"advisor_a", "leader_a"}
                assert got["advisor_b"] == [] and got["desk_b"] == []

                # A mention reaches the bell of the person mentioned only.
                await ticket_services.add_message(desk_a, ticket["id"], f"@{leader_a.username} 请看一下", public=False)
                got = dict(zip(sockets, await asyncio.gather(*(pushes(s) for s in sockets.values()))))
                toasted = {name for name, messages in got.items() if any('class="toast"' in m for m in messages)}
                assert toasted == {"leader_a"}
            finally:
                for socket in sockets.values():
                    await socket.close()
    finally:
        for name in PROBED:
            hub_module._renderers[name].remove(_probe)
