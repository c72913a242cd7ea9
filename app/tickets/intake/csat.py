"""Satisfaction ratings (CSAT): a signed link per resolution, 1-5 with a comment.

The link is /csat/<ticket id>/<signature>, the signature an HMAC of the ticket id and its
`resolved_at`: reopening clears `resolved_at` and the next resolution stamps a new one, so every
resolution gets its own link and the old ones stop working. A rating may be changed while the
ticket stays resolved; a closed ticket takes a first rating but no changes. A score of 1 or 2
reopens the ticket and notifies the supervisors of its campus, in the same unit of work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.core.events import Event
from app.core.forms import parse_int
from app.core.i18n import gettext as _
from app.notifications.services import notify
from app.settings import get_settings
from app.tickets.audience import of_ticket
from tables.accounts.tables import User
from tables.tickets.tables import Ticket, TicketActivity

LOW_SCORES = (1, 2)
COMMENT_LIMIT = 2000
COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.title,
    Ticket.status,
    Ticket.priority,
    Ticket.campus,
    Ticket.assignee,
    Ticket.version,
    Ticket.resolved_at,
    Ticket.closed_at,
    Ticket.csat_score,
    Ticket.csat_comment,
    Ticket.csat_at,
    Ticket.tracking_token,
    Ticket.ticket_type.code.as_alias("type_code"),
)


def _utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def sign(ticket_id: int, resolved_at: datetime) -> str:
    message = f"csat:{ticket_id}:{_utc_iso(resolved_at)}".encode()
    digest = hmac.new(get_settings().auth.secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def rating_link(ticket: dict) -> str | None:
    """The rating link for the ticket's current resolution, or None while it is not resolved."""
    if ticket.get("resolved_at") is None or ticket["status"] not in ("resolved", "closed"):
        return None
    return f"/csat/{ticket['id']}/{sign(ticket['id'], ticket['resolved_at'])}"


def can_rate(ticket: dict) -> bool:
    return ticket["status"] == "resolved" or (ticket["status"] == "closed" and ticket["csat_score"] is None)


async def ticket_for_link(ticket_id: int, signature: str) -> dict:
    """The ticket a rating link belongs to; NotFound for a forged or outdated link."""
    ticket = await Ticket.select(*COLUMNS).where((Ticket.id == ticket_id) & Ticket.deleted_at.is_null()).first()
    if ticket is None or ticket["resolved_at"] is None or ticket["status"] not in ("resolved", "closed"):
        raise NotFound("This rating link is no longer valid.")
    if not hmac.compare_digest(sign(ticket_id, ticket["resolved_at"]), signature or ""):
        raise NotFound("This rating link is no longer valid.")
    return ticket


def _clean(score_raw, comment_raw) -> tuple[int, str]:
    text = str(score_raw or "").strip()
    errors = []
    score = parse_int(text) or 0
    if not 1 <= score <= 5:
        errors.append(FieldError("score", "Choose a score from 1 to 5."))
    comment = str(comment_raw or "").strip()
    if len(comment) > COMMENT_LIMIT:
        errors.append(FieldError("comment", "At most 2,000 characters."))
    if errors:
        raise ValidationFailed(errors)
    return score, comment


async def supervisors_for(campus_id: int | None) -> list[int]:
    """Active supervisors of the campus; every active supervisor when it has none (or no campus)."""
    active = (User.role == "supervisor") & User.is_active.eq(True)
    rows = await User.select(User.id).where(active & (User.campus == campus_id)) if campus_id else []
    if not rows:
        rows = await User.select(User.id).where(active)
    return [r["id"] for r in rows]


async def rate(ticket_id: int, signature: str, score_raw, comment_raw, clock: Clock = system_clock) -> dict:
    """Store the requester's rating; returns the ticket as it is now (status may be in_progress)."""
    ticket = await ticket_for_link(ticket_id, signature)
    if not can_rate(ticket):
        raise ValidationFailed.one("score", "This request is closed; its rating can no longer be changed.")
    score, comment = _clean(score_raw, comment_raw)
    reopen = score in LOW_SCORES
    now = clock.now()
    async with UnitOfWork() as uow:
        updates = {
            Ticket.csat_score: score,
            Ticket.csat_comment: comment,
            Ticket.csat_at: now,
            Ticket.version: Ticket.version + 1,
            Ticket.updated_at: now,
        }
        if reopen:
            updates.update({Ticket.status: "in_progress", Ticket.resolved_at: None, Ticket.closed_at: None})
        same_version = (Ticket.id == ticket_id) & (Ticket.version == ticket["version"])
        done = await Ticket.update(updates).where(same_version).returning(Ticket.id)
        if not done:
            raise Conflict("This request changed in the meantime. Reload the page and try again.")
        rows = [
            TicketActivity(
                ticket=ticket_id,
                kind="csat",
                body=comment,
                created_at=now,
                changes={"score": [ticket["csat_score"], score], "by": "requester"},
            )
        ]
        if reopen:
            rows.append(
                TicketActivity(
                    ticket=ticket_id,
                    kind="status",
                    created_at=now,
                    body=_("Reopened after a low satisfaction rating (%(score)s of 5).", score=score),
                    changes={"status": [ticket["status"], "in_progress"], "reason": "low_csat", "by": "requester"},
                )
            )
            await _notify_supervisors(uow, ticket, score, comment)
        await TicketActivity.insert(*rows)
        status = "in_progress" if reopen else ticket["status"]
        uow.emit(_updated_event(ticket, status, ["csat", "status"] if reopen else ["csat"]))
    return {
        **ticket,
        "csat_score": score,
        "csat_comment": comment,
        "csat_at": now,
        "reopened": reopen,
        "status": status,
        "version": ticket["version"] + 1,
    }


async def _notify_supervisors(uow: UnitOfWork, ticket: dict, score: int, comment: str) -> None:
    body = _("Satisfaction %(score)s of 5.", score=score) + (f" {comment[:200]}" if comment else "")
    await notify(
        uow,
        await supervisors_for(ticket["campus"]),
        kind="ticket_low_csat",
        title=f"{ticket['number']} {ticket['title']}",
        body=body,
        link=f"/tickets/{ticket['id']}",
    )


def _updated_event(ticket: dict, status: str, fields: list[str]) -> Event:
    """The same `ticket.updated` payload as app.tickets.services writes, so every renderer reads one shape."""
    return Event(
        "ticket.updated",
        {
            "id": ticket["id"],
            "status": status,
            "old_status": ticket["status"] if status != ticket["status"] else None,
            "assignee": ticket["assignee"],
            "campus": ticket["campus"],
            "priority": ticket["priority"],
            "type": ticket["type_code"],
            "version": ticket["version"] + 1,
            "old_assignee": ticket["assignee"],
            "fields": sorted(fields),
        },
        audience=of_ticket(ticket["id"]),
    )
