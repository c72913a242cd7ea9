"""In-app notifications and announcements."""

from __future__ import annotations

from datetime import timedelta

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.core.events import Audience, Event
from app.core.forms import parse_int
from app.core.pagination import Page, PageRequest, fetch_page
from app.core.permissions import ROLES, CurrentUser
from app.notifications import outbox
from tables.accounts.tables import Campus, Team, User
from tables.notifications.tables import Announcement, Notification

AUDIENCES = ("all", "role", "team", "campus")
ANNOUNCERS = ("admin", "supervisor")


async def unread_count(user_id: int) -> int:
    return await Notification.count().where((Notification.recipient == user_id) & Notification.read_at.is_null())


async def notify(
    uow: UnitOfWork,
    recipient_ids: list[int],
    *,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    dedupe_prefix: str | None = None,
) -> list[int]:
    """Store notifications inside the caller's unit of work; the live push follows the commit, and
    the email/SMS rows written to the outbox with them are delivered by the worker.

    With `dedupe_prefix`, a recipient already notified under that prefix is skipped, so a
    job that runs twice notifies once.
    """
    if not recipient_ids:
        return []
    recipients = sorted(set(recipient_ids))
    if dedupe_prefix:
        keys = [f"{dedupe_prefix}:{rid}" for rid in recipients]
        done = await Notification.select(Notification.recipient).where(Notification.dedupe_key.is_in(keys))
        already = {row["recipient"] for row in done}
        recipients = [rid for rid in recipients if rid not in already]
    if not recipients:
        return []
    rows = await Notification.insert(
        *[
            Notification(
                recipient=rid,
                kind=kind,
                title=title[:200],
                body=body,
                link=link,
                dedupe_key=f"{dedupe_prefix}:{rid}" if dedupe_prefix else None,
            )
            for rid in recipients
        ]
    ).returning(Notification.id, Notification.recipient)
    # Email and SMS per the recipients' preferences: rows in this same transaction (the outbox).
    await outbox.queue_for_notifications(
        uow, [(row["id"], row["recipient"]) for row in rows], kind=kind, title=title, body=body, link=link
    )
    for row in rows:
        uow.emit(
            Event(
                "notification.created",
                {"id": row["id"], "kind": kind, "title": title, "body": body[:300], "link": link},
                audience=Audience.user(row["recipient"]),
            )
        )
    return [row["id"] for row in rows]


async def list_notifications(user: CurrentUser, page: PageRequest, unread_only: bool = False) -> Page[dict]:
    where = Notification.recipient == user.id
    if unread_only:
        where &= Notification.read_at.is_null()
    columns = (
        Notification.id,
        Notification.kind,
        Notification.title,
        Notification.body,
        Notification.link,
        Notification.created_at,
        Notification.read_at,
    )
    return await fetch_page(Notification, columns, where, page)


async def mark_read(user: CurrentUser, notification_id: int | None = None, clock: Clock = system_clock) -> int:
    """Mark one notification (or all, when no id is given) read; returns the new unread count."""
    where = (Notification.recipient == user.id) & Notification.read_at.is_null()
    if notification_id is not None:
        if not await Notification.exists().where(
            (Notification.id == notification_id) & (Notification.recipient == user.id)
        ):
            raise NotFound()
        where &= Notification.id == notification_id
    async with UnitOfWork() as uow:
        await Notification.update({Notification.read_at: clock.now()}).where(where)
        uow.emit(Event("notification.read", {"id": notification_id}, audience=Audience.user(user.id)))
    return await unread_count(user.id)


async def create_announcement(
    actor: CurrentUser, *, title: str, body: str, audience: str, audience_value: str = ""
) -> int:
    if actor.role not in ANNOUNCERS:
        raise Forbidden()
    title, body, audience_value = (title or "").strip(), (body or "").strip(), (audience_value or "").strip()
    errors: list[FieldError] = []
    if not title:
        errors.append(FieldError("title", "Enter a title."))
    elif len(title) > 200:
        errors.append(FieldError("title", "At most 200 characters."))
    if len(body) > 5000:
        errors.append(FieldError("body", "At most 5,000 characters."))
    if audience not in AUDIENCES:
        errors.append(FieldError("audience", "Choose who receives it."))
    elif audience == "role" and audience_value not in ROLES:
        errors.append(FieldError("audience_value", "Choose a role."))
    elif audience == "team" and not (
        (team_id := parse_int(audience_value)) is not None and await Team.exists().where(Team.id == team_id)
    ):
        errors.append(FieldError("audience_value", "Choose a team."))
    elif audience == "campus" and not (
        (campus_id := parse_int(audience_value)) is not None and await Campus.exists().where(Campus.id == campus_id)
    ):
        errors.append(FieldError("audience_value", "Choose a campus."))
    if errors:
        raise ValidationFailed(errors)
    async with UnitOfWork():
        rows = await Announcement.insert(
            Announcement(author=actor.id, title=title, body=body, audience=audience, audience_value=audience_value)
        ).returning(Announcement.id)
        announcement_id = rows[0]["id"]
        await audit.record(
            actor_id=actor.id,
            action="create",
            entity_type="announcement",
            entity_id=announcement_id,
            changes=audit.snapshot(
                {"title": title, "audience": audience, "audience_value": audience_value},
                ("title", "audience", "audience_value"),
            ),
        )
    return announcement_id


async def _audience_ids(announcement: dict) -> list[int]:
    query = User.select(User.id).where(User.is_active.eq(True))
    audience, value = announcement["audience"], announcement["audience_value"]
    if audience == "role":
        query = query.where(User.role == value)
    elif audience == "team":
        query = query.where(User.team == int(value))
    elif audience == "campus":
        query = query.where(User.campus == int(value))
    return [row["id"] for row in await query]


async def deliver_announcement(announcement_id: int, clock: Clock = system_clock) -> int:
    """Fan an announcement out to its audience; safe to run more than once."""
    announcement = await Announcement.select().where(Announcement.id == announcement_id).first()
    if announcement is None:
        return 0
    recipients = await _audience_ids(announcement)
    async with UnitOfWork() as uow:
        created = await notify(
            uow,
            recipients,
            kind="announcement",
            title=announcement["title"],
            body=announcement["body"],
            link="/notifications",
            dedupe_prefix=f"announcement:{announcement_id}",
        )
        await Announcement.update({Announcement.delivered_at: clock.now()}).where(Announcement.id == announcement_id)
    return len(created)


async def deliver_pending_announcements(clock: Clock = system_clock, older_than_seconds: int = 30) -> int:
    """Deliver announcements whose job never ran (Redis was down when they were saved)."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    pending = await Announcement.select(Announcement.id).where(
        Announcement.delivered_at.is_null() & (Announcement.created_at < cutoff)
    )
    for row in pending:
        await deliver_announcement(row["id"], clock)
    return len(pending)


async def recent_announcements(limit: int = 10) -> list[dict]:
    return (
        await Announcement.select(
            Announcement.id,
            Announcement.title,
            Announcement.audience,
            Announcement.audience_value,
            Announcement.created_at,
            Announcement.delivered_at,
            Announcement.author.display_name.as_alias("author_name"),
        )
        .order_by(Announcement.id, ascending=False)
        .limit(limit)
    )
