"""Enqueueing arq jobs from the web process and the worker.

arq's own `enqueue_job` takes three round trips to Redis (WATCH, EXISTS, then MULTI/EXEC). The
script below does the same in one, atomically: a job whose id is queued already, or whose result
is still kept, is not queued again. The job is serialised by arq itself, so the worker reads it
exactly as one arq queued. After a commit, the events and the jobs of the write go to Redis in a
single pipeline (`dispatch`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import default_queue_name, expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from app.core.redis import get_redis
from app.settings import get_settings

log = logging.getLogger(__name__)

_pool: ArqRedis | None = None

_ENQUEUE = """
if redis.call('exists', KEYS[1], KEYS[2]) == 0 then
  redis.call('psetex', KEYS[1], ARGV[1], ARGV[2])
  redis.call('zadd', KEYS[3], ARGV[3], ARGV[4])
  return 1
end
return 0
"""

# function, args, job id (None: a fresh one), coalescing window in ms (0: none; see `enqueue`)
Job = tuple[str, Sequence[Any], str | None, int]


def arq_redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(get_settings().redis.url)


async def get_pool() -> ArqRedis:
    global _pool
    if _pool is None:
        _pool = await create_pool(arq_redis_settings())
    return _pool


def _script_args(function: str, args: Sequence[Any], job_id: str | None, coalesce_ms: int = 0) -> tuple[Any, ...]:
    now = timestamp_ms()
    run_at = now
    if coalesce_ms:
        # One job per window: the first call of the window queues it to run when the window ends,
        # the others find it queued. The arguments are the first call's.
        window = now // coalesce_ms
        job_id, run_at = f"{job_id or function}:{window}", (window + 1) * coalesce_ms
    job_id = job_id or uuid4().hex
    job = serialize_job(function, tuple(args), {}, None, now)
    keys = (job_key_prefix + job_id, result_key_prefix + job_id, default_queue_name)
    return (_ENQUEUE, len(keys), *keys, expires_extra_ms + run_at - now, job, run_at, job_id)


async def enqueue(function: str, *args: Any, job_id: str | None = None, coalesce_ms: int = 0) -> bool:
    """Queue `function(*args)` for the worker now; False if a job with this id exists already.

    With `coalesce_ms`, calls within the same window of that many milliseconds share one job
    (id `<job_id>:<window>`), run at the window's end: for jobs that take care of everything
    waiting at the time they run, so that a burst costs a few jobs instead of one per call."""
    return bool(await get_redis().eval(*_script_args(function, args, job_id, coalesce_ms)))  # type: ignore[misc]  # redis-py types async commands as `Awaitable[T] | T`


async def dispatch(events: Sequence[Any], jobs: Sequence[Job]) -> None:
    """Publish a committed write's events and queue its jobs in one round trip.

    Failures are logged, not raised: the write stands, and the sweeper jobs catch up with
    anything that must not be lost (its row is in the database)."""
    if not events and not jobs:
        return
    try:
        pipe = get_redis().pipeline(transaction=False)
        channel = get_settings().redis.events_channel
        for event in events:
            pipe.publish(channel, event.to_json())
        for function, args, job_id, coalesce_ms in jobs:
            pipe.eval(*_script_args(function, args, job_id, coalesce_ms))
        await pipe.execute()
    except Exception:  # noqa: BLE001 - committed already
        log.exception("could not publish %s or queue %s", [e.name for e in events], [j[0] for j in jobs])


async def close_pool() -> None:
    global _pool
    if _pool is not None:
        await _pool.aclose()
        _pool = None
