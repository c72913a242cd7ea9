"""The ticket page's Delete button: the ticket goes to the recycle bin, the answer offers Undo."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.params import FromPath
from litestar.response import Response

from app.core.auth import client_ip
from app.core.web import page
from app.tickets import deletion


class TicketDeletionController(Controller):
    path = "/tickets/{ticket_id:int}"
    include_in_schema = False

    @post("/delete")
    async def delete(self, request: Request, ticket_id: FromPath[int]) -> Response:
        ticket = await deletion.delete_ticket(request.scope["user"], ticket_id, ip=client_ip(request))
        shown = await page(request, "recycle/deleted.html", kind="ticket", item_id=ticket_id,
                           name=f"{ticket['number']} {ticket['title']}", back_url="/tickets")  # fmt: skip
        # The ticket's own URL is a 404 now: the address bar shows the bin, where it can be found again.
        shown.headers["HX-Push-Url"] = "/recycle?kind=ticket"
        return shown
