"""The ticket page's Delete button: the ticket goes to the recycle bin, the answer offers Undo."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.params import FromPath
from litestar.response import Response

from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.recycle.controllers import moved_to_bin
from app.tickets import deletion


class TicketDeletionController(Controller):
    path = "/tickets/{ticket_id:int}"
    include_in_schema = False

    @post("/delete")
    async def delete(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:
        ticket = await deletion.delete_ticket(user, ticket_id, ip=client_ip(request))
        return await moved_to_bin(request, "ticket", ticket_id, f"{ticket['number']} {ticket['title']}", "/tickets")
