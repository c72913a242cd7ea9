"""Who is online: staff with at least one live WebSocket connection (any tab, any web process).

One Redis sorted set; a member is `<user id>:<connection key>`, scored with the time it last
reported. The hub's hooks add a member on connect, refresh it on every tick (10 s) and remove it
on disconnect; a crashed process's members fade after `ONLINE_TTL`. Several tabs are several
members, so closing one tab does not take the person offline.
"""

from __future__ import annotations

from app.core.clock import Clock, system_clock
from app.core.redis import get_redis
from app.realtime.hub import Connection, on_connect, on_disconnect, on_tick

ONLINE_KEY = "shuyuan:assignment:online"
ONLINE_TTL = 30


def _member(user_id: int, connection_key: str) -> str:
    return f"{user_id}:{connection_key}"


async def mark_online(user_id: int, connection_key: str, clock: Clock = system_clock) -> None:
    now = clock.now().timestamp()
    async with get_redis().pipeline(transaction=True) as pipe:
        pipe.zadd(ONLINE_KEY, {_member(user_id, connection_key): now})
        pipe.zremrangebyscore(ONLINE_KEY, "-inf", f"({now - ONLINE_TTL * 4}")  # old garbage, now and then
        await pipe.execute()


async def mark_offline(user_id: int, connection_key: str) -> None:
    await get_redis().zrem(ONLINE_KEY, _member(user_id, connection_key))


async def online_user_ids(clock: Clock = system_clock) -> set[int]:
    """Everyone with a connection seen within the last `ONLINE_TTL` seconds (one Redis call)."""
    now = clock.now().timestamp()
    members = await get_redis().zrangebyscore(ONLINE_KEY, now - ONLINE_TTL, "+inf")
    return {int(m.split(":", 1)[0]) for m in members}


@on_connect
async def came_online(conn: Connection) -> None:
    if not conn.readonly:
        await mark_online(conn.user.id, conn.key)


@on_tick
async def still_online(conn: Connection) -> None:
    if not conn.readonly:
        await mark_online(conn.user.id, conn.key)


@on_disconnect
async def went_offline(conn: Connection) -> None:
    if not conn.readonly:
        await mark_offline(conn.user.id, conn.key)
