"""Who is looking at a ticket right now: a Redis sorted set per ticket, shared by every web process.

Each open ticket page (one WebSocket connection) is one member, scored with the time it last
reported in. A member that has not reported for `PRESENCE_TTL` seconds is stale and dropped the
next time anyone touches or reads the ticket's set. The browser reports every 10 s and the web
process refreshes its own live connections on the same beat (app/realtime hub ticks), so a
background tab whose timers the browser throttles does not flicker out. A closed tab is removed
at once by the disconnect hook; a crashed process's members fade after the TTL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from app.core.clock import Clock, system_clock
from app.core.redis import get_redis

PRESENCE_TTL = 30
_CJK = re.compile(r"[\u3400-\u9fff]")


def initials(name: str) -> str:
    """Two characters for an avatar: the given name for Chinese names, first letters otherwise."""
    name = (name or "").strip()
    if not name:
        return "?"
    if _CJK.search(name):
        return name[-2:]
    words = [w for w in re.split(r"[\s._\-]+", name) if w]
    if len(words) >= 2:
        return (words[0][0] + words[1][0]).upper()
    return name[:2].upper()


@dataclass(frozen=True)
class Viewer:
    user_id: int
    name: str
    typing: bool

    @property
    def initials(self) -> str:
        return initials(self.name)


def _keys(ticket_id: int) -> tuple[str, str]:
    base = f"shuyuan:presence:ticket:{ticket_id}"
    return base, base + ":who"


class PresenceStore:
    """Members are connection keys; the hash beside the set says who they are and if they type."""

    def __init__(self, clock: Clock = system_clock, ttl: int = PRESENCE_TTL) -> None:
        self.clock = clock
        self.ttl = ttl

    def _now(self) -> float:
        return self.clock.now().timestamp()

    async def _prune(self, ticket_id: int, now: float) -> bool:
        seen, who = _keys(ticket_id)
        redis = get_redis()
        stale = await redis.zrangebyscore(seen, "-inf", f"({now - self.ttl}")
        if not stale:
            return False
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zrem(seen, *stale)
            pipe.hdel(who, *stale)
            await pipe.execute()
        return True

    async def touch(self, ticket_id: int, member: str, user_id: int, name: str, typing: bool) -> bool:
        """Record that `member` is here; True when what others see changed (joined, typing, pruned)."""
        now = self._now()
        seen, who = _keys(ticket_id)
        pruned = await self._prune(ticket_id, now)
        info = json.dumps({"user": user_id, "name": name, "typing": bool(typing)}, ensure_ascii=False)
        async with get_redis().pipeline(transaction=True) as pipe:
            pipe.hget(who, member)
            pipe.zadd(seen, {member: now})
            pipe.hset(who, member, info)
            # The keys outlive their members only briefly, whatever happens to the processes.
            pipe.expire(seen, self.ttl * 4)
            pipe.expire(who, self.ttl * 4)
            before, *_ = await pipe.execute()
        return pruned or before != info

    async def leave(self, ticket_id: int, member: str) -> bool:
        seen, who = _keys(ticket_id)
        async with get_redis().pipeline(transaction=True) as pipe:
            pipe.zrem(seen, member)
            pipe.hdel(who, member)
            removed, _ = await pipe.execute()
        return bool(removed)

    async def viewers(self, ticket_id: int) -> list[Viewer]:
        """Everyone present, one entry per person (several tabs count once, typing if any tab is)."""
        now = self._now()
        seen, who = _keys(ticket_id)
        redis = get_redis()
        members = await redis.zrangebyscore(seen, now - self.ttl, "+inf")
        if not members:
            return []
        people: dict[int, Viewer] = {}
        for raw in await redis.hmget(who, members):  # type: ignore[misc]  # redis-py types async commands as `Awaitable[T] | T`
            if not raw:
                continue
            info = json.loads(raw)
            known = people.get(info["user"])
            typing = bool(info["typing"]) or (known.typing if known else False)
            people[info["user"]] = Viewer(info["user"], info["name"], typing)
        return sorted(people.values(), key=lambda v: (v.name, v.user_id))


store = PresenceStore()
