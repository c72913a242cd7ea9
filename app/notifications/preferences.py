"""Who gets which notification by email or SMS (in-app is always on).

A person's row for the kind wins, then their "*" row (all other kinds), then the defaults:
email for assignments, mentions, escalations and SLA breaches; SMS only for the urgent ones
(escalations, breaches). Email needs an address on the account, SMS a phone number.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.db import UnitOfWork
from app.core.errors import ValidationFailed
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from tables.accounts.tables import User
from tables.notifications.tables import NotificationPreference

ALL_KINDS = "*"

# Kinds shown on the account page, in this order. Other domains' kinds fall under "*" unless added.
KIND_LABELS: dict[str, str] = {
    "ticket_assigned": N_("A ticket is assigned to me"),
    "mention": N_("Someone mentions me"),
    "ticket_message": N_("New messages on tickets I follow"),
    "ticket_escalated": N_("Escalations"),
    "sla_reminder": N_("Reminders before an SLA target is due"),
    "sla_breach": N_("SLA breaches"),
    "ticket_low_csat": N_("Low satisfaction ratings"),
    "announcement": N_("Announcements"),
    "automation": N_("Messages from automation rules"),
    ALL_KINDS: N_("Everything else"),
}

# Substrings, so kinds other domains add ("sla_breached", "ticket_escalation", …) are covered too.
_URGENT = ("escalat", "breach")
_EMAIL_BY_DEFAULT = ("ticket_assigned", "assign", "mention", *_URGENT)


def default_email(kind: str) -> bool:
    return any(word in kind for word in _EMAIL_BY_DEFAULT)


def default_sms(kind: str) -> bool:
    return any(word in kind for word in _URGENT)


@dataclass(frozen=True)
class Choice:
    email: bool
    sms: bool


def resolve(kind: str, rows: dict[str, Choice]) -> Choice:
    """`rows` maps a person's stored kinds ("*" included) to their choice. A kind's own row wins;
    otherwise the defaults apply, plus whatever "*" (everything else) switches on."""
    if kind in rows:
        return rows[kind]
    star = rows.get(ALL_KINDS, Choice(False, False))
    return Choice(email=default_email(kind) or star.email, sms=default_sms(kind) or star.sms)


async def choices_for(user_ids: list[int], kind: str) -> dict[int, Choice]:
    """Each person's channels for one kind of notification, in one query."""
    rows = await NotificationPreference.select(
        NotificationPreference.recipient,
        NotificationPreference.kind,
        NotificationPreference.email,
        NotificationPreference.sms,
    ).where(NotificationPreference.recipient.is_in(user_ids) & NotificationPreference.kind.is_in([kind, ALL_KINDS]))
    stored: dict[int, dict[str, Choice]] = {}
    for row in rows:
        stored.setdefault(row["recipient"], {})[row["kind"]] = Choice(bool(row["email"]), bool(row["sms"]))
    return {uid: resolve(kind, stored.get(uid, {})) for uid in user_ids}


async def preferences_of(user_id: int) -> list[dict]:
    """The account page's rows: every listed kind with the person's effective choice."""
    rows = await NotificationPreference.select().where(NotificationPreference.recipient == user_id)
    stored = {row["kind"]: Choice(bool(row["email"]), bool(row["sms"])) for row in rows}
    result = []
    for kind, label in KIND_LABELS.items():
        choice = stored.get(kind, Choice(False, False)) if kind == ALL_KINDS else resolve(kind, stored)
        result.append({"kind": kind, "label": label, "email": choice.email, "sms": choice.sms})
    return result


async def contact_of(user_id: int) -> dict:
    row = await User.select(User.email, User.phone).where(User.id == user_id).first()
    return row or {"email": "", "phone": ""}


def ticked(form: dict[str, str], channel: str) -> set[str]:
    """Kinds whose `<channel>.<kind>` checkbox came back ticked."""
    prefix = f"{channel}."
    return {name.removeprefix(prefix) for name, value in form.items() if name.startswith(prefix) and value}


async def save_preferences(actor: CurrentUser, email: set[str], sms: set[str]) -> int:
    """Store the account page's choice for every listed kind (`email`, `sms`: the kinds ticked)."""
    if (email | sms) - set(KIND_LABELS):
        raise ValidationFailed.one("preferences", "Unknown kind of notification.")
    async with UnitOfWork():
        await NotificationPreference.delete().where(NotificationPreference.recipient == actor.id)
        await NotificationPreference.insert(
            *[
                NotificationPreference(recipient=actor.id, kind=kind, email=kind in email, sms=kind in sms)
                for kind in KIND_LABELS
            ]
        )
    return len(KIND_LABELS)
