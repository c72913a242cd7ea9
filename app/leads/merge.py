"""Merging two leads into one, and undoing it.

The survivor takes, field by field, the value the user picked; phones and course interests are
joined. Every row that points at the merged lead (follow-ups, a converted student, anything a
module registers with `register_lead_reference`) and every audit entry of the merged lead is
re-pointed to the survivor. The merged lead is soft-deleted with `merged_into` set, so it sits in
the recycle bin; `LeadMerge` records what moved and the survivor's old values, and undoing puts
both back (fields the survivor changed since the merge keep their new value).
"""

from __future__ import annotations

from piccolo.table import Table

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.events import Event
from app.core.i18n import N_, gettext
from app.core.permissions import CurrentUser
from app.leads.audience import of_lead
from app.leads.dedup import check as dedup
from app.leads.services import get_lead
from tables.audit.tables import AuditEntry
from tables.leads.tables import Lead, LeadMerge

# Fields the user picks one value of; `phones` and `course_interests` are joined instead.
MERGE_FIELDS = (
    "student_name",
    "guardian_name",
    "phone",
    "email",
    "wechat",
    "city",
    "district",
    "grade",
    "source",
    "source_campaign",
    "status",
    "invalid_reason",
    "owner",
    "campus",
    "note",
    "next_follow_up_on",
)
JOINED_FIELDS = ("phones", "course_interests")
MERGE_ROLES = ("admin", "supervisor")

_registered: list[tuple[type[Table], str]] = []


def register_lead_reference(table: type[Table], column: str) -> None:
    """Declare that `table.column` holds a lead id, so a merge re-points it (and an undo moves it back)."""
    if (table, column) not in _registered:
        _registered.append((table, column))


def lead_references() -> list[tuple[type[Table], str]]:
    from tables.students.tables import Student

    refs = [(Student, "lead"), *_registered]
    try:  # follow-ups live in their own app; re-pointed when it is installed
        from tables.follow_ups.tables import FollowUp
    except ImportError:
        pass
    else:
        if (FollowUp, "lead") not in refs:
            refs.append((FollowUp, "lead"))
    return refs


def _ref_name(table: type[Table], column: str) -> str:
    return f"{table._meta.tablename}.{column}"


def can_merge(user: CurrentUser, a: dict, b: dict) -> bool:
    """Admins and supervisors (for leads they can see), or the advisor who owns both."""
    return user.role in MERGE_ROLES or (a["owner"] == user.id and b["owner"] == user.id)


async def load_pair(user: CurrentUser, survivor_id: int, merged_id: int) -> tuple[dict, dict]:
    if survivor_id == merged_id:
        raise ValidationFailed.one("merged", N_("Choose two different leads."))
    survivor, merged = await get_lead(user, survivor_id), await get_lead(user, merged_id)
    if not can_merge(user, survivor, merged):
        raise Forbidden(N_("Only an admin, a supervisor or the owner of both leads can merge them."))
    return survivor, merged


def _joined(*lists) -> list:
    return list(dict.fromkeys(x for items in lists for x in (items or []) if x))


def merged_values(survivor: dict, merged: dict, picks: dict[str, int]) -> dict:
    """The survivor's values after the merge. `picks` maps a field to the id of the lead whose value wins."""
    errors = []
    out = {}
    for field in MERGE_FIELDS:
        choice = picks.get(field, survivor["id"])
        if choice not in (survivor["id"], merged["id"]):
            errors.append(FieldError(field, N_("Pick the value of one of the two leads.")))
            continue
        out[field] = (merged if choice == merged["id"] else survivor)[field]
    if errors:
        raise ValidationFailed(errors)
    phones = _joined([survivor["phone"], merged["phone"]], survivor["phones"], merged["phones"])
    out["phones"] = [p for p in phones if p != out["phone"]]
    out["course_interests"] = _joined(survivor["course_interests"], merged["course_interests"])
    if out["status"] == "invalid" and not out["invalid_reason"]:
        raise ValidationFailed.one("invalid_reason", N_("Say why the lead is invalid."))
    return out


