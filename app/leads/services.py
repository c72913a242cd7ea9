"""Leads: validation, visibility-aware listing, audited changes with optimistic versions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import phonenumbers

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.events import Event
from app.core.i18n import N_
from app.core.pagination import Page, PageRequest, fetch_page
from app.core.permissions import CurrentUser
from app.leads import policy
from tables.accounts.tables import Campus, User
from tables.leads.tables import Lead

STATUSES = {
    "new": N_("New lead"),
    "contacted": N_("Contacted"),
    "visited": N_("Visited"),
    "trial": N_("Trial lesson"),
    "won": N_("Signed"),
    "invalid": N_("Invalid"),
}
SOURCES = {
    "wechat_official_account": N_("WeChat official account"),
    "douyin": N_("Douyin"),
    "street": N_("Street promotion"),
    "referral": N_("Referral"),
    "website": N_("Website"),
    "phone": N_("Phone call"),
    "walk_in": N_("Walk-in"),
    "other": N_("Other"),
}
EDITABLE = (
    "student_name", "guardian_name", "phone", "email", "wechat", "city", "district",
    "grade", "source", "status", "owner", "campus", "note", "next_follow_up_on",
)  # fmt: skip
FIELD_LABELS = {
    "student_name": N_("Student name"), "guardian_name": N_("Guardian name"), "phone": N_("Phone"), "email": N_("Email"),
    "wechat": N_("WeChat ID"), "city": N_("City"), "district": N_("District"), "grade": N_("Grade"), "source": N_("Source"),
    "status": N_("Status"), "owner": N_("Owner"), "campus": N_("Campus"), "note": N_("Note"), "next_follow_up_on": N_("Next follow-up"),
}  # fmt: skip
LIMITS = {"student_name": 100, "guardian_name": 100, "email": 255, "wechat": 64, "city": 50,
          "district": 50, "grade": 20, "note": 5000}  # fmt: skip
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LIST_COLUMNS = (
    Lead.id, Lead.student_name, Lead.guardian_name, Lead.phone, Lead.status, Lead.source, Lead.owner,
    Lead.city, Lead.district, Lead.grade, Lead.next_follow_up_on, Lead.created_at, Lead.version,
    Lead.owner.display_name.as_alias("owner_name"),
)  # fmt: skip
DETAIL_COLUMNS = (
    *LIST_COLUMNS, Lead.email, Lead.wechat, Lead.campus, Lead.note, Lead.updated_at, Lead.deleted_at,
    Lead.campus.name.as_alias("campus_name"),
)  # fmt: skip


@dataclass(frozen=True)
class LeadFilter:
    q: str = ""
    status: str = ""
    scope: str = ""  # "" all visible | "mine" | "pool"


def normalise_phone(raw: str) -> str | None:
    """Mainland numbers in national form (13800138000, 01062345678); None when not a phone."""
    digits = re.sub(r"[\s\-()（）.]", "", raw or "")
    if not digits:
        return ""
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    national = str(number.national_number)
    if number.country_code == 86:
        if phonenumbers.is_valid_number(number):
            # The national format knows that Beijing's 010 keeps its 0 and that 400 numbers have none.
            national_form = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            return re.sub(r"\D", "", national_form)
        # Not in libphonenumber's ranges (e.g. a brand-new mobile prefix): mobiles are 11 digits from 1.
        return national if len(national) == 11 and national.startswith("1") else "0" + national
    return f"+{number.country_code}{national}"


def _text(values: dict, field: str) -> str:
    value = values.get(field)
    return value.strip() if isinstance(value, str) else ""


async def _clean(user: CurrentUser, values: dict, partial: bool) -> tuple[dict, list[FieldError]]:
    """Validate the fields present in `values`; all of them when not partial."""
    out: dict = {}
    errors: list[FieldError] = []
    fields = [f for f in EDITABLE if f in values] if partial else list(EDITABLE)
    for field in fields:
        if field in LIMITS:
            out[field] = _text(values, field)
            if len(out[field]) > LIMITS[field]:
                errors.append(FieldError(field, "Too long."))
    if "student_name" in fields and not out.get("student_name"):
        errors.append(FieldError("student_name", "Enter the student's name."))
    if "phone" in fields:
        phone = normalise_phone(_text(values, "phone"))
        if phone is None:
            errors.append(FieldError("phone", "Enter a valid phone number, e.g. 138 0013 8000."))
        out["phone"] = phone or ""
    if out.get("email") and not EMAIL_RE.match(out["email"]):
        errors.append(FieldError("email", "Enter a valid email address."))
    for field, choices, default in (("status", STATUSES, "new"), ("source", SOURCES, "other")):
        if field in fields:
            out[field] = _text(values, field) or default
            if out[field] not in choices:
                errors.append(FieldError(field, "Choose one of the listed options."))
    if "next_follow_up_on" in fields:
        raw = _text(values, "next_follow_up_on")
        try:
            out["next_follow_up_on"] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors.append(FieldError("next_follow_up_on", "Enter a date like 2026-12-01."))
    await _clean_references(user, values, fields, out, errors)
    has_contact = out.get("phone") or out.get("wechat") or out.get("email")
    if not partial and not has_contact and not any(e.field == "phone" for e in errors):
        errors.append(FieldError("phone", "Give at least one way to reach the family: phone, WeChat or email."))
    return out, errors


def _as_id(value) -> int | None | str:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return "invalid"


async def _clean_references(user, values, fields, out, errors) -> None:
    if "owner" in fields:
        owner = _as_id(values.get("owner"))
        if owner == "invalid" or (
            owner is not None and not await User.exists().where((User.id == owner) & User.is_active.eq(True))
        ):
            errors.append(FieldError("owner", "Unknown user."))
        elif not await policy.can_assign_to(user, owner):
            errors.append(FieldError("owner", "You cannot assign leads to this person."))
        else:
            out["owner"] = owner
    if "campus" in fields:
        campus = _as_id(values.get("campus"))
        if campus == "invalid" or (campus is not None and not await Campus.exists().where(Campus.id == campus)):
            errors.append(FieldError("campus", "Unknown campus."))
        else:
            out["campus"] = campus


async def list_leads(user: CurrentUser, filters: LeadFilter, page: PageRequest) -> Page[dict]:
    if not policy.can_use_leads(user):
        raise Forbidden()
    where = Lead.deleted_at.is_null()
    visible = await policy.visibility_filter(user)
    if visible is not None:
        where &= visible
    if filters.q:
        term = f"%{filters.q.strip()}%"
        where &= Lead.student_name.ilike(term) | Lead.guardian_name.ilike(term) | Lead.phone.like(term)
    if filters.status in STATUSES:
        where &= Lead.status == filters.status
    if filters.scope == "mine":
        where &= Lead.owner == user.id
    elif filters.scope == "pool":
        where &= Lead.owner.is_null()
    return await fetch_page(Lead, LIST_COLUMNS, where, page)


async def get_lead(user: CurrentUser, lead_id: int, include_deleted: bool = False) -> dict:
    lead = await Lead.select(*DETAIL_COLUMNS).where(Lead.id == lead_id).first()
    # Not visible and not existing look the same from outside: no probing of ids.
    if lead is None or (lead["deleted_at"] and not include_deleted) or not await policy.can_view(user, lead):
        raise NotFound("This lead does not exist or you cannot see it.")
    return lead


async def create_lead(user: CurrentUser, values: dict, ip: str = "") -> dict:
    if not policy.can_use_leads(user):
        raise Forbidden()
    values = dict(values)
    if "owner" not in values:
        values["owner"] = user.id if user.role == "advisor" else None
    if not values.get("campus"):
        values["campus"] = user.campus_id
    data, errors = await _clean(user, values, partial=False)
    if errors:
        raise ValidationFailed(errors)
    async with UnitOfWork() as uow:
        rows = await Lead.insert(Lead(**data)).returning(Lead.id)
        lead_id = rows[0]["id"]
        await audit.record(actor_id=user.id, action="create", entity_type="lead", entity_id=lead_id,
                           changes=audit.snapshot(data, EDITABLE), ip=ip)  # fmt: skip
        uow.emit(Event("lead.created", {"id": lead_id, "owner": data.get("owner")}))
    return await get_lead(user, lead_id)


async def update_lead(
    user: CurrentUser, lead_id: int, values: dict, *, version: int | None, ip: str = "", clock: Clock = system_clock
) -> dict:
    before = await get_lead(user, lead_id)
    data, errors = await _clean(user, values, partial=True)
    if errors:
        raise ValidationFailed(errors)
    changes = audit.diff(before, data, data.keys())
    if not changes:
        return before
    async with UnitOfWork() as uow:
        where = (Lead.id == lead_id) & Lead.deleted_at.is_null()
        if version is not None:
            where &= Lead.version == version
        updated = await Lead.update(
            {**{getattr(Lead, k): v for k, v in data.items()}, Lead.version: Lead.version + 1,
             Lead.updated_at: clock.now()}  # fmt: skip
        ).where(where).returning(Lead.id)
        if not updated:
            raise Conflict(
                "Someone else changed this lead after you opened it. Reload to see their changes, then try again."
            )
        await audit.record(actor_id=user.id, action="update", entity_type="lead", entity_id=lead_id,
                           changes=changes, ip=ip)  # fmt: skip
        uow.emit(Event("lead.updated", {"id": lead_id, "fields": sorted(changes)}))
    return await get_lead(user, lead_id)


async def delete_lead(user: CurrentUser, lead_id: int, ip: str = "", clock: Clock = system_clock) -> None:
    await get_lead(user, lead_id)
    async with UnitOfWork() as uow:
        await Lead.update({Lead.deleted_at: clock.now()}).where(Lead.id == lead_id)
        await audit.record(actor_id=user.id, action="delete", entity_type="lead", entity_id=lead_id, changes={}, ip=ip)
        uow.emit(Event("lead.deleted", {"id": lead_id}))


async def restore_lead(user: CurrentUser, lead_id: int, ip: str = "") -> dict:
    lead = await get_lead(user, lead_id, include_deleted=True)
    if lead["deleted_at"] is None:
        return lead
    async with UnitOfWork() as uow:
        await Lead.update({Lead.deleted_at: None}).where(Lead.id == lead_id)
        await audit.record(actor_id=user.id, action="restore", entity_type="lead", entity_id=lead_id, changes={}, ip=ip)
        uow.emit(Event("lead.restored", {"id": lead_id}))
    return await get_lead(user, lead_id)


async def assignable_owners(user: CurrentUser) -> list[dict]:
    """People the user may pick as owner in a form."""
    query = User.select(User.id, User.display_name).where(
        User.is_active.eq(True) & User.role.is_in(["advisor", "supervisor"])
    )
    if user.role not in policy.ASSIGNING_ROLES:
        query = query.where(User.id == user.id)
    rows = await query.order_by(User.display_name)
    return [r for r in rows if await policy.can_assign_to(user, r["id"])]
