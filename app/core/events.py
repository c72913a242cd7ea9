"""Domain events: small facts published to Redis after the transaction that caused them commits.

Every web process subscribes to the same channel (app/realtime/hub.py) and pushes what each of
its WebSocket connections may see; the worker publishes through the same function.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from app.core.jobs import dispatch

EVENT_VERSION = 1


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    # Explicit recipients (user ids); None means "every connection that may see it",
    # decided per connection by the event's renderer.
    audience: list[int] | None = None
    version: int = EVENT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, raw: str) -> "Event":
        data = json.loads(raw)
        return cls(
            name=data["name"],
            payload=data.get("payload") or {},
            audience=data.get("audience"),
            version=data.get("version", EVENT_VERSION),
        )


async def publish(*events: Event) -> None:
    """Publish already-committed facts; a Redis failure is logged, never raised.

    The database row is the source of truth, so a lost live update only costs freshness:
    clients re-render their regions when they reconnect. One pipeline, as after a commit.
    """
    await dispatch(events, [])
