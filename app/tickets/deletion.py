"""Moving a ticket to the recycle bin and back (the bin itself is app/recycle).

Only the service desk deletes tickets (an assignee outside the desk works them but does not throw
them away), and only tickets it can see; restoring needs the same. A restore is refused with the
reason when the ticket would point at a ticket that is itself in the bin (its parent, or the
ticket it was merged into): restore that one first.
"""

from __future__ import annotations

from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.events import Event
from app.core.i18n import N_, gettext
from app.core.permissions import CurrentUser
from app.tickets import policy
from app.tickets.audience import of_ticket
from tables.tickets.tables import Ticket, TicketActivity

COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.title,
    Ticket.campus,
    Ticket.assignee,
    Ticket.created_by,
    Ticket.parent,
    Ticket.merged_into,
    Ticket.deleted_at,
    Ticket.status,
)


async def _load(user: CurrentUser, ticket_id: int) -> dict:
    ticket = await Ticket.select(*COLUMNS).where(Ticket.id == ticket_id).first()
    if ticket is None or not await policy.can_view(user, ticket):
        raise NotFound(N_("This ticket does not exist or you cannot see it."))
    return ticket


def can_delete(user: CurrentUser) -> bool:
    return policy.is_desk(user)


async def delete_ticket(user: CurrentUser, ticket_id: int, *, ip: str = "", clock: Clock = system_clock) -> dict:
    ticket = await _load(user, ticket_id)
    if ticket["deleted_at"] is not None:
        raise NotFound(N_("This ticket does not exist or you cannot see it."))
    if not can_delete(user):
        raise Forbidden(N_("Only the service desk can delete tickets."))
    async with UnitOfWork() as uow:
        done = (
            await Ticket.update({Ticket.deleted_at: clock.now(), Ticket.version: Ticket.version + 1})
            .where((Ticket.id == ticket_id) & Ticket.deleted_at.is_null())
            .returning(Ticket.id)
        )
        if not done:
            raise Conflict(N_("This ticket was deleted meanwhile."))
        await TicketActivity.insert(TicketActivity(ticket=ticket_id, actor=user.id, kind="deleted"))
        await _audit(user.id, "delete", ticket_id, ip=ip)
        uow.emit(Event("ticket.deleted", {"id": ticket_id, "number": ticket["number"]}, audience=of_ticket(ticket_id)))
    return ticket


async def restore_ticket(user: CurrentUser, ticket_id: int, *, ip: str = "") -> dict:
    ticket = await _load(user, ticket_id)
    if ticket["deleted_at"] is None:
        return ticket
    if not can_delete(user):
        raise Forbidden(N_("Only the service desk can restore tickets."))
    for column, message in (
        ("parent", N_("Its parent ticket %(number)s is in the recycle bin too. Restore the parent first.")),
        (
            "merged_into",
            N_("It was merged into %(number)s, which is in the recycle bin too. Restore that ticket first."),
        ),
    ):
        if ticket[column] is not None:
            other = await Ticket.select(Ticket.number, Ticket.deleted_at).where(Ticket.id == ticket[column]).first()
            if other is not None and other["deleted_at"] is not None:
                raise Conflict(gettext(message, number=other["number"]))
    async with UnitOfWork() as uow:
        await Ticket.update({Ticket.deleted_at: None, Ticket.version: Ticket.version + 1}).where(Ticket.id == ticket_id)
        await TicketActivity.insert(TicketActivity(ticket=ticket_id, actor=user.id, kind="restored"))
        await _audit(user.id, "restore", ticket_id, ip=ip)
        uow.emit(Event("ticket.restored", {"id": ticket_id, "number": ticket["number"]}, audience=of_ticket(ticket_id)))
    return ticket


async def _audit(actor_id: int | None, action: str, ticket_id: int, ip: str = "") -> None:
    from app.core import audit

    await audit.record(actor_id=actor_id, action=action, entity_type="ticket", entity_id=ticket_id, changes={}, ip=ip)
