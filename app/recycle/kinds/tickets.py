"""Tickets in the recycle bin. Purging deletes the ticket's timeline, tags, watchers, links, SLA,
approval and automation rows with it (ON DELETE CASCADE) and its uploaded files after commit."""

from __future__ import annotations

import asyncio

from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.recycle.registry import RecycleKind, register
from app.tickets import attachments, deletion, policy
from tables.tickets.tables import Ticket, TicketAttachment


async def _visible(user: CurrentUser):
    if not deletion.can_delete(user):
        return False
    return await policy.visibility_filter(user)


def _search(term: str):
    like = f"%{term}%"
    return Ticket.number.ilike(like) | Ticket.title.ilike(like)


async def _describe(user: CurrentUser, rows: list[dict]) -> None:
    for row in rows:
        row["title"] = f"{row['number']} {row['title']}"
        row["subtitle"] = row["type_name"] or ""


async def _restore(user: CurrentUser, ticket_id: int, ip: str) -> None:
    await deletion.restore_ticket(user, ticket_id, ip=ip)


async def _before_purge(uow, ticket_id: int) -> None:
    names = [
        r["stored_name"]
        for r in await TicketAttachment.select(TicketAttachment.stored_name).where(TicketAttachment.ticket == ticket_id)
    ]
    if names:

        async def remove_files() -> None:
            for name in names:
                await asyncio.to_thread(attachments.path_of(name).unlink, missing_ok=True)

        uow.after_commit(remove_files)


register(
    RecycleKind(
        name="ticket",
        label=N_("Ticket"),
        table=Ticket,
        columns=(Ticket.number, Ticket.title, Ticket.campus, Ticket.ticket_type.name.as_alias("type_name")),
        search=_search,
        visible=_visible,
        describe=_describe,
        restore=_restore,
        url=lambda i: f"/tickets/{i}",
        before_purge=_before_purge,
    )
)
