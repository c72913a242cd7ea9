"""Phone numbers of families: shown in full only to the people who need them, revealed with an audit row.

The rules every domain shares (leads, students, the recycle bin): who sees numbers in full, the
masked form 138****8000, masking phone changes in a history, and the audited reveal with its log.
The record-specific parts (which people are a record's own, how it is read) stay in the domains:
app/leads/phones.py and app/students/phones.py. Why: see app/leads/phones.py's docstring (PIPL).
"""

from __future__ import annotations

from app.core import audit
from app.core.errors import Forbidden
from app.core.i18n import N_
from app.core.pagination import Page, PageRequest
from app.core.permissions import CurrentUser, has_permission
from tables.audit.tables import AuditEntry


def mask_phone(phone: str) -> str:
    """138****8000: enough to recognise a number, not to call it."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else ("****" if phone else "")


PHONE_RIGHT = "leads.view_phone"


REVEAL_TYPES = {"lead_phone": N_("Lead"), "student_phone": N_("Student")}


_REFUSALS = {
    "lead_phone": N_("You have no reason to see this lead's phone number."),
    "student_phone": N_("You have no reason to see this student's phone number."),
}


_PHONE_KEYS = ("phone", "phones", "guardian_phone")


def sees_full(user: CurrentUser, *own_people: int | None) -> bool:
    """Whether `user` sees a record's numbers in full: the right, or being one of its own people."""
    return has_permission(user, PHONE_RIGHT) or user.id in own_people


def _masked(value):
    if isinstance(value, list):
        return [mask_phone(v) if isinstance(v, str) else v for v in value]
    return mask_phone(value) if isinstance(value, str) else value


def present_changes(user: CurrentUser, owner: int | None, entries: list[dict]) -> list[dict]:
    """Audit entries (a history or timeline) with old and new phone numbers masked like the lead."""
    if sees_full(user, owner):
        return entries
    out = []
    for entry in entries:
        changes = entry.get("changes") or {}
        if any(k in changes for k in _PHONE_KEYS):
            changes = {
                k: ([_masked(v) for v in pair] if k in _PHONE_KEYS and isinstance(pair, list) else pair)
                for k, pair in changes.items()
            }
            entry = {**entry, "changes": changes}
        out.append(entry)
    return out


async def audit_reveal(user: CurrentUser, entity_type: str, entity_id: int, *, allowed: bool, ip: str) -> None:
    """What every reveal shares: 403 for someone with no reason to see the record, else exactly one
    audit row. The number itself is never copied into it: the log says who looked, not what they saw."""
    if not allowed:
        raise Forbidden(_REFUSALS[entity_type])
    await audit.record(
        actor_id=user.id, action="reveal", entity_type=entity_type, entity_id=entity_id, changes={}, ip=ip
    )


async def reveal_log(
    user: CurrentUser, page: PageRequest, *, actor: int | None = None, kind: str = "", record: int | None = None
) -> Page[dict]:
    """Every reveal, newest first (admins only); `kind` is one of REVEAL_TYPES ("" for both)."""
    if not user.is_admin:
        raise Forbidden()
    where = AuditEntry.entity_type.is_in([kind] if kind in REVEAL_TYPES else list(REVEAL_TYPES))
    where &= AuditEntry.action == "reveal"
    if actor:
        where &= AuditEntry.actor == actor
    if record:
        where &= AuditEntry.entity_id == record
    total = await AuditEntry.count().where(where)
    rows = (
        await AuditEntry.select(
            AuditEntry.id,
            AuditEntry.entity_type,
            AuditEntry.entity_id,
            AuditEntry.ip,
            AuditEntry.at,
            AuditEntry.actor,
            AuditEntry.actor.display_name.as_alias("actor_name"),
        )
        .where(where)
        .order_by(AuditEntry.id, ascending=False)
        .limit(page.limit)
        .offset(page.offset)
    )
    return Page(rows, total, page.limit, page.offset)


async def reveal_people() -> list[dict]:
    """Everyone who has revealed a number (the log's filter)."""
    rows = (
        await AuditEntry.select(AuditEntry.actor, AuditEntry.actor.display_name.as_alias("name"))
        .where(
            AuditEntry.entity_type.is_in(list(REVEAL_TYPES))
            & (AuditEntry.action == "reveal")
            & AuditEntry.actor.is_not_null()
        )
        .distinct()
    )
    return sorted(({"id": r["actor"], "name": r["name"]} for r in rows), key=lambda p: p["name"])
