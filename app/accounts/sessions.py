"""Login sessions in Redis: a fresh random id per login (no fixation), revocable per user."""

from __future__ import annotations

import secrets

from app.core.redis import get_redis
from app.settings import get_settings

SESSION_COOKIE = "sy_session"


def _key(session_id: str) -> str:
    return f"shuyuan:session:{session_id}"


def _user_key(user_id: int) -> str:
    return f"shuyuan:user-sessions:{user_id}"


async def start_session(user_id: int) -> str:
    session_id = secrets.token_urlsafe(32)
    ttl = get_settings().auth.session_max_age
    redis = get_redis()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(_key(session_id), str(user_id), ex=ttl)
        pipe.sadd(_user_key(user_id), session_id)
        pipe.expire(_user_key(user_id), ttl)
        await pipe.execute()
    return session_id


async def session_user_id(session_id: str | None) -> int | None:
    if not session_id or len(session_id) > 100:
        return None
    redis = get_redis()
    value = await redis.getex(_key(session_id), ex=get_settings().auth.session_max_age)
    return int(value) if value else None


async def end_session(session_id: str | None) -> None:
    if not session_id:
        return
    redis = get_redis()
    user_id = await redis.get(_key(session_id))
    await redis.delete(_key(session_id))
    if user_id:
        await redis.srem(_user_key(int(user_id)), session_id)  # type: ignore[misc]  # redis-py types async commands as `Awaitable[T] | T`


async def end_other_sessions(user_id: int, keep: str | None) -> int:
    """Log a user out everywhere else (after a password change)."""
    redis = get_redis()
    ids = await redis.smembers(_user_key(user_id))  # type: ignore[misc]  # redis-py types async commands as `Awaitable[T] | T`
    stale = [s for s in ids if s != keep]
    if stale:
        await redis.delete(*[_key(s) for s in stale])
        await redis.srem(_user_key(user_id), *stale)  # type: ignore[misc]  # redis-py types async commands as `Awaitable[T] | T`
    return len(stale)
