"""The outbox: every email and SMS is a database row written in the transaction of its notification.

Delivery (tasks/outbox.py) claims due rows with one conditional UPDATE (pending -> sending, with a
lease and a claim token), so two workers never hold the same row; it sends, then marks the row sent
or schedules a retry with exponential backoff and jitter (30 s, 2 min, 10 min, 1 h, 6 h), after which
the row is failed ("dead") and shown on /admin/outbox for a manual retry.

A worker killed mid-send leaves its rows in `sending`; once the lease runs out the sweeper claims
them again. Delivery is therefore at-least-once: a message the SMTP server accepted just before the
worker died is sent again (with the same Message-ID). Redis holds only the "deliver now" hint; losing
it (flush, restart) delays delivery until the next sweep, it never loses a message.

Email without SMTP_HOST: the row fails at once with "email not configured" (retrying cannot help),
stays visible on the admin page and can be retried there once SMTP is configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
from dataclasses import dataclass
from datetime import timedelta

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.pagination import Page, PageRequest, fetch_page
from app.core.permissions import CurrentUser
from app.notifications import preferences
from app.notifications.channels import Channels, DeliveryError, Envelope, default_channels, sms_text
from app.settings import get_settings
from tables.accounts.tables import User
from tables.notifications.tables import OutboxMessage

log = logging.getLogger(__name__)

CHANNELS = ("email", "sms", "webhook")
STATUSES = ("pending", "sending", "sent", "failed")
BACKOFF_SECONDS = (30, 120, 600, 3600, 6 * 3600)  # the wait after the 1st, 2nd, … failed attempt
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
JITTER = 0.2  # each wait is stretched or shrunk by up to 20 %, so retries of a burst spread out
LEASE_SECONDS = 300  # longer than a batch takes (sent concurrently, SMTP timeout 30 s per step)
BATCH = 10
OUTBOX_ADMINS = ("admin",)
DELIVER_JOB = "deliver_outbox"


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    base = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
    return timedelta(seconds=base * (rng or random).uniform(1 - JITTER, 1 + JITTER))


def _email_text(title: str, body: str, link: str) -> str:
    site = get_settings()
    parts = [body.strip()] if body.strip() else []
    if link:
        parts.append(site.smtp.site_url + link if link.startswith("/") else link)
    parts.append(f"— {site.site_name}")
    return "\n\n".join(parts)


def _subject(title: str) -> str:
    return f"【{get_settings().site_name.split()[0]}】{title}"[:255]


async def queue_for_notifications(
    uow: UnitOfWork, notifications: list[tuple[int, int]], *, kind: str, title: str, body: str, link: str
) -> list[int]:
    """Write the email/SMS rows for freshly stored notifications [(notification_id, recipient)], per
    the recipients' preferences, in the caller's transaction; delivery is enqueued after commit.

    Three queries whatever the number of recipients: the users, their preferences, one insert.
    """
    if not notifications:
        return []
    user_ids = sorted({uid for _, uid in notifications})
    users = {
        row["id"]: row
        for row in await User.select(User.id, User.email, User.phone).where(
            User.id.is_in(user_ids) & User.is_active.eq(True)
        )
    }
    if not users:
        return []
    choices = await preferences.choices_for(list(users), kind)
    subject, email_body, sms_body = _subject(title), _email_text(title, body, link), sms_text(title, body)
    rows = []
    for notification_id, uid in notifications:
        user, choice = users.get(uid), choices.get(uid)
        if user is None or choice is None:
            continue
        wanted = [("email", user["email"].strip(), email_body)] if choice.email else []
        wanted += [("sms", user["phone"].strip(), sms_body)] if choice.sms else []
        rows += [
            OutboxMessage(
                channel=channel,
                recipient=uid,
                address=address[:255],
                subject=subject,
                body=text,
                kind=kind,
                idempotency_key=f"{kind}:{notification_id}:{channel}",
            )
            for channel, address, text in wanted
            if address
        ]
    if not rows:
        return []
    inserted = await OutboxMessage.insert(*rows).returning(OutboxMessage.id)
    ids = [row["id"] for row in inserted]
    uow.enqueue(DELIVER_JOB, ids, job_id=f"outbox:{ids[0]}")
    return ids


async def queue_webhook(uow: UnitOfWork, url: str, event: str, payload: dict, key: str) -> int | None:
    """One webhook call as an outbox row in the caller's transaction: retried with the same backoff as
    email, visible on /admin/outbox. `key` makes it idempotent (None when that key was queued before)."""
    body = json.dumps(payload, ensure_ascii=False, default=str, sort_keys=True)
    rows = (
        await OutboxMessage.insert(
            OutboxMessage(
                channel="webhook",
                address=url[:255],
                subject=event[:255],
                body=body,
                kind="webhook",
                idempotency_key=key[:160],
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(OutboxMessage.id)
    )
    if not rows:
        return None
    uow.enqueue(DELIVER_JOB, [rows[0]["id"]], job_id=f"outbox:{rows[0]['id']}")
    return rows[0]["id"]


# --- delivery ---------------------------------------------------------------------------------


def _due(now):
    return ((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now)) | (
        (OutboxMessage.status == "sending") & (OutboxMessage.locked_until < now)
    )


async def claim(clock: Clock = system_clock, *, ids: list[int] | None = None, limit: int = BATCH) -> list[dict]:
    """Take up to `limit` due rows for this caller only: one conditional UPDATE that re-checks the
    row is still due, so of two concurrent claimers exactly one gets each row (PostgreSQL re-evaluates
    the condition after the other's commit; SQLite runs writes one at a time)."""
    now = clock.now()
    query = OutboxMessage.select(OutboxMessage.id).where(_due(now))
    if ids is not None:
        if not ids:
            return []
        query = query.where(OutboxMessage.id.is_in(ids))
    candidates = [row["id"] for row in await query.order_by(OutboxMessage.next_attempt_at).limit(limit)]
    if not candidates:
        return []
    token = secrets.token_hex(8)
    return (
        await OutboxMessage.update(
            {
                OutboxMessage.status: "sending",
                OutboxMessage.locked_until: now + timedelta(seconds=LEASE_SECONDS),
                OutboxMessage.claim_token: token,
                OutboxMessage.attempts: OutboxMessage.attempts + 1,
            }
        )
        .where(OutboxMessage.id.is_in(candidates) & _due(now))
        .returning(
            OutboxMessage.id,
            OutboxMessage.channel,
            OutboxMessage.address,
            OutboxMessage.subject,
            OutboxMessage.body,
            OutboxMessage.idempotency_key,
            OutboxMessage.attempts,
            OutboxMessage.claim_token,
        )
    )


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, other: Report) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed


