"""/healthz names the part that is down; the worker counts as alive while arq's heartbeat key lives."""

from __future__ import annotations

import asyncio

from app.core.redis import get_redis
from app.settings import get_settings

HEARTBEAT = "Nov-23 10:00:00 j_complete=0 j_failed=0 j_retried=0 j_ongoing=0 queued=0"


async def _beat(ttl_ms: int = 6000) -> None:
    """What arq's Worker.record_health writes: PSETEX <health_check_key> <ms> <info>."""
    await get_redis().psetex(get_settings().redis.worker_health_key, ttl_ms, HEARTBEAT)


async def test_healthy_when_database_redis_and_worker_answer(client):
    await _beat()
    response = await client.get("/healthz")  # no login needed: load balancers call it
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "worker": "ok"}


async def test_unhealthy_naming_the_worker_without_a_heartbeat(client):
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "redis": "ok", "worker": "error"}


async def test_an_expired_heartbeat_means_the_worker_is_gone(client):
    await _beat()
    assert (await client.get("/healthz")).status_code == 200
    # The worker stops beating: Redis lets the key lapse after its TTL (shortened here to 1 ms).
    await get_redis().pexpire(get_settings().redis.worker_health_key, 1)
    await asyncio.sleep(0.05)
    response = await client.get("/healthz")
    assert response.status_code == 503 and response.json()["worker"] == "error"
