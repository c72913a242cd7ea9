"""The single WebSocket endpoint each browser tab opens (htmx ws extension).

A tab is either a logged-in user (session cookie) or a wall display (`/ws?display=<token>`,
a read-only pseudo-user limited to the display's campus). The tab tells the server what it
looks at by sending JSON messages (`ws-send`): `{"type": "subscribe", "board": {...}}`,
`{"type": "view_ticket", "id": 1, "typing": false}`, `{"type": "ping"}`; the handlers are
registered by the domains with `@on_message` (app/realtime/hub.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from app.core.deps import OptionalUser
from app.core.i18n import current_locale
from app.core.permissions import CurrentUser, led_team_ids
from app.realtime import hub as hub_module
from app.realtime.hub import Connection, hub


async def _initial_fragments(conn: Connection) -> str:
    if conn.readonly:
        return ""
    from app.notifications.realtime import bell_fragment

    return await bell_fragment(conn.user.id)


async def _connection(socket: WebSocket, user: CurrentUser | None) -> Connection | None:
    """The tab's identity, or None (the socket is then closed): a session, else a display token."""
    token = socket.query_params.get("display")
    if token:
        from app.tickets.board.displays import display_viewer

        found = await display_viewer(token)
        await socket.accept()
        if found is None:
            # Accepted first so the browser sees code 4403 and stops reconnecting (a refused
            # handshake reads as a network failure, which the ws extension retries forever).
            await socket.close(code=4403, reason="display token not valid")
            return None
        viewer, display_id = found
        return Connection(socket=socket, user=viewer, locale=current_locale(), display_id=display_id)
    if user is None:
        await socket.close(code=4401, reason="login required")
        return None
    await socket.accept()
    return Connection(socket=socket, user=user, locale=current_locale(), led_teams=await led_team_ids(user))


async def _ticks(conn: Connection) -> None:
    while True:
        await asyncio.sleep(hub_module.TICK_SECONDS)
        await hub_module.tick(conn)


@websocket("/ws", opt={"public": True})
async def realtime_socket(socket: WebSocket, optional_user: OptionalUser) -> None:
    conn = await _connection(socket, optional_user)
    if conn is None:
        return
    hub.register(conn)
    ticker = asyncio.create_task(_ticks(conn), name=f"ws-ticks-{conn.id}")
    try:
        # Re-render the live regions on every (re)connect: events missed while offline are not lost.
        initial = await _initial_fragments(conn)
        if initial:
            await conn.send(initial)
        await hub_module.connected(conn)
        while True:
            raw = await socket.receive_text()
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("type") == "ping":
                await socket.send_text('<span id="ws-pong" hx-swap-oob="true"></span>')
                continue
            await hub_module.handle_message(conn, message)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unregister(conn)
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await hub_module.disconnected(conn)
