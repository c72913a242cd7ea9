"""REST: the public pool (/api/v1/lead-pool, claim, release) and a lead's follow-ups."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.core.api import ERRORS, to
from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.pagination import PageRequest
from app.leads.follow_ups import services as follow_ups
from app.leads.pool import services as pool


class Quota(msgspec.Struct):
    held: int
    limit: int | None  # null: no limit


class PoolLead(msgspec.Struct):
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
    created_at: datetime
    updated_at: datetime


class PoolPage(msgspec.Struct):
    items: list[PoolLead]
    total: int
    limit: int
    offset: int
    quota: Quota


class Claimed(msgspec.Struct):
    id: int
    owner_id: int
    quota: Quota


class ReleaseIn(msgspec.Struct):
    reason: str = ""


class Released(msgspec.Struct):
    id: int
    owner_id: None


class FollowUpIn(msgspec.Struct):
    """`kind` (phone, visit, sms, email, wechat, trial), `outcome`, `note`, `next_step`, `next_follow_up_at`
    (ISO 8601; without an offset, school time). The service names each failing field (422)."""

    kind: str | None = None
    outcome: str | None = None
    note: str | None = None
    next_step: str | None = None
    next_follow_up_at: str | None = None


class FollowUpOut(msgspec.Struct):
    id: int
    lead_id: int | None
    student_id: int | None
    author_id: int | None
    author_name: str | None
    kind: str
    outcome: str
    note: str
    next_step: str
    next_follow_up_at: str | None
    reminder: str
    created_at: str


class FollowUps(msgspec.Struct):
    items: list[FollowUpOut]


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _follow_up(row: dict) -> FollowUpOut:
    return to(
        FollowUpOut,
        {
            "id": row["id"],
            "lead_id": row["lead"],
            "student_id": row["student"],
            "author_id": row["author"],
            "author_name": row["author_name"],
            "kind": row["kind"],
            "outcome": row["outcome"],
            "note": row["note"],
            "next_step": row["next_step"],
            "next_follow_up_at": _iso(row["next_follow_up_at"]),
            "reminder": row["reminder"],
            "created_at": _iso(row["created_at"]),
        },
    )


class LeadPoolApi(Controller):
    path = "/api/v1"
    tags = ["lead pool"]

    @get("/lead-pool", responses=ERRORS)
    async def list_pool(
        self,
        user: AuthUser,
        q: FromQuery[str] = "",
        city: FromQuery[str] = "",
        limit: FromQuery[str | None] = None,
        offset: FromQuery[str | None] = None,
    ) -> PoolPage:
        """Leads in the public pool (phones masked), and how many private leads the caller holds and may hold."""
        result = await pool.list_pool(user, pool.PoolFilter(q, city), PageRequest.parse(limit, offset))
        return PoolPage(
            [to(PoolLead, i) for i in result.items],
            result.total,
            result.limit,
            result.offset,
            to(Quota, await pool.quota(user)),
        )

    @post("/leads/{lead_id:int}/claim", status_code=200, responses=ERRORS)
    async def claim(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> Claimed:
        """Take a lead from the pool. 409 when someone was first or the caller is at the limit."""
        await pool.claim(user, lead_id, ip=client_ip(request))
        return Claimed(lead_id, user.id, to(Quota, await pool.quota(user)))

    @post("/leads/{lead_id:int}/release", status_code=200, responses=ERRORS)
    async def release(
        self, request: Request, user: AuthUser, lead_id: FromPath[int], data: JSONBody[ReleaseIn | None] = None
    ) -> Released:
        """Put a lead back into the pool (owner, or their supervisor, or an admin). Optional `reason`."""
        reason = data.reason if data is not None else ""
        await pool.release(user, lead_id, reason=reason, ip=client_ip(request))
        return Released(lead_id, None)

    @get("/leads/{lead_id:int}/follow-ups", responses=ERRORS)
    async def list_follow_ups(self, user: AuthUser, lead_id: FromPath[int]) -> FollowUps:
        rows = await follow_ups.list_for_lead(user, lead_id)
        return FollowUps([_follow_up(r) for r in rows])

    @post("/leads/{lead_id:int}/follow-ups", status_code=201, responses=ERRORS)
    async def add_follow_up(
        self, request: Request, user: AuthUser, lead_id: FromPath[int], data: JSONBody[FollowUpIn]
    ) -> FollowUpOut:
        """Record a contact with the lead."""
        values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        row = await follow_ups.add_follow_up(user, values, lead_id=lead_id, ip=client_ip(request))
        return _follow_up(row)
