"""End to end with real processes: a uvicorn web server, a real arq worker, a real WebSocket.

An agent with the repair skill opens /ws (so they are online); a ticket created over the REST API is
assigned to them by the worker within 2 s. When their socket closes they are offline, and the next
ticket waits in the queue with the reason on its timeline.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import websockets

from app.assignment import presence
from app.tickets.types.defaults import ensure_default_types
from tables.assignment.tables import AssignmentDecision, StaffShift, StaffSkill
from tables.tickets.tables import Ticket, TicketActivity
from tests.support import WORKER_COMMAND, free_port, login, process, token_for, wait_http, web_command


@pytest.fixture
def web_and_worker(tmp_path):
    port = free_port()
    with process(web_command(port), tmp_path / "web.log"), process(WORKER_COMMAND, tmp_path / "worker.log"):
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/login")
        yield base


async def _wait_for(check, timeout: float) -> float:
    """Poll `check()` until truthy; returns the seconds it took (fails after `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout}s")


async def test_a_ticket_created_over_http_is_assigned_within_two_seconds(web_and_worker, make_user):
    await ensure_default_types()
    desk = await make_user("customer_service")
    agent = await make_user("customer_service")
    await StaffSkill.insert(StaffSkill(user=agent.id, kind="type", value="repair"))
    await StaffShift.insert(*[StaffShift(user=agent.id, weekday=d, start_minute=0, end_minute=1440) for d in range(7)])
    headers = await token_for(desk)
    body = {"type": "repair", "title": "302 投影仪不亮", "fields": {"location": "302", "equipment": "投影仪"}}

    async with httpx.AsyncClient(base_url=web_and_worker) as http:
        await login(http, agent)
        cookie = f"sy_session={http.cookies.get('sy_session')}"
        ws_url = web_and_worker.replace("http", "ws") + "/ws"
        async with websockets.connect(ws_url, additional_headers={"Cookie": cookie}) as socket:
            await socket.recv()  # the bell: the server has run its connect hooks
            await _wait_for(lambda: _online(agent.id), 2)

            created = await http.post("/api/v1/tickets", json=body, headers=headers)
            assert created.status_code == 201, created.text
            ticket_id = created.json()["id"]
            took = await _wait_for(lambda: _assignee_is(ticket_id, agent.id), 2)
            assert took < 2

        # The socket is closed: offline at once, and the next ticket waits in the queue with a reason.
        await _wait_for(lambda: _offline(agent.id), 2)
        second = (await http.post("/api/v1/tickets", json=body, headers=headers)).json()["id"]
        await _wait_for(lambda: AssignmentDecision.exists().where(AssignmentDecision.ticket == second), 2)
    row = await Ticket.select(Ticket.assignee).where(Ticket.id == second).first()
    assert row["assignee"] is None
    note = (
        await TicketActivity.select(TicketActivity.body)
        .where((TicketActivity.ticket == second) & (TicketActivity.kind == "note"))
        .first()
    )
    assert note is not None and "设备报修" in note["body"]


async def _online(user_id: int) -> bool:
    return user_id in await presence.online_user_ids()


async def _offline(user_id: int) -> bool:
    return user_id not in await presence.online_user_ids()


async def _assignee_is(ticket_id: int, user_id: int) -> bool:
    row = await Ticket.select(Ticket.assignee).where(Ticket.id == ticket_id).first()
    return row is not None and row["assignee"] == user_id
