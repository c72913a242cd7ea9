"""The ticket pages' edits that combine core services with files and the form's version.

Each checks the version the form was rendered with first, so a change based on an old page is
refused with the same message as the core's own version check, before any file is written.
Creating a ticket and replying take their files into the service itself (services.create_ticket,
add_message), so those have no helper here.
"""

from __future__ import annotations

from app.core.errors import Conflict, Forbidden, ValidationFailed
from app.core.permissions import CurrentUser
from app.tickets import attachments, policy, services
from app.tickets.attachments import Upload
from app.tickets.pages import forms as page_forms
from app.tickets.types.fields import clean_values

STALE = "This ticket was changed by someone else after you opened it. Reload to see their changes, then try again."


async def _current(actor: CurrentUser, ticket_id: int, version: int, *, work: bool) -> dict:
    ticket = await services.get_ticket(actor, ticket_id)
    if work and not policy.can_work(actor, ticket):
        raise Forbidden("Only the service desk or the assignee can change this ticket.")
    if version != ticket["version"]:
        raise Conflict(STALE)
    return ticket


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
    return await attachments.store(actor, ticket_id, uploads, record_activity=True)