async def merge_leads(
    user: CurrentUser,
    survivor_id: int,
    merged_id: int,
    picks: dict[str, int],
    *,
    ip: str = "",
    clock: Clock = system_clock,
) -> int:
    """Merge `merged_id` into `survivor_id`; returns the LeadMerge id."""
    survivor, merged = await load_pair(user, survivor_id, merged_id)
    after = merged_values(survivor, merged, picks)
    fields = (*MERGE_FIELDS, *JOINED_FIELDS)
    before = {f: audit._plain(survivor[f]) for f in fields}
    now = clock.now()
    async with UnitOfWork() as uow:
        updated = (
            await Lead.update(
                {
                    **{getattr(Lead, f): v for f, v in after.items()},
                    Lead.version: Lead.version + 1,
                    Lead.updated_at: now,
                }
            )
            .where((Lead.id == survivor_id) & (Lead.version == survivor["version"]) & Lead.deleted_at.is_null())
            .returning(Lead.id)
        )
        gone = (
            await Lead.update({Lead.deleted_at: now, Lead.merged_into: survivor_id})
            .where((Lead.id == merged_id) & (Lead.version == merged["version"]) & Lead.deleted_at.is_null())
            .returning(Lead.id)
        )
        if not updated or not gone:
            raise Conflict(N_("One of the leads changed while you were merging. Reload and try again."))
        moved = {}
        for table, column in lead_references():
            col = getattr(table, column)
            ids = [r["id"] for r in await table.select(table.id).where(col == merged_id)]
            if ids:
                await table.update({col: survivor_id}).where(table.id.is_in(ids))
            moved[_ref_name(table, column)] = ids
        entries = AuditEntry.select(AuditEntry.id).where(
            (AuditEntry.entity_type == "lead") & (AuditEntry.entity_id == merged_id)
        )
        audit_ids = [r["id"] for r in await entries]
        if audit_ids:
            await AuditEntry.update({AuditEntry.entity_id: survivor_id}).where(AuditEntry.id.is_in(audit_ids))
        moved["audit_entry.entity_id"] = audit_ids
        await dedup.drop_keys(merged_id)
        await dedup.write_keys(survivor_id, {**survivor, **after})
        rows = await LeadMerge.insert(
            LeadMerge(
                survivor=survivor_id,
                merged=merged_id,
                actor=user.id,
                survivor_before=before,
                survivor_after={f: audit._plain(v) for f, v in after.items()},
                moved=moved,
            )
        ).returning(LeadMerge.id)
        changes = {**audit.diff(survivor, after, fields), "merged_lead": [None, merged_id]}
        await audit.record(
            actor_id=user.id, action="merge", entity_type="lead", entity_id=survivor_id, changes=changes, ip=ip
        )
        await audit.record(
            actor_id=user.id,
            action="merge",
            entity_type="lead",
            entity_id=merged_id,
            changes={"merged_into": [None, survivor_id]},
            ip=ip,
        )
        uow.emit(
            Event(
                "lead.merged",
                {"id": survivor_id, "merged": merged_id, "merge": rows[0]["id"]},
                audience=of_lead(survivor_id, merged_id),
            )
        )
    return rows[0]["id"]


