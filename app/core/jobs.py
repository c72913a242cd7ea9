"""Enqueueing arq jobs from the web process (pool created lazily)."""

from __future__ import annotations

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from app.settings import get_settings

_pool: ArqRedis | None = None


def arq_redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(get_settings().redis.url)


async def get_pool() -> ArqRedis:
    global _pool
    if _pool is None:
        _pool = await create_pool(arq_redis_settings())
    return _pool


async def enqueue(function: str, *args, job_id: str | None = None):
    pool = await get_pool()
    return await pool.enqueue_job(function, *args, _job_id=job_id)


async def close_pool() -> None:
    global _pool
    if _pool is not None:
        await _pool.aclose()
        _pool = None
