"""Leads: validation, visibility-aware listing, audited changes with optimistic versions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.events import Event
from app.core.forms import parse_int
from app.core.i18n import N_
from app.core.pagination import Page, PageRequest, fetch_page
from app.core.permissions import CurrentUser
from app.leads import policy
from app.leads.audience import of_lead
from app.leads.dedup import check as dedup
from app.leads.dedup.normalise import normalise_phone
from app.leads.dedup.scoring import EXACT_KINDS, Match, match_keys, profile
from app.leads.pool import services as pool
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
    "student_name",
    "guardian_name",
    "phone",
    "phones",
    "email",
    "wechat",
    "city",
    "district",
    "grade",
    "course_interests",
    "source",
    "source_campaign",
    "status",
    "invalid_reason",
    "owner",
    "campus",
    "note",
    "next_follow_up_on",
)
# Fields a duplicate check looks at: changing one of them re-checks an edited lead.
IDENTITY = ("student_name", "guardian_name", "phone", "phones", "email", "wechat", "district")
FIELD_LABELS = {
    "student_name": N_("Student name"),
    "guardian_name": N_("Guardian name"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "wechat": N_("WeChat ID"),
    "city": N_("City"),
    "district": N_("District"),
    "grade": N_("Grade"),
    "source": N_("Source"),
    "status": N_("Status"),
    "owner": N_("Owner"),
    "campus": N_("Campus"),
    "note": N_("Note"),
    "next_follow_up_on": N_("Next follow-up"),
    "phones": N_("Other phones"),
    "course_interests": N_("Course interests"),
    "source_campaign": N_("Campaign"),
    "invalid_reason": N_("Reason invalid"),
    "merged_into": N_("Merged into"),
    "student": N_("Student"),
    "converted_at": N_("Converted"),
    "tickets": N_("Tickets"),
}
LIMITS = {
    "student_name": 100,
    "guardian_name": 100,
    "email": 255,
    "wechat": 64,
    "city": 50,
    "district": 50,
    "grade": 20,
    "note": 5000,
    "source_campaign": 100,
    "invalid_reason": 200,
}
MAX_PHONES, MAX_TAGS, TAG_LENGTH = 5, 10, 20
_LIST_SEPARATORS = re.compile(r"[,;，；、\n]+")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LIST_COLUMNS = (
    Lead.id,
    Lead.student_name,
    Lead.guardian_name,
    Lead.phone,
    Lead.status,
    Lead.source,
    Lead.owner,
    Lead.city,
    Lead.district,
    Lead.grade,
    Lead.next_follow_up_on,
    Lead.created_at,
    Lead.version,
    Lead.owner.display_name.as_alias("owner_name"),
)
DETAIL_COLUMNS = (
    *LIST_COLUMNS,
    Lead.email,
    Lead.wechat,
    Lead.campus,
    Lead.note,
    Lead.updated_at,
    Lead.deleted_at,
    Lead.campus.name.as_alias("campus_name"),
    Lead.phones,
    Lead.course_interests,
    Lead.source_campaign,
    Lead.invalid_reason,
    Lead.merged_into,
    Lead.converted_at,
    Lead.student,
)


class DuplicatesFound(Conflict):
    """Creating or editing would give a lead the same phone, e-mail or WeChat id as another one.

    The API answers 409 with the usual error body plus `duplicates`; resending with
    `allow_duplicate` set goes ahead.
    """

    def __init__(self, matches: list[Match]) -> None:
        super().__init__(
            N_("A lead with the same phone, email or WeChat ID exists. Check the duplicates, then confirm.")
        )
        self.matches = matches

    def body_extra(self, translate) -> dict:
        return {"duplicates": [m.as_dict(translate) for m in self.matches]}


@dataclass(frozen=True)
class LeadFilter:
    q: str = ""
    status: str = ""
    scope: str = ""  # "" all visible | "mine" | "pool"


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
    if "phones" in fields:
        out["phones"] = _clean_phones(values.get("phones"), out.get("phone", ""), errors)
    if "course_interests" in fields:
        out["course_interests"] = _clean_tags(values.get("course_interests"), errors)
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


def _as_list(raw) -> list | None:
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        return [x for x in (p.strip() for p in _LIST_SEPARATORS.split(raw)) if x]
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return [x.strip() for x in raw if x.strip()]
    return None


def _clean_phones(raw, primary: str, errors: list[FieldError]) -> list[str]:
    """Other numbers of the family, normalised, without repeats or the primary one."""
    items = _as_list(raw)
    if items is None:
        errors.append(FieldError("phones", "Give a list of phone numbers."))
        return []
    out: list[str] = []
    for item in items:
        phone = normalise_phone(item)
        if phone is None:
            errors.append(FieldError("phones", "Enter valid phone numbers, separated by commas."))
            return []
        if phone and phone != primary and phone not in out:
            out.append(phone)
    if len(out) > MAX_PHONES:
        errors.append(FieldError("phones", "At most 5 other phone numbers."))
    return out


def _clean_tags(raw, errors: list[FieldError]) -> list[str]:
    items = _as_list(raw)
    if items is None:
        errors.append(FieldError("course_interests", "Give a list of course names."))
        return []
    out = list(dict.fromkeys(items))
    if len(out) > MAX_TAGS or any(len(t) > TAG_LENGTH for t in out):
        errors.append(FieldError("course_interests", "At most 10 courses of up to 20 characters each."))
    return out


def _as_id(value) -> int | str | None:
    if value in (None, ""):
        return None
    number = parse_int(value)
    return "invalid" if number is None else number


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
    return await fetch_page(Lead, LIST_COLUMNS, await filtered_where(user, filters), page)


async def filtered_where(user: CurrentUser, filters: LeadFilter):
    """The WHERE clause of the lead list (visibility and filters); the export applies the same one."""
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
    return where


async def get_lead(user: CurrentUser, lead_id: int, include_deleted: bool = False) -> dict:
    lead = await Lead.select(*DETAIL_COLUMNS).where(Lead.id == lead_id).first().output(load_json=True)
    # Not visible and not existing look the same from outside: no probing of ids.
    if lead is None or (lead["deleted_at"] and not include_deleted) or not await policy.can_view(user, lead):
        raise NotFound("This lead does not exist or you cannot see it.")
    return lead


def _check_invalid_reason(after: dict, errors: list[FieldError]) -> None:
    if after.get("status") == "invalid" and not after.get("invalid_reason"):
        errors.append(FieldError("invalid_reason", "Say why the lead is invalid."))


def _blocking(matches: list[Match], new_keys: set[str] | None = None) -> list[Match]:
    """Exact matches; on an edit only those caused by a key the edit adds (an accepted duplicate
    does not block every later edit)."""
    blocking = [m for m in matches if m.blocking]
    if new_keys is None:
        return blocking
    return [m for m in blocking if match_keys(profile(m.lead)) & new_keys]


async def create_lead(user: CurrentUser, values: dict, ip: str = "", *, allow_duplicate: bool = True) -> dict:
    """Create a lead; the result carries `duplicates` (list of Match), best first.

    With `allow_duplicate=False` (the API and the form until the user confirms) an exact phone,
    e-mail or WeChat match raises DuplicatesFound and nothing is written. Internal callers (demo
    data, importers that ran `check_many` themselves) keep the default.
    """
    if not policy.can_use_leads(user):
        raise Forbidden()
    values = dict(values)
    if "owner" not in values:
        values["owner"] = user.id if user.role == "advisor" else None
    if not values.get("campus"):
        values["campus"] = user.campus_id
    data, errors = await _clean(user, values, partial=False)
    _check_invalid_reason(data, errors)
    if errors:
        raise ValidationFailed(errors)
    matches = await dedup.find_duplicates(data)
    if not allow_duplicate and _blocking(matches):
        raise DuplicatesFound(matches)
    async with UnitOfWork() as uow:
        rows = await Lead.insert(Lead(**data)).returning(Lead.id)
        lead_id = rows[0]["id"]
        await dedup.write_keys(lead_id, data)
        await audit.record(
            actor_id=user.id,
            action="create",
            entity_type="lead",
            entity_id=lead_id,
            changes=audit.snapshot(data, EDITABLE),
            ip=ip,
        )
        uow.emit(Event("lead.created", {"id": lead_id, "owner": data.get("owner")}, audience=of_lead(lead_id)))
    lead = await get_lead(user, lead_id)
    lead["duplicates"] = matches
    return lead


async def validate_new_lead(user: CurrentUser, values: dict) -> tuple[dict, list[FieldError]]:
    """create_lead's checks without writing: the cleaned values and the errors (the importer checks
    each row this way). Give `owner` and `campus` to have them checked too."""
    data, errors = await _clean(user, values, partial=False)
    _check_invalid_reason(data, errors)
    return data, errors


async def update_lead(
    user: CurrentUser,
    lead_id: int,
    values: dict,
    *,
    version: int | None,
    ip: str = "",
    clock: Clock = system_clock,
    allow_duplicate: bool = True,
) -> dict:
    """Partial update. An edit that gives the lead another lead's phone, e-mail or WeChat id raises
    DuplicatesFound unless `allow_duplicate`; the result carries `duplicates` when identity fields changed."""
    before = await get_lead(user, lead_id)
    data, errors = await _clean(user, values, partial=True)
    after = {**before, **data}
    _check_invalid_reason(after, errors)
    if errors:
        raise ValidationFailed(errors)
    changes = audit.diff(before, data, data.keys())
    if not changes:
        return before
    move, limit = await _owner_move(user, before, data)
    matches: list[Match] = []
    identity_changed = any(f in changes for f in IDENTITY)
    if identity_changed:
        matches = await dedup.find_duplicates(after, exclude=[lead_id])
        new_keys = {
            k for k in match_keys(profile(after)) - match_keys(profile(before)) if k.split(":")[0] in EXACT_KINDS
        }
        if not allow_duplicate and _blocking(matches, new_keys):
            raise DuplicatesFound(_blocking(matches, new_keys))
    stale = Conflict("Someone else changed this lead after you opened it. Reload to see their changes, then try again.")
    rest = {k: v for k, v in data.items() if not (move and k == "owner")}
    rest_changes = {k: v for k, v in changes.items() if not (move and k == "owner")}
    async with UnitOfWork() as uow:
        if rest_changes:
            where = (Lead.id == lead_id) & Lead.deleted_at.is_null()
            if version is not None:
                where &= Lead.version == version
            updated = (
                await Lead.update(
                    {
                        **{getattr(Lead, k): v for k, v in rest.items()},
                        Lead.version: Lead.version + 1,
                        Lead.updated_at: clock.now(),
                    }
                )
                .where(where)
                .returning(Lead.id)
            )
            if not updated:
                raise stale
            version = None  # checked: the move below only needs the owner to be unchanged
        if move == "claim" and not await pool.take(uow, user, lead_id, limit, ip=ip, clock=clock, version=version):
            raise stale
        if move == "release" and not await pool.give_back(
            uow, user, lead_id, before["owner"], ip=ip, clock=clock, version=version
        ):
            raise stale
        if identity_changed:
            await dedup.write_keys(lead_id, after)
        if rest_changes:
            await audit.record(
                actor_id=user.id, action="update", entity_type="lead", entity_id=lead_id, changes=rest_changes, ip=ip
            )
            uow.emit(
                Event(
                    "lead.updated",
                    {"id": lead_id, "fields": sorted(rest_changes)},
                    audience=of_lead(lead_id, old_owner=before["owner"], had_owner="owner" in rest_changes),
                )
            )
    lead = await get_lead(user, lead_id)
    lead["duplicates"] = matches
    return lead


async def _owner_move(user: CurrentUser, before: dict, data: dict) -> tuple[str | None, int | None]:
    """An edit that takes a pool lead for oneself is a claim, one that empties the owner a release:
    both follow the public pool's rules (limits, who may release, the lead's timeline) whichever
    form or API sends them, so naming oneself owner is no way round the pool's masked numbers.
    Returns the move ("claim", "release" or None) and, for a claim, the limit to check under lock."""
    if "owner" not in data or data["owner"] == before["owner"]:
        return None, None
    if before["owner"] is None and data["owner"] == user.id:
        return "claim", await pool.check_claim(user, before)
    if data["owner"] is None:
        await pool.check_release(user, before)
        return "release", None
    return None, None


async def duplicates_of(user: CurrentUser, lead_id: int) -> list[Match]:
    """Likely duplicates of a stored lead (GET /api/v1/leads/{id}/duplicates, the detail page)."""
    lead = await get_lead(user, lead_id)
    return await dedup.find_duplicates(lead, exclude=[lead_id])


async def delete_lead(user: CurrentUser, lead_id: int, ip: str = "", clock: Clock = system_clock) -> None:
    await get_lead(user, lead_id)
    async with UnitOfWork() as uow:
        await Lead.update({Lead.deleted_at: clock.now()}).where(Lead.id == lead_id)
        await dedup.drop_keys(lead_id)
        await audit.record(actor_id=user.id, action="delete", entity_type="lead", entity_id=lead_id, changes={}, ip=ip)
        uow.emit(Event("lead.deleted", {"id": lead_id}, audience=of_lead(lead_id)))


async def restore_lead(user: CurrentUser, lead_id: int, ip: str = "") -> dict:
    """Bring a lead back from the recycle bin; a lead that was merged away is restored by undoing the merge."""
    lead = await get_lead(user, lead_id, include_deleted=True)
    if lead["deleted_at"] is None:
        return lead
    if lead["merged_into"] is not None:
        from app.leads.merge import undo_merge_of

        await undo_merge_of(user, lead_id, ip=ip)
        return await get_lead(user, lead_id)
    async with UnitOfWork() as uow:
        await Lead.update({Lead.deleted_at: None}).where(Lead.id == lead_id)
        await dedup.write_keys(lead_id, lead)
        await audit.record(actor_id=user.id, action="restore", entity_type="lead", entity_id=lead_id, changes={}, ip=ip)
        uow.emit(Event("lead.restored", {"id": lead_id}, audience=of_lead(lead_id)))
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