async def undo_merge(user: CurrentUser, merge_id: int, *, ip: str = "", clock: Clock = system_clock) -> int:
    """Undo a merge; returns the survivor's id."""
    record = await LeadMerge.select().where(LeadMerge.id == merge_id).first().output(load_json=True)
    if record is None:
        raise NotFound()
    if record["undone_at"] is not None:
        raise Conflict(N_("This merge has already been undone."))
    survivor = await get_lead(user, record["survivor"], include_deleted=True)
    if survivor["deleted_at"] is not None:  # the merged lead would come back pointing at a binned one
        raise Conflict(
            gettext(
                N_(
                    "It was merged into “%(name)s”, which is in the recycle bin too. Restore that lead "
                    "first, then undo the merge."
                ),
                name=survivor["student_name"],
            )
        )
    merged = await get_lead(user, record["merged"], include_deleted=True)
    if not can_merge(user, survivor, merged):
        raise Forbidden(N_("Only an admin, a supervisor or the owner of both leads can merge them."))
    # Fields edited since the merge keep the newer value; the others go back.
    restore = {
        f: v
        for f, v in record["survivor_before"].items()
        if audit._plain(survivor.get(f)) == record["survivor_after"].get(f)
    }
    if restore.get("next_follow_up_on"):
        from datetime import date

        restore["next_follow_up_on"] = date.fromisoformat(restore["next_follow_up_on"])
    refs = {_ref_name(t, c): (t, c) for t, c in lead_references()}
    now = clock.now()
    async with UnitOfWork() as uow:
        await Lead.update(
            {**{getattr(Lead, f): v for f, v in restore.items()}, Lead.version: Lead.version + 1, Lead.updated_at: now}
        ).where(Lead.id == survivor["id"])
        await Lead.update(
            {Lead.deleted_at: None, Lead.merged_into: None, Lead.version: Lead.version + 1, Lead.updated_at: now}
        ).where(Lead.id == merged["id"])
        for name, ids in record["moved"].items():
            if not ids:
                continue
            if name == "audit_entry.entity_id":
                await AuditEntry.update({AuditEntry.entity_id: merged["id"]}).where(
                    AuditEntry.id.is_in(ids) & (AuditEntry.entity_id == survivor["id"])
                )
            elif name in refs:
                table, column = refs[name]
                col = getattr(table, column)
                await table.update({col: merged["id"]}).where(table.id.is_in(ids) & (col == survivor["id"]))
        await LeadMerge.update({LeadMerge.undone_at: now}).where(LeadMerge.id == merge_id)
        await dedup.write_keys(survivor["id"], {**survivor, **restore})
        await dedup.write_keys(merged["id"], merged)
        changes = audit.diff(survivor, restore, restore.keys())
        await audit.record(
            actor_id=user.id,
            action="unmerge",
            entity_type="lead",
            entity_id=survivor["id"],
            changes={**changes, "merged_lead": [merged["id"], None]},
            ip=ip,
        )
        await audit.record(
            actor_id=user.id,
            action="unmerge",
            entity_type="lead",
            entity_id=merged["id"],
            changes={"merged_into": [survivor["id"], None]},
            ip=ip,
        )
        uow.emit(
            Event(
                "lead.unmerged",
                {"id": survivor["id"], "merged": merged["id"], "merge": merge_id},
                audience=of_lead(survivor["id"], merged["id"]),
            )
        )
    return survivor["id"]


async def undo_merge_of(user: CurrentUser, merged_id: int, *, ip: str = "") -> None:
    """Undo the merge that took `merged_id` away (restoring it from the recycle bin)."""
    record = (
        await LeadMerge.select(LeadMerge.id)
        .where((LeadMerge.merged == merged_id) & LeadMerge.undone_at.is_null())
        .order_by(LeadMerge.id, ascending=False)
        .first()
    )
    if record is None:
        raise NotFound()
    await undo_merge(user, record["id"], ip=ip)


async def merges_of(survivor_id: int) -> list[dict]:
    """Merges into this lead that can still be undone, newest first."""
    return (
        await LeadMerge.select(
            LeadMerge.id,
            LeadMerge.merged,
            LeadMerge.created_at,
            LeadMerge.merged.student_name.as_alias("merged_name"),
            LeadMerge.actor.display_name.as_alias("actor_name"),
        )
        .where((LeadMerge.survivor == survivor_id) & LeadMerge.undone_at.is_null())
        .order_by(LeadMerge.id, ascending=False)
    )
