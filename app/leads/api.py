"""REST: /api/v1/leads."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.core import audit
from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.errors import FieldError, ValidationFailed
from app.core.i18n import gettext as _
from app.core.pagination import PageRequest
from app.leads import phones, services
from app.leads.schemas import OwnerScope

# API names for the foreign keys; the tables call them owner/campus.
_RENAMES = {"owner_id": "owner", "campus_id": "campus"}
_API_NAMES = {v: k for k, v in _RENAMES.items()}


def _api_field_names(exc: ValidationFailed) -> ValidationFailed:
    for error in exc.errors:
        error.field = _API_NAMES.get(error.field, error.field)
    return exc


def _serialise(lead: dict) -> dict:
    out = {k: v for k, v in lead.items() if k not in ("owner", "campus", "deleted_at", "duplicates", "merged_into", "student")}
    out["owner_id"], out["campus_id"] = lead.get("owner"), lead.get("campus")
    if "student" in lead:
        out["student_id"] = lead["student"]
    if "merged_into" in lead:
        out["merged_into_id"] = lead["merged_into"]
    if "duplicates" in lead:
        out["duplicates"] = [m.as_dict(_) for m in lead["duplicates"]]
    return out


def _body(data) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "Send a JSON object.")])
    return {_RENAMES.get(k, k): v for k, v in data.items()}


def _allow_duplicate(values: dict) -> bool:
    allow = values.pop("allow_duplicate", False)
    if not isinstance(allow, bool):
        raise ValidationFailed([FieldError("allow_duplicate", "Must be true or false.")])
    return allow


class LeadApi(Controller):
    path = "/api/v1/leads"
    tags = ["leads"]

    @get("/")
    async def list_leads(
        self, user: AuthUser, q: FromQuery[str] = "", status: FromQuery[str] = "", owner_scope: OwnerScope = "",
        limit: FromQuery[str | None] = None, offset: FromQuery[str | None] = None,
    ) -> dict:  # fmt: skip
        """Leads the caller may see, newest first. `scope` is `mine` or `pool` to narrow."""
        result = await services.list_leads(
            user, services.LeadFilter(q, status, owner_scope), PageRequest.parse(limit, offset)
        )
        return {"items": [_serialise(phones.present_lead(user, i)) for i in result.items], "total": result.total,
                "limit": result.limit, "offset": result.offset}  # fmt: skip

    @post("/")
    async def create_lead(self, request: Request, user: AuthUser, data: JSONBody[dict]) -> dict:
        """Create a lead. The same phone, e-mail or WeChat id as a stored lead answers 409 with
        `duplicates`; resend with `"allow_duplicate": true` to create it anyway. The created lead
        lists its likely duplicates (fuzzy ones warn only)."""
        values = _body(data)
        allow = _allow_duplicate(values)
        try:
            lead = await services.create_lead(user, values, ip=client_ip(request),
                                              allow_duplicate=allow)  # fmt: skip
        except ValidationFailed as exc:
            raise _api_field_names(exc) from None
        return _serialise(phones.present_lead(user, lead))

    @get("/{lead_id:int}")
    async def get_lead(self, user: AuthUser, lead_id: FromPath[int]) -> dict:
        return _serialise(phones.present_lead(user, await services.get_lead(user, lead_id)))

    @patch("/{lead_id:int}")
    async def update_lead(self, request: Request, user: AuthUser, lead_id: FromPath[int], data: JSONBody[dict]) -> dict:
        """Partial update. Send the `version` you read to refuse overwriting someone else's change (409)."""
        values = _body(data)
        allow = _allow_duplicate(values)
        version = values.pop("version", None)
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise ValidationFailed([FieldError("version", "Must be an integer.")])
        try:
            lead = await services.update_lead(user, lead_id, values, version=version,
                                              ip=client_ip(request), allow_duplicate=allow)  # fmt: skip
        except ValidationFailed as exc:
            raise _api_field_names(exc) from None
        return _serialise(phones.present_lead(user, lead))

    @delete("/{lead_id:int}")
    async def delete_lead(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> None:
        await services.delete_lead(user, lead_id, ip=client_ip(request))

    @get("/{lead_id:int}/duplicates")
    async def duplicates(self, user: AuthUser, lead_id: FromPath[int]) -> dict:
        """Likely duplicates of this lead among the live leads: `{"duplicates": [{"id", "score", "reasons", "blocking"}]}`."""
        matches = await services.duplicates_of(user, lead_id)
        return {"duplicates": [m.as_dict(_) for m in matches]}

    @get("/{lead_id:int}/history")
    async def history(self, user: AuthUser, lead_id: FromPath[int]) -> dict:
        lead = await services.get_lead(user, lead_id)
        return {"items": phones.present_changes(user, lead["owner"], await audit.history("lead", lead_id))}
