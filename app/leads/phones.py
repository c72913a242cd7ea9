"""Phone numbers of families: shown in full only to the people who need them, revealed with an audit row.

PIPL asks us to show personal data to as few people as the work needs and to know who looked.
The rule, applied where a number leaves the server (pages, API, the recycle bin), never in the
services that compute with numbers (duplicate checks, merges):

- full numbers without a click: holders of the `leads.view_phone` right (admins, supervisors: see
  app/core/permissions.py) and the record's own people (a lead's owner; a student's advisor and
  class teacher);
- everyone else who may see the record gets 138****8000 in the same field and a "显示" button; the
  reveal (`reveal_lead_phone`, `app.students.phones.reveal_student_phone`, both through
  `audit_reveal`) writes one audit row (who, which record, when, from which address, entity_type
  "lead_phone" or "student_phone", action "reveal") and answers the full numbers;
- someone who may not see the record at all gets 403 from the reveal.

Reveal rows are kept off the lead's own timeline (another entity_type) and do not move when leads
are merged; admins read them at /admin/phone-reveals.
"""

from __future__ import annotations

from app.core import audit
from app.core.errors import Forbidden
from app.core.i18n import N_
from app.core.pagination import Page, PageRequest
from app.core.permissions import CurrentUser, has_permission
from app.leads import policy
from app.leads.pool import mask_phone
from tables.audit.tables import AuditEntry
from tables.leads.tables import Lead

PHONE_RIGHT = "leads.view_phone"
REVEAL_TYPES = {"lead_phone": N_("Lead"), "student_phone": N_("Student")}
_REFUSALS = {"lead_phone": N_("You have no reason to see this lead's phone number."),
             "student_phone": N_("You have no reason to see this student's phone number.")}  # fmt: skip
_PHONE_KEYS = ("phone", "phones", "guardian_phone")

__all__ = ["mask_phone", "sees_full", "present_lead", "present_leads", "audit_reveal", "reveal_lead_phone",
           "reveal_log"]  # fmt: skip


def sees_full(user: CurrentUser, *own_people: int | None) -> bool:
    """Whether `user` sees a record's numbers in full: the right, or being one of its own people."""
    return has_permission(user, PHONE_RIGHT) or user.id in own_people


def _masked(value):
    if isinstance(value, list):
        return [mask_phone(v) if isinstance(v, str) else v for v in value]
    return mask_phone(value) if isinstance(value, str) else value


def present_lead(user: CurrentUser, lead: dict) -> dict:
    """The lead as this user may see it: a copy with `phone`/`phones` masked unless they see them
    in full, and `phone_masked` saying which."""
    if sees_full(user, lead.get("owner")):
        return {**lead, "phone_masked": False}
    out = {**lead, "phone_masked": True}
    for key in ("phone", "phones"):
        if key in out:
            out[key] = _masked(out[key])
    return out


def present_leads(user: CurrentUser, leads: list[dict]) -> list[dict]:
    return [present_lead(user, lead) for lead in leads]


def present_changes(user: CurrentUser, owner: int | None, entries: list[dict]) -> list[dict]:
    """Audit entries (a history or timeline) with old and new phone numbers masked like the lead."""
    if sees_full(user, owner):
        return entries
    out = []
    for entry in entries:
        changes = entry.get("changes") or {}
        if any(k in changes for k in _PHONE_KEYS):
            changes = {k: ([_masked(v) for v in pair] if k in _PHONE_KEYS and isinstance(pair, list) else pair)
                       for k, pair in changes.items()}  # fmt: skip
            entry = {**entry, "changes": changes}
        out.append(entry)
    return out


async def audit_reveal(user: CurrentUser, entity_type: str, entity_id: int, *, allowed: bool, ip: str) -> None:
    """What every reveal shares: 403 for someone with no reason to see the record, else exactly one
    audit row. The number itself is never copied into it: the log says who looked, not what they saw."""
    if not allowed:
        raise Forbidden(_REFUSALS[entity_type])
    await audit.record(actor_id=user.id, action="reveal", entity_type=entity_type, entity_id=entity_id, changes={},
                       ip=ip)  # fmt: skip


async def reveal_lead_phone(user: CurrentUser, lead_id: int, *, ip: str = "") -> dict:
    """The lead's full numbers, for someone who may see the lead; one audit row per reveal."""
    lead = await Lead.select(Lead.id, Lead.owner, Lead.phone, Lead.phones, Lead.deleted_at).where(
        Lead.id == lead_id
    ).first().output(load_json=True)  # fmt: skip
    allowed = lead is not None and lead["deleted_at"] is None and await policy.can_view(user, lead)
    await audit_reveal(user, "lead_phone", lead_id, allowed=allowed, ip=ip)
    return {"id": lead_id, "phone": lead["phone"], "phones": lead["phones"] or []}


async def reveal_log(user: CurrentUser, page: PageRequest, *, actor: int | None = None, kind: str = "",
                     record: int | None = None) -> Page[dict]:  # fmt: skip
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
    rows = await AuditEntry.select(
        AuditEntry.id, AuditEntry.entity_type, AuditEntry.entity_id, AuditEntry.ip, AuditEntry.at, AuditEntry.actor,
        AuditEntry.actor.display_name.as_alias("actor_name"),
    ).where(where).order_by(AuditEntry.id, ascending=False).limit(page.limit).offset(page.offset)  # fmt: skip
    return Page(rows, total, page.limit, page.offset)


async def reveal_people() -> list[dict]:
    """Everyone who has revealed a number (the log's filter)."""
    rows = await AuditEntry.select(AuditEntry.actor, AuditEntry.actor.display_name.as_alias("name")).where(
        AuditEntry.entity_type.is_in(list(REVEAL_TYPES)) & (AuditEntry.action == "reveal") & AuditEntry.actor.is_not_null()
    ).distinct()  # fmt: skip
    return sorted(({"id": r["actor"], "name": r["name"]} for r in rows), key=lambda p: p["name"])
