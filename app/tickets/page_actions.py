"""The ticket pages' writes that combine core services with files and the form's version.

Each checks the version the form was rendered with first, so a change based on an old page is
refused with the same message as the core's own version check, before any file is written.
"""

from __future__ import annotations

from app.core.errors import Conflict, Forbidden, ValidationFailed
from app.core.permissions import CurrentUser
from app.tickets import attachments, page_forms, pickers, policy, services
from app.tickets.attachments import Upload
from app.tickets.fields import clean_values
from tables.tickets.tables import TicketActivity

STALE = "This ticket was changed by someone else after you opened it. Reload to see their changes, then try again."


async def _current(actor: CurrentUser, ticket_id: int, version: int, *, work: bool) -> dict:
    ticket = await services.get_ticket(actor, ticket_id)
    if work and not policy.can_work(actor, ticket):
        raise Forbidden("Only the service desk or the assignee can change this ticket.")
    if version != ticket["version"]:
        raise Conflict(STALE)
    return ticket


async def create(actor: CurrentUser, values: dict, type_row: dict, uploads: list[Upload]) -> dict:
    """Open a ticket from the form, then store its files (custom attachment fields point at theirs)."""
    attachments.check_uploads(uploads)
    draft = page_forms.draft_from_form(values, type_row, uploads)
    errors = await pickers.check_draft(actor, draft, type_row["fields"])
    if errors:
        raise ValidationFailed(errors)
    ticket = await services.create_ticket(actor, draft)
    if uploads:
        created = (
            await TicketActivity.select(TicketActivity.id)
            .where((TicketActivity.ticket == ticket["id"]) & (TicketActivity.kind == "created"))
            .first()
        )
        await attachments.store(actor, ticket["id"], uploads, activity_id=created["id"], link_fields=True)
    return ticket


async def claim(actor: CurrentUser, ticket_id: int) -> dict:
    """Only people who could work the ticket once it is theirs may take it: the desk."""
    ticket = await services.get_ticket(actor, ticket_id)
    if not policy.can_work(actor, ticket):
        raise Forbidden("Only the service desk can claim tickets.")
    return await services.claim_ticket(actor, ticket_id)


async def reply(actor: CurrentUser, ticket_id: int, body: str, *, public: bool, version: int,
                uploads: list[Upload]) -> None:  # fmt: skip
    """A reply or internal note with its files; anyone who sees the ticket may write one."""
    await _current(actor, ticket_id, version, work=False)
    attachments.check_uploads(uploads)
    await services.add_message(actor, ticket_id, body, public=public)
    if uploads:
        mine = await TicketActivity.select(TicketActivity.id).where(
            (TicketActivity.ticket == ticket_id) & (TicketActivity.actor == actor.id)
            & TicketActivity.kind.is_in(["reply", "note"])
        ).order_by(TicketActivity.id, ascending=False).first()  # fmt: skip
        await attachments.store(actor, ticket_id, uploads, activity_id=mine["id"])


async def edit_fields(actor: CurrentUser, ticket_id: int, values: dict, uploads: list[Upload], version: int) -> dict:
    """Change custom field values; a new file for an attachment field replaces the old one."""
    ticket = await _current(actor, ticket_id, version, work=True)
    attachments.check_uploads(uploads)
    raw = page_forms.custom_values(values, ticket["type_fields"], uploads, every_field=True)
    _values, errors = clean_values(ticket["type_fields"], raw, partial=True)
    if errors:
        raise ValidationFailed(errors)  # before any file is written
    saved = await attachments.store(actor, ticket_id, uploads)
    raw.update({row["field_key"]: row["id"] for row in saved if row["field_key"]})
    try:
        return await services.update_ticket(actor, ticket_id, {"fields": raw}, version=version)
    except BaseException:
        await attachments.discard(saved)
        raise


async def upload(actor: CurrentUser, ticket_id: int, uploads: list[Upload], version: int) -> list[dict]:
    await _current(actor, ticket_id, version, work=True)
    if not uploads:
        raise ValidationFailed.one("files", "Choose a file first.")
    attachments.check_uploads(uploads)
    return await attachments.store(actor, ticket_id, uploads, record=True)
