"""REST: the public pool (/api/v1/lead-pool, claim, release) and a lead's follow-ups."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.errors import FieldError, ValidationFailed
from app.core.pagination import PageRequest
from app.leads import follow_ups, pool


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _follow_up(row: dict) -> dict:
    return {
        "id": row["id"], "lead_id": row["lead"], "student_id": row["student"], "author_id": row["author"],
        "author_name": row["author_name"], "kind": row["kind"], "outcome": row["outcome"], "note": row["note"],
        "next_step": row["next_step"], "next_follow_up_at": _iso(row["next_follow_up_at"]),
        "reminder": row["reminder"], "created_at": _iso(row["created_at"]),
    }  # fmt: skip


class LeadPoolApi(Controller):
    path = "/api/v1"
    tags = ["lead pool"]

    @get("/lead-pool")
    async def list_pool(
        self, user: AuthUser, q: FromQuery[str] = "", city: FromQuery[str] = "",
        limit: FromQuery[str | None] = None, offset: FromQuery[str | None] = None,
    ) -> dict:  # fmt: skip
        """Leads in the public pool (phones masked), and how many private leads the caller holds and may hold."""
        result = await pool.list_pool(user, pool.PoolFilter(q, city), PageRequest.parse(limit, offset))
        return {"items": result.items, "total": result.total, "limit": result.limit, "offset": result.offset,
                "quota": await pool.quota(user)}  # fmt: skip

    @post("/leads/{lead_id:int}/claim", status_code=200)
    async def claim(self, request: Request, user: AuthUser, lead_id: FromPath[int]) -> dict:
        """Take a lead from the pool. 409 when someone was first or the caller is at the limit."""
        await pool.claim(user, lead_id, ip=client_ip(request))
        return {"id": lead_id, "owner_id": user.id, "quota": await pool.quota(user)}

    @post("/leads/{lead_id:int}/release", status_code=200)
    async def release(self, request: Request, user: AuthUser, lead_id: FromPath[int], data: JSONBody[dict | None] = None) -> dict:
        """Put a lead back into the pool (owner, or their supervisor, or an admin). Optional `reason`."""
        reason = (data or {}).get("reason", "") if isinstance(data, dict) else ""
        if not isinstance(reason, str):
            raise ValidationFailed([FieldError("reason", "Must be text.")])
        await pool.release(user, lead_id, reason=reason, ip=client_ip(request))
        return {"id": lead_id, "owner_id": None}

    @get("/leads/{lead_id:int}/follow-ups")
    async def list_follow_ups(self, user: AuthUser, lead_id: FromPath[int]) -> dict:
        rows = await follow_ups.list_for_lead(user, lead_id)
        return {"items": [_follow_up(r) for r in rows]}

    @post("/leads/{lead_id:int}/follow-ups", status_code=201)
    async def add_follow_up(self, request: Request, user: AuthUser, lead_id: FromPath[int], data: JSONBody[dict]) -> dict:
        """`kind` (phone, visit, sms, email, wechat, trial), `outcome`, `note`, `next_step`,
        `next_follow_up_at` (ISO 8601; without an offset, school time)."""
        row = await follow_ups.add_follow_up(user, data, lead_id=lead_id, ip=client_ip(request))
        return _follow_up(row)
