"""GET /healthz: database, Redis and worker, each named when it fails."""

from __future__ import annotations

import asyncio

from litestar import MediaType, Response, get

from app.core.db import ping_database
from app.core.redis import get_redis
from app.settings import get_settings


async def _check(coro) -> str:
    try:
        await asyncio.wait_for(coro, timeout=3)
        return "ok"
    except Exception:  # noqa: BLE001 - any failure means "not ok"; the name says which part
        return "error"


async def _worker_alive() -> None:
    if not await get_redis().exists(get_settings().redis.worker_health_key):
        raise RuntimeError("no recent worker heartbeat")


@get("/healthz", opt={"public": True}, include_in_schema=False, media_type=MediaType.JSON)
async def healthz() -> Response:
    database, redis_state = await asyncio.gather(_check(ping_database()), _check(get_redis().ping()))
    worker = await _check(_worker_alive()) if redis_state == "ok" else "unknown"
    ok = database == redis_state == worker == "ok"
    body = {"status": "ok" if ok else "error", "database": database, "redis": redis_state, "worker": worker}
    return Response(body, status_code=200 if ok else 503)
