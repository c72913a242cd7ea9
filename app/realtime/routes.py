"""The single WebSocket endpoint each browser tab opens (htmx ws extension)."""

from __future__ import annotations

import json

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from app.core.i18n import current_locale
from app.realtime.hub import Connection, hub


async def _initial_fragments(conn: Connection) -> str:
    from app.notifications.realtime import bell_fragment

    return await bell_fragment(conn.user.id)


@websocket("/ws", opt={"public": True})
async def realtime_socket(socket: WebSocket) -> None:
    user = socket.scope.get("user")
    if user is None:
        await socket.close(code=4401, reason="login required")
        return
    await socket.accept()
    conn = Connection(socket=socket, user=user, locale=current_locale())
    hub.register(conn)
    try:
        # Re-render the live regions on every (re)connect: events missed while offline are not lost.
        await conn.send(await _initial_fragments(conn))
        while True:
            raw = await socket.receive_text()
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("type") == "ping":
                await socket.send_text('<span id="ws-pong" hx-swap-oob="true"></span>')
    except WebSocketDisconnect:
        pass
    finally:
        hub.unregister(conn)
