"""Revealing a masked phone number (page button and API) and the admins' log of reveals."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Response

from app.core.auth import client_ip, require_roles
from app.core.pagination import PageRequest
from app.core.web import page
from app.leads import phones


class LeadPhoneController(Controller):
    path = "/leads"
    include_in_schema = False

    @post("/{lead_id:int}/phone/reveal", status_code=200)
    async def reveal(self, request: Request, lead_id: FromPath[int]) -> Response:
        """The "显示" button: swaps the masked number for the full one (and the others with `others=1`)."""
        numbers = await phones.reveal_lead_phone(request.scope["user"], lead_id, ip=client_ip(request))
        others = (await request.form()).get("others") == "1"
        return HTMXTemplate(template_name="leads/phone_revealed.html", context={**numbers, "others": others},
                            headers={"Cache-Control": "no-store"})  # fmt: skip


class LeadPhoneApi(Controller):
    path = "/api/v1/leads"
    tags = ["leads"]

    @post("/{lead_id:int}/phone/reveal", status_code=200)
    async def reveal(self, request: Request, lead_id: FromPath[int]) -> Response:
        """The lead's full numbers `{"id", "phone", "phones"}` for a caller who sees them masked. Each call is
        audited (who, which lead, when, from where); 403 when the caller may not see the lead."""
        numbers = await phones.reveal_lead_phone(request.scope["user"], lead_id, ip=client_ip(request))
        return Response(numbers, headers={"Cache-Control": "no-store"})


class PhoneRevealLogController(Controller):
    path = "/admin/phone-reveals"
    include_in_schema = False
    guards = [require_roles("admin")]

    @get("/")
    async def index(self, request: Request, actor: FromQuery[str] = "", record: FromQuery[str] = "",
                    limit: FromQuery[str] = "", offset: FromQuery[str] = "") -> Response:  # fmt: skip
        result = await phones.reveal_log(
            request.scope["user"], PageRequest.parse(limit, offset),
            actor=int(actor) if actor.isdigit() else None, record=int(record) if record.isdigit() else None,
        )  # fmt: skip
        return await page(request, "leads/phone_reveals.html", page_data=result, types=phones.REVEAL_TYPES,
                          params={"actor": actor, "record": record}, people=await phones.reveal_people())  # fmt: skip
