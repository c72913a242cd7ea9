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

from app.core.permissions import CurrentUser
from app.core.phones import (
    _masked,
    audit_reveal,
    sees_full,
)
from app.leads import policy
from tables.leads.tables import Lead


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


async def reveal_lead_phone(user: CurrentUser, lead_id: int, *, ip: str = "") -> dict:
    """The lead's full numbers, for someone who may see the lead; one audit row per reveal."""
    lead = (
        await Lead.select(Lead.id, Lead.owner, Lead.phone, Lead.phones, Lead.deleted_at)
        .where(Lead.id == lead_id)
        .first()
        .output(load_json=True)
    )
    allowed = lead is not None and lead["deleted_at"] is None and await policy.can_view(user, lead)
    await audit_reveal(user, "lead_phone", lead_id, allowed=allowed, ip=ip)
    return {"id": lead_id, "phone": lead["phone"], "phones": lead["phones"] or []}
