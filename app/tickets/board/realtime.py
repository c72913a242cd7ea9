"""The live board and ticket presence over /ws.

A board page subscribes with `{"type": "subscribe", "board": {filters}}` (and `"resync": true`
after a reconnect, which re-renders the whole board). On `ticket.created` / `ticket.updated`
each subscribed connection gets its own answer, rendered with its user's visibility and locale:
the card removed from where it was, inserted where it belongs now (if it is on that board) and
every column count refreshed. A wall display is subscribed to its campus's board on connect.

A ticket page reports `{"type": "view_ticket", "id": …, "typing": …}`; viewers live in Redis
(app/tickets/presence.py) and every change is published as `presence.changed`, so viewers on
every web process see each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from app.core.clock import Clock, system_clock
from app.core.errors import DomainError, ValidationFailed
from app.core.events import Event, publish
from app.core.forms import parse_int
from app.core.permissions import CurrentUser
from app.core.templates import render_fragment, render_macro
from app.realtime.hub import Connection, on_connect, on_disconnect, on_event, on_message, on_tick
from app.tickets import presence, services
from app.tickets.audience import of_ticket
from app.tickets.board import columns as board
from app.tickets.board import displays
from app.tickets.board.columns import Board, BoardQuery, Column


@dataclass
class BoardSubscription:
    query: BoardQuery
    columns: list[Column]  # the columns the tab shows (cards not kept); counts refreshed per push

    @classmethod
    def of(cls, shown: Board) -> BoardSubscription:
        return cls(shown.query, [replace(c, cards=[]) for c in shown.columns])

    @classmethod
    async def heads(cls, user: CurrentUser, query: BoardQuery) -> BoardSubscription:
        """Without loading any card: the columns (people or types with tickets) from the counts."""
        return cls(query, await board.column_heads(user, query, await board.column_counts(user, query)))


@dataclass
class TicketView:
    ticket_id: int
    typing: bool = False


def region_html(shown: Board, readonly: bool) -> str:
    return render_fragment("board/region.html", board=shown, group=shown.query.group, readonly=readonly)


async def change_html(
    user: CurrentUser,
    sub: BoardSubscription,
    ticket_id: int,
    *,
    remove: bool,
    readonly: bool = False,
    in_place: bool = False,
    clock: Clock = system_clock,
    **message,
) -> str | None:
    """The out-of-band swaps that bring one board up to date with one ticket.

    Returns None when the ticket is not on this board and nothing about it can be there to remove.
    """
    card = await board.find_card(user, sub.query, ticket_id, clock)
    if card is None and not remove and not message:
        return None
    group = sub.query.group
    target = None
    if card is not None:
        key = board.column_key(group, card)
        target = next((c for c in sub.columns if c.key == key), None)
        if target is None and group != "status":
            # A person or a type this tab has no column for yet: redraw the board with it.
            shown = await board.load_board(user, sub.query, clock)
            sub.columns = BoardSubscription.of(shown).columns
            return region_html(shown, readonly) + _message_html(**message)
    counts = await board.column_counts(user, sub.query, clock)
    for column in sub.columns:
        column.count = counts.get(column.key, 0)
    return render_fragment(
        "board/change.html",
        ticket_id=ticket_id,
        card=card,
        target=target,
        remove=remove,
        in_place=in_place,
        columns=sub.columns,
        group=group,
        readonly=readonly,
        **message,
    )


def _message_html(message: str | None = None) -> str:
    if not message:
        return ""
    return render_fragment(
        "board/change.html",
        ticket_id=0,
        card=None,
        target=None,
        remove=False,
        in_place=False,
        columns=[],
        group="status",
        readonly=True,
        message=message,
    )


async def subscribe_board(conn: Connection, query: BoardQuery, resync: bool) -> str | None:
    """Remember what board this tab shows; after a reconnect, send it the whole board again.

    A board page's answer ends with its "live" badge: the page knows pushes will now come.
    """
    live = "" if conn.readonly else render_macro("board/live.html", "live_badge", state="live", oob=True)
    if resync:
        shown = await board.load_board(conn.user, query)
        conn.subscriptions["board"] = BoardSubscription.of(shown)
        return region_html(shown, conn.readonly) + live
    conn.subscriptions["board"] = await BoardSubscription.heads(conn.user, query)
    return live


@on_message("subscribe")
async def on_subscribe(conn: Connection, message: dict) -> str | None:
    if conn.readonly or not isinstance(message.get("board"), dict):
        return None  # a display's board is fixed by its token
    try:
        query = BoardQuery.parse(message["board"])
    except ValidationFailed:
        return None
    return await subscribe_board(conn, query, resync=bool(message.get("resync")))


@on_message("unsubscribe")
async def on_unsubscribe(conn: Connection, message: dict) -> None:
    if message.get("what") == "board" and not conn.readonly:
        conn.subscriptions.pop("board", None)


@on_connect
async def display_connected(conn: Connection) -> str | None:
    """A wall display gets its campus's whole board on every (re)connect."""
    if conn.display_id is None:
        return None
    return await subscribe_board(conn, BoardQuery(campus=conn.user.campus_id), resync=True)


