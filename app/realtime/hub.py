"""The per-process hub: one Redis subscription, many WebSocket connections.

Each event goes only to the connections whose user is in its audience (app/realtime/audience.py:
resolved once per event, then matched per connection without a query) and is rendered separately
for each of them (its user, its locale), so a push never carries something the user could not
load themselves: the renderer's own permission check stays the last gate.

Domains plug in with decorators: `@on_event` renders pushes, `@on_message` answers what a page
sends over its socket (e.g. "subscribe to this board"), `@on_connect` sends live regions on
every (re)connect, `@on_tick` runs every `TICK_SECONDS` per connection and `@on_disconnect`
cleans up. What a connection listens to lives in `Connection.subscriptions`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import redis.asyncio as aioredis
from litestar import WebSocket

from app.core.events import Event
from app.core.i18n import set_locale
from app.core.permissions import CurrentUser
from app.realtime.audience import Viewer, admits, resolve
from app.settings import get_settings

log = logging.getLogger(__name__)
_ids = count(1)
TICK_SECONDS = 10


@dataclass(eq=False)
class Connection:
    socket: WebSocket
    user: CurrentUser
    locale: str
    id: int = field(default_factory=lambda: next(_ids))
    # Unique across processes (ids restart at 1 in each), for state kept in Redis such as presence.
    key: str = field(default_factory=lambda: secrets.token_hex(8))
    # Set for a wall display opened by its token: a read-only pseudo-user, no session behind it.
    display_id: int | None = None
    # What this tab listens to, set by the messages it sends: {"board": ..., "ticket": ...}.
    subscriptions: dict[str, Any] = field(default_factory=dict)
    # The teams the user leads and every team below them, read once at connect (app/realtime/routes.py):
    # with the user's id, role, campus and team, all an audience is matched against.
    led_teams: frozenset[int] = frozenset()

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.user, self.led_teams)

    @property
    def readonly(self) -> bool:
        return self.display_id is not None

    async def send(self, html: str) -> None:
        await self.socket.send_text(html)


Renderer = Callable[[Event, Connection], Awaitable[str | None]]
MessageHandler = Callable[[Connection, dict], Awaitable[str | None]]
ConnectionHook = Callable[[Connection], Awaitable[str | None]]
_renderers: dict[str, list[Renderer]] = {}
_message_handlers: dict[str, MessageHandler] = {}
_connect_hooks: list[ConnectionHook] = []
_tick_hooks: list[ConnectionHook] = []
_disconnect_hooks: list[ConnectionHook] = []


def on_event(*names: str) -> Callable[[Renderer], Renderer]:
    """Register a renderer that turns an event into an htmx out-of-band fragment for one connection."""

    def register(renderer: Renderer) -> Renderer:
        for name in names:
            _renderers.setdefault(name, []).append(renderer)
        return renderer

    return register


def on_message(*types: str) -> Callable[[MessageHandler], MessageHandler]:
    """Register the handler of a client message `{"type": <type>, ...}`; what it returns is sent back."""

    def register(handler: MessageHandler) -> MessageHandler:
        for name in types:
            _message_handlers[name] = handler
        return handler

    return register


def on_connect(hook: ConnectionHook) -> ConnectionHook:
    """Runs after every (re)connect; returned HTML is sent, so live regions are never stale."""
    _connect_hooks.append(hook)
    return hook


def on_tick(hook: ConnectionHook) -> ConnectionHook:
    _tick_hooks.append(hook)
    return hook


def on_disconnect(hook: ConnectionHook) -> ConnectionHook:
    _disconnect_hooks.append(hook)
    return hook


async def _run_hooks(hooks: list[ConnectionHook], conn: Connection) -> None:
    for hook in hooks:
        try:
            html = await hook(conn)
            if html:
                await conn.send(html)
        except Exception:  # noqa: BLE001 - one failing hook must not break the others
            log.warning("hook %s failed for connection %s", getattr(hook, "__name__", hook), conn.id, exc_info=True)


async def connected(conn: Connection) -> None:
    await _run_hooks(_connect_hooks, conn)


async def tick(conn: Connection) -> None:
    await _run_hooks(_tick_hooks, conn)


async def disconnected(conn: Connection) -> None:
    await _run_hooks(_disconnect_hooks, conn)


async def handle_message(conn: Connection, message: dict) -> None:
    """Answer one client message; unknown types are ignored, failures logged, the socket kept."""
    handler = _message_handlers.get(str(message.get("type", "")))
    if handler is None:
        return
    try:
        html = await handler(conn, message)
    except Exception:  # noqa: BLE001 - a bad message must not close the tab's socket
        log.warning("message %r failed on connection %s", message.get("type"), conn.id, exc_info=True)
        return
    if html:
        await conn.send(html)


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
        if not renderers or not self.connections:
            return
        try:
            audience = None if event.audience is None else await resolve(event.audience)
        except Exception:  # noqa: BLE001 - the database is away: this push is lost, the subscription kept
            log.warning("audience of %s could not be resolved", event.name, exc_info=True)
            return
        targets = [c for c in list(self.connections) if admits(audience, c.viewer)]
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
