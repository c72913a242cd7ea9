"""REST: /api/v1/leads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET, UnsetType

from app.core import audit
from app.core import phones as core_phones
from app.core.api import ERRORS, DbInt, set_fields, to
from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.errors import ValidationFailed
from app.core.i18n import gettext as _
from app.core.pagination import PageRequest
from app.leads import phones, services
from app.leads.schemas import OwnerScope

# API names for the foreign keys; the tables call them owner/campus.
_RENAMES = {"owner_id": "owner", "campus_id": "campus"}
_API_NAMES = {v: k for k, v in _RENAMES.items()}

Text = str | None | UnsetType
TextList = list[str] | str | None | UnsetType


class LeadIn(msgspec.Struct):
    """A lead's fields; the service checks values and names each failing field (422). Lists may also be
    sent as one comma-separated string; null text counts as empty."""

    student_name: Text = UNSET
    guardian_name: Text = UNSET
    phone: Text = UNSET
    phones: TextList = UNSET
    email: Text = UNSET
    wechat: Text = UNSET
    city: Text = UNSET
    district: Text = UNSET
    grade: Text = UNSET
    course_interests: TextList = UNSET
    source: Text = UNSET
    source_campaign: Text = UNSET
    status: Text = UNSET
    invalid_reason: Text = UNSET
    owner_id: DbInt | UnsetType | None = UNSET
    campus_id: DbInt | UnsetType | None = UNSET
    note: Text = UNSET
    next_follow_up_on: Text = UNSET
    allow_duplicate: bool = False


class LeadPatch(LeadIn):
    """Only the fields sent change. `version`: the one you read (stale: 409)."""

    version: DbInt | UnsetType | None = UNSET


class DuplicateOut(msgspec.Struct):
    id: int
    score: int
    reasons: list[str]
    blocking: bool


class LeadSummary(msgspec.Struct):
    id: int
    student_name: str
    guardian_name: str
    phone: str
    phone_masked: bool
    status: str
    source: str
    city: str
    district: str
    grade: str
    next_follow_up_on: date | None
    created_at: datetime
    version: int
    owner_id: int | None
    owner_name: str | None
    campus_id: int | None


class LeadOut(LeadSummary):
    email: str
    wechat: str
    campus_name: str | None
    note: str
    phones: list[str]
    course_interests: list[str]
    source_campaign: str
    invalid_reason: str
    converted_at: datetime | None
    updated_at: datetime
    student_id: int | UnsetType | None = UNSET
    merged_into_id: int | UnsetType | None = UNSET
    duplicates: list[DuplicateOut] | UnsetType = UNSET  # on create and update: likely duplicates, best first


class LeadPage(msgspec.Struct):
    items: list[LeadSummary]
    total: int
    limit: int
    offset: int


class Duplicates(msgspec.Struct):
    duplicates: list[DuplicateOut]


class HistoryEntry(msgspec.Struct):
    id: int
    action: str
    changes: dict[str, Any]  # field -> [old, new]
    at: datetime
    actor_name: str | None


class History(msgspec.Struct):
    items: list[HistoryEntry]


def _api_field_names(exc: ValidationFailed) -> ValidationFailed:
    for error in exc.errors:
        error.field = _API_NAMES.get(error.field, error.field)
    return exc


def _serialise(lead: dict) -> dict:
    out = {
        k: v
        for k, v in lead.items()
        if k not in ("owner", "campus", "deleted_at", "duplicates", "merged_into", "student")
    }
    out["owner_id"], out["campus_id"] = lead.get("owner"), lead.get("campus")
    if "student" in lead:
        out["student_id"] = lead["student"]
    if "merged_into" in lead:
        out["merged_into_id"] = lead["merged_into"]
    if "duplicates" in lead:
        out["duplicates"] = [m.as_dict(_) for m in lead["duplicates"]]
    return out


def _values(data: LeadIn) -> dict:
    values = set_fields(data)
    values.pop("allow_duplicate", None)
    values.pop("version", None)
    return {_RENAMES.get(k, k): v for k, v in values.items()}


class LeadApi(Controller):
    path = "/api/v1/leads"
    tags = ["leads"]

    @get("/", responses=ERRORS)
    async def list_leads(
        self,
        user: AuthUser,
        q: FromQuery[str] = "",
        status: FromQuery[str] = "",
        owner_scope: OwnerScope = "",
        limit: FromQuery[str | None] = None,
        offset: FromQuery[str | None] = None,
    ) -> LeadPage:
        """Leads the caller may see, newest first. `scope` is `mine` or `pool` to narrow."""
        result = await services.list_leads(
            user, services.LeadFilter(q, status, owner_scope), PageRequest.parse(limit, offset)
        )
        return LeadPage(
            [to(LeadSummary, _serialise(phones.present_lead(user, i))) for i in result.items],
            result.total,
            result.limit,
            result.offset,
        )

    @post("/", responses=ERRORS)
    async def create_lead(self, request: Request, user: AuthUser, data: JSONBody[LeadIn]) -> LeadOut:
        """Create a lead. The same phone, e-mail or WeChat id as a stored lead answers 409 with
        `duplicates`; resend with `"allow_duplicate": true` to create it anyway. The created lead
        lists its likely duplicates (fuzzy ones warn only)."""
        try:
            lead = await services.create_lead(
                user, _values(data), ip=client_ip(request), allow_duplicate=data.allow_duplicate
            )
        except ValidationFailed as exc:
            raise _api_field_names(exc) from None
        return to(LeadOut, _serialise(phones.present_lead(user, lead)))

    @get("/{lead_id:int}", responses=ERRORS)
    async def get_lead(self, user: AuthUser, lead_id: FromPath[int]) -> LeadOut:
        return to(LeadOut, _serialise(phones.present_lead(user, await services.get_lead(user, lead_id))))

    @patch("/{lead_id:int}", responses=ERRORS)
    async def update_lead(
        self, request: Request, user: AuthUser, lead_id: FromPath[int], data: JSONBody[LeadPatch]
    ) -> LeadOut:
        """Partial update. Send the `version` you read to refuse overwriting someone else's change (409)."""
        version = data.version if isinstance(data.version, int) else None
        try:
            lead = await services.update_lead(
                user,
                lead_id,
                _values(data),
                version=version,
                ip=client_ip(request),
                allow_duplicate=data.allow_duplicate,
            )
        except ValidationFailed as exc:
            raise _api_field_names(exc) from None
        return to(LeadOut, _serialise(phones.present_lead(user, lead)))

    @delete("/{lead_id:int}", responses=ERRORS)
    async def delete_lead(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> None:
        await services.delete_lead(user, lead_id, ip=client_ip(request))

    @get("/{lead_id:int}/duplicates", responses=ERRORS)
    async def duplicates(self, user: AuthUser, lead_id: FromPath[int]) -> Duplicates:
        """Likely duplicates of this lead among the live leads: `{"duplicates": [{"id", "score", "reasons", "blocking"}]}`."""
        matches = await services.duplicates_of(user, lead_id)
        return Duplicates([to(DuplicateOut, m.as_dict(_)) for m in matches])

    @get("/{lead_id:int}/history", responses=ERRORS)
    async def history(self, user: AuthUser, lead_id: FromPath[int]) -> History:
        lead = await services.get_lead(user, lead_id)
        entries = core_phones.present_changes(user, lead["owner"], await audit.history("lead", lead_id))
        return History([to(HistoryEntry, e) for e in entries])