@on_tick
async def display_still_valid(conn: Connection) -> None:
    """A revoked display goes dark within a tick; a live one is marked seen about once a minute."""
    if conn.display_id is None:
        return
    if not await displays.is_active(conn.display_id):
        await conn.socket.close(code=4403, reason="display revoked")  # 4xxx: the browser does not retry
        return
    now = time.monotonic()
    if now - conn.subscriptions.get("display_seen", 0.0) >= displays.SEEN_EVERY.total_seconds():
        conn.subscriptions["display_seen"] = now
        await displays.mark_seen(conn.display_id)


@on_event("ticket.created", "ticket.updated")
async def push_board_change(event: Event, conn: Connection) -> str | None:
    sub = conn.subscriptions.get("board")
    ticket_id = event.payload.get("id")
    if sub is None or not isinstance(ticket_id, int):
        return None
    return await change_html(conn.user, sub, ticket_id, remove=event.name == "ticket.updated", readonly=conn.readonly)


# Presence --------------------------------------------------------------------------------------


def _flag(value) -> bool:
    return value in (True, 1) or str(value).lower() in ("1", "true", "on")


async def _announce(ticket_id: int) -> None:
    await publish(Event("presence.changed", {"ticket": ticket_id}, audience=of_ticket(ticket_id)))


async def leave_ticket(conn: Connection) -> None:
    view = conn.subscriptions.pop("ticket", None)
    if view is not None and await presence.store.leave(view.ticket_id, conn.key):
        await _announce(view.ticket_id)


@on_message("view_ticket")
async def on_view_ticket(conn: Connection, message: dict) -> None:
    """This tab shows a ticket (and whether its user is typing); sent on load and every 10 s."""
    ticket_id = parse_int(str(message.get("id", "")))
    if conn.readonly or ticket_id is None:
        return
    typing = _flag(message.get("typing"))
    view = conn.subscriptions.get("ticket")
    if view is None or view.ticket_id != ticket_id:
        try:
            await services.get_ticket(conn.user, ticket_id)  # only people who may see it are "present"
        except DomainError:
            return
        if view is not None:
            await leave_ticket(conn)
    conn.subscriptions["ticket"] = TicketView(ticket_id, typing)
    await _touch(conn, ticket_id, typing)


async def _touch(conn: Connection, ticket_id: int, typing: bool) -> None:
    name = conn.user.display_name or conn.user.username
    if await presence.store.touch(ticket_id, conn.key, conn.user.id, name, typing):
        await _announce(ticket_id)


@on_message("leave_ticket")
async def on_leave_ticket(conn: Connection, message: dict) -> None:
    view = conn.subscriptions.get("ticket")
    if view is not None and str(message.get("id", "")) in ("", str(view.ticket_id)):
        await leave_ticket(conn)


@on_tick
async def keep_presence(conn: Connection) -> None:
    """The server refreshes its live viewers too: a throttled background tab stays present."""
    view = conn.subscriptions.get("ticket")
    if view is not None:
        await _touch(conn, view.ticket_id, view.typing)


@on_disconnect
async def presence_disconnected(conn: Connection) -> None:
    await leave_ticket(conn)


@on_event("presence.changed")
async def push_presence(event: Event, conn: Connection) -> str | None:
    view = conn.subscriptions.get("ticket")
    if view is None or view.ticket_id != event.payload.get("ticket"):
        return None
    others = [v for v in await presence.store.viewers(view.ticket_id) if v.user_id != conn.user.id]
    return render_macro("tickets/presence.html", "presence", ticket_id=view.ticket_id, viewers=others, oob=True)
