"""The per-process hub: one Redis subscription, many WebSocket connections.

Each event is rendered separately for each connection that may see it (its user, its locale),
so a push never carries something the user could not load themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from itertools import count
from typing import Awaitable, Callable

import redis.asyncio as aioredis
from litestar import WebSocket

from app.core.events import Event
from app.core.i18n import set_locale
from app.core.permissions import CurrentUser
from app.settings import get_settings

log = logging.getLogger(__name__)
_ids = count(1)


@dataclass(eq=False)
class Connection:
    socket: WebSocket
    user: CurrentUser
    locale: str
    id: int = field(default_factory=lambda: next(_ids))

    async def send(self, html: str) -> None:
        await self.socket.send_text(html)


Renderer = Callable[[Event, Connection], Awaitable[str | None]]
_renderers: dict[str, list[Renderer]] = {}


def on_event(*names: str) -> Callable[[Renderer], Renderer]:
    """Register a renderer that turns an event into an htmx out-of-band fragment for one connection."""

    def register(renderer: Renderer) -> Renderer:
        for name in names:
            _renderers.setdefault(name, []).append(renderer)
        return renderer

    return register


class Hub:
    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self.ready = asyncio.Event()
        self._task: asyncio.Task | None = None

    def register(self, conn: Connection) -> None:
        self.connections.add(conn)

    def unregister(self, conn: Connection) -> None:
        self.connections.discard(conn)

    async def start(self) -> None:
        self.ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen(), name="realtime-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        settings = get_settings().redis
        delay = 0.5
        while True:
            client = aioredis.Redis.from_url(settings.url, decode_responses=True, health_check_interval=15)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(settings.events_channel)
                    self.ready.set()
                    delay = 0.5
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self.dispatch(Event.from_json(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis went away: back off and resubscribe
                self.ready.clear()
                log.warning("event subscription lost; retrying in %.1fs", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                await client.aclose()

    async def dispatch(self, event: Event) -> None:
        renderers = _renderers.get(event.name)
        if not renderers:
            return
        targets = [
            c for c in list(self.connections) if event.audience is None or c.user.id in event.audience
        ]
        await asyncio.gather(*(self._deliver(event, c, renderers) for c in targets))

    async def _deliver(self, event: Event, conn: Connection, renderers: list[Renderer]) -> None:
        token = set_locale(conn.locale)
        try:
            for renderer in renderers:
                html = await renderer(event, conn)
                if html:
                    await conn.send(html)
        except Exception:  # noqa: BLE001 - one broken socket must not stop the others
            log.info("dropping connection %s", conn.id, exc_info=True)
            self.unregister(conn)
        finally:
            from app.core.i18n import _current

            _current.reset(token)


hub = Hub()
