"""Revealing a masked phone number (page button and API) and the admins' log of reveals.

`revealed`, `wants_others` and `NO_STORE` are shared with the student pages' reveal
(app/students/controllers.py, api.py)."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Response

from app.core import phones as core_phones
from app.core.api import ERRORS, to
from app.core.auth import client_ip, require_roles
from app.core.deps import AuthUser
from app.core.forms import parse_int
from app.core.pagination import PageRequest
from app.core.web import page
from app.leads import phones

NO_STORE = {"Cache-Control": "no-store"}


def revealed(dom_id: str, phone: str, more: list[str], *, others: bool) -> Response:
    """The full numbers in place of the masked ones (phone.html's `masked_numbers` span `dom_id`), never cached;
    `more`: the family's other numbers, shown with `others`."""
    return HTMXTemplate(
        template_name="leads/phone_revealed.html",
        headers=NO_STORE,
        context={"dom_id": dom_id, "phone": phone, "phones": more, "others": others},
    )


async def wants_others(request: Request) -> bool:
    """The button's `others=1`: the family's other numbers too, not only the main one."""
    return (await request.form()).get("others") == "1"


class LeadPhoneController(Controller):
    path = "/leads"
    include_in_schema = False

    @post("/{lead_id:int}/phone/reveal", status_code=200)
    async def reveal(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response:
        """The "显示" button: swaps the masked number for the full one (and the others with `others=1`)."""
        numbers = await phones.reveal_lead_phone(user, lead_id, ip=client_ip(request))
        return revealed(f"phone-{lead_id}", numbers["phone"], numbers["phones"], others=await wants_others(request))


class LeadPhones(msgspec.Struct):
    id: int
    phone: str
    phones: list[str]


class LeadPhoneApi(Controller):
    path = "/api/v1/leads"
    tags = ["leads"]

    @post("/{lead_id:int}/phone/reveal", status_code=200, responses=ERRORS)
    async def reveal(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Response[LeadPhones]:
        """The lead's full numbers `{"id", "phone", "phones"}` for a caller who sees them masked. Each call is
        audited (who, which lead, when, from where); 403 when the caller may not see the lead."""
        numbers = await phones.reveal_lead_phone(user, lead_id, ip=client_ip(request))
        return Response(to(LeadPhones, numbers), headers=NO_STORE)


class PhoneRevealLogController(Controller):
    path = "/admin/phone-reveals"
    include_in_schema = False
    guards = [require_roles("admin")]

    @get("/")
    async def index(
        self,
        request: Request,
        user: AuthUser,
        actor: FromQuery[str] = "",
        kind: FromQuery[str] = "",
        record: FromQuery[str] = "",
        limit: FromQuery[str] = "",
        offset: FromQuery[str] = "",
    ) -> Response:
        kind = kind if kind in core_phones.REVEAL_TYPES else ""
        result = await core_phones.reveal_log(
            user,
            PageRequest.parse(limit, offset),
            kind=kind,
            actor=parse_int(actor),
            record=parse_int(record),
        )
        return await page(
            request,
            "leads/phone_reveals.html",
            page_data=result,
            types=core_phones.REVEAL_TYPES,
            params={"actor": actor, "kind": kind, "record": record},
            people=await core_phones.reveal_people(),
        )