async def _finish(row: dict, error: Exception | None, clock: Clock) -> str:
    """Record one send's outcome, only if this caller still holds the row (its claim token)."""
    now = clock.now()
    mine = (OutboxMessage.id == row["id"]) & (OutboxMessage.claim_token == row["claim_token"])
    released = {OutboxMessage.locked_until: None, OutboxMessage.claim_token: None}
    if error is None:
        outcome, values = (
            "sent",
            {OutboxMessage.status: "sent", OutboxMessage.sent_at: now, OutboxMessage.last_error: ""},
        )
    else:
        message = str(error)[:1000] or type(error).__name__
        dead = getattr(error, "permanent", False) or row["attempts"] >= MAX_ATTEMPTS
        if dead:
            outcome, values = "failed", {OutboxMessage.status: "failed", OutboxMessage.last_error: message}
        else:
            outcome = "retrying"
            values = {
                OutboxMessage.status: "pending",
                OutboxMessage.last_error: message,
                OutboxMessage.next_attempt_at: now + backoff(row["attempts"]),
            }
        log.warning("outbox %s (%s) attempt %s failed: %s", row["id"], row["channel"], row["attempts"], message)
    await OutboxMessage.update({**values, **released}).where(mine)
    return outcome


async def _send_one(row: dict, channels: Channels, clock: Clock) -> str:
    envelope = Envelope(row["id"], row["address"], row["subject"], row["body"], row["idempotency_key"])
    try:
        await channels.send(row["channel"], envelope)
    except Exception as exc:  # noqa: BLE001 - any failure of a provider is a retry, never a crash
        return await _finish(row, exc if isinstance(exc, DeliveryError) else DeliveryError(repr(exc)), clock)
    return await _finish(row, None, clock)


async def deliver(
    ids: list[int] | None = None,
    *,
    clock: Clock = system_clock,
    channels: Channels | None = None,
    max_batches: int = 20,
) -> Report:
    """Claim and send due rows (only `ids`, when given) in batches sent concurrently; safe to run twice."""
    channels = channels or default_channels()
    report = Report()
    for _ in range(max_batches):
        rows = await claim(clock, ids=ids)
        if not rows:
            break
        outcomes = await asyncio.gather(*[_send_one(row, channels, clock) for row in rows])
        for outcome in outcomes:
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


# --- admin --------------------------------------------------------------------------------------


def _require_admin(actor: CurrentUser) -> None:
    if actor.role not in OUTBOX_ADMINS:
        raise Forbidden()


async def list_messages(actor: CurrentUser, page: PageRequest, *, status: str = "", channel: str = "") -> Page[dict]:
    _require_admin(actor)
    where = OutboxMessage.id > 0
    if status in STATUSES:
        where &= OutboxMessage.status == status
    if channel in CHANNELS:
        where &= OutboxMessage.channel == channel
    columns = (
        OutboxMessage.id,
        OutboxMessage.channel,
        OutboxMessage.address,
        OutboxMessage.subject,
        OutboxMessage.kind,
        OutboxMessage.status,
        OutboxMessage.attempts,
        OutboxMessage.next_attempt_at,
        OutboxMessage.last_error,
        OutboxMessage.created_at,
        OutboxMessage.sent_at,
        OutboxMessage.recipient.display_name.as_alias("recipient_name"),
    )
    return await fetch_page(OutboxMessage, columns, where, page)


async def status_counts(actor: CurrentUser) -> dict[str, int]:
    _require_admin(actor)
    return {status: await OutboxMessage.count().where(OutboxMessage.status == status) for status in STATUSES}


async def retry_now(actor: CurrentUser, message_id: int, clock: Clock = system_clock) -> None:
    """Send a failed (or waiting) message at once: one more attempt, whatever its count."""
    _require_admin(actor)
    row = await OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == message_id).first()
    if row is None:
        raise NotFound("No such message.")
    async with UnitOfWork() as uow:
        updated = (
            await OutboxMessage.update(
                {
                    OutboxMessage.status: "pending",
                    OutboxMessage.next_attempt_at: clock.now(),
                    OutboxMessage.locked_until: None,
                    OutboxMessage.claim_token: None,
                }
            )
            .where((OutboxMessage.id == message_id) & OutboxMessage.status.is_in(["failed", "pending"]))
            .returning(OutboxMessage.id)
        )
        if not updated:
            raise Conflict("Only failed or waiting messages can be retried.")
        await audit.record(
            actor_id=actor.id,
            action="retry",
            entity_type="outbox_message",
            entity_id=message_id,
            changes={"status": [row["status"], "pending"]},
        )
        uow.enqueue(DELIVER_JOB, [message_id])
