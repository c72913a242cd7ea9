"""Live "waiting for my approval" counts over a real WebSocket (real uvicorn, Redis pub/sub and hub)."""

from __future__ import annotations

from app.approvals import services
from tests.integration.tickets.test_workbench import counts_in, live_server, open_socket, pushes
from tests.unit.approvals.school import make_school, open_refund


async def test_approvers_counts_follow_the_approval(app):
    school = await make_school()
    async with live_server(app) as address:
        teacher = await open_socket(address, school.class_teacher)
        supervisor = await open_socket(address, school.supervisor)
        finance = await open_socket(address, school.finance)
        try:
            ticket = await open_refund(school)
            got = counts_in(await pushes(teacher))
            assert got and got[-1]["approvals"] == "1"
            assert counts_in(await pushes(finance)) == []  # not their step: nothing pushed

            await services.decide(school.class_teacher, ticket["id"], "approve")
            assert counts_in(await pushes(teacher))[-1]["approvals"] == "0"
            assert counts_in(await pushes(supervisor))[-1]["approvals"] == "1"
            assert counts_in(await pushes(finance)) == []
        finally:
            for socket in (teacher, supervisor, finance):
                await socket.close()
