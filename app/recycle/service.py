"""The recycle bin: list what the user may see across every registered kind, restore, purge.

Rules:
- the bin shows a deleted record to whoever could see it alive (each kind's own visibility), and
  they may restore it, as they could delete it; a kind's restore may refuse with the reason
  (a ticket whose parent is in the bin, a lead whose merge survivor is in the bin);
- purging now is for holders of `recycle.purge` (admins); the daily cron purges what has been in
  the bin for RETENTION_DAYS days;
- every restore and purge is an audit row and an event ("<kind>.restored", "<kind>.purged"); a purge
  also deletes the record's own audit history (see `_purge_one`).

Listing pages in SQL, never reading the whole bin: each kind counts its matches and reads a window
of its newest `offset + limit` keys (deleted_at, id), ordered by `deleted_at DESC, id DESC`; those
few keys are merged newest first (ties by kind, then id) and sliced to the page, and only the page's
rows are read in full, described and given their "deleted by". A page costs two queries per kind,
plus two per kind on the page (its rows, its deleters) and what `describe` needs (tested).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.events import ADMINS, Audience, Event
from app.core.i18n import N_
from app.core.pagination import Page, PageRequest
from app.core.permissions import CurrentUser, has_permission
from app.core.templates import DISPLAY_TZ
from app.recycle.registry import RETENTION_DAYS, RecycleKind, kind_of, kinds
from tables.audit.tables import AuditEntry

log = logging.getLogger(__name__)
PURGE_BATCH = 200
# Purges are audited under this entity type (with the kind in `changes`), not under the purged record's.
PURGE_ENTITY = "recycle_bin"


@dataclass(frozen=True)
class BinFilter:
    kind: str = ""
    deleted_by: int | None = None
    deleted_from: date | None = None
    deleted_to: date | None = None
    q: str = ""


def can_purge(user: CurrentUser) -> bool:
    return has_permission(user, "recycle.purge")


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=DISPLAY_TZ)


def _deleted_by(kind: RecycleKind, actor_id: int):
    return AuditEntry.select(AuditEntry.entity_id).where(
        (AuditEntry.entity_type == kind.name)
        & AuditEntry.action.is_in(list(kind.delete_actions))
        & (AuditEntry.actor == actor_id)
    )


async def _where(kind: RecycleKind, user: CurrentUser, filters: BinFilter):
    table = kind.table
    visible = await kind.visible(user)
    if visible is False:
        return None
    where = table.deleted_at.is_not_null()
    if visible is not None:
        where &= visible
    if filters.q.strip():
        where &= kind.search(filters.q.strip())
    if filters.deleted_from:
        where &= table.deleted_at >= _day_start(filters.deleted_from)
    if filters.deleted_to:
        where &= table.deleted_at < _day_start(filters.deleted_to + timedelta(days=1))
    if filters.deleted_by:
        where &= table.id.is_in(_deleted_by(kind, filters.deleted_by))
    return where


async def _deleters(kind: RecycleKind, ids: list[int]) -> dict[int, dict]:
    """Who put each row in the bin: the latest delete (or merge) audit entry."""
    if not ids:
        return {}
    rows = (
        await AuditEntry.select(
            AuditEntry.entity_id,
            AuditEntry.action,
            AuditEntry.actor,
            AuditEntry.actor.display_name.as_alias("actor_name"),
        )
        .where(
            (AuditEntry.entity_type == kind.name)
            & AuditEntry.action.is_in(list(kind.delete_actions))
            & AuditEntry.entity_id.is_in(ids)
        )
        .order_by(AuditEntry.id)
    )
    return {r["entity_id"]: r for r in rows}  # the last one wins


def _ages(deleted_at: datetime, now: datetime) -> tuple[int, int]:
    """(whole days since deletion, days until the cron purges it — 0 means at its next run)."""
    if deleted_at.tzinfo is None:
        deleted_at = deleted_at.replace(tzinfo=now.tzinfo)
    age = now - deleted_at
    left = timedelta(days=RETENTION_DAYS) - age
    return max(0, age.days), max(0, -(-left // timedelta(days=1)))


async def list_bin(
    user: CurrentUser, filters: BinFilter, page: PageRequest, *, clock: Clock = system_clock
) -> Page[dict]:
    """One page of the bin across the kinds, paged in SQL (see the module's docstring)."""
    selected = [k for k in kinds().values() if not filters.kind or k.name == filters.kind]
    total, window, wheres = 0, [], {}
    for kind in selected:
        where = await _where(kind, user, filters)
        if where is None:
            continue
        table, wheres[kind.name] = kind.table, where
        total += await table.count().where(where)
        keys = (
            await table.select(table.id, table.deleted_at)
            .where(where)
            .order_by(table.deleted_at, ascending=False)
            .order_by(table.id, ascending=False)
            .limit(page.offset + page.limit)
        )
        window += [(r["deleted_at"], kind.name, r["id"]) for r in keys]
    # Newest first; equal times by kind, then id (each kind's window is already in that order).
    window.sort(reverse=True)
    picked = window[page.offset : page.offset + page.limit]
    now = clock.now()
    found: dict[tuple[str, int], dict] = {}
    for kind in selected:
        ids = [item_id for _, name, item_id in picked if name == kind.name]
        if not ids:
            continue
        table = kind.table
        # The same WHERE again: a row restored since the window was read drops out of the page.
        mine = (
            await table.select(table.id, table.deleted_at, *kind.columns)
            .where(wheres[kind.name] & table.id.is_in(ids))
            .output(load_json=True)
        )
        if not mine:
            continue
        for row in mine:
            row["kind"] = kind.name
        deleters = await _deleters(kind, [r["id"] for r in mine])
        await kind.describe(user, mine)
        for row in mine:
            by = deleters.get(row["id"]) or {}
            row.update(
                kind_label=kind.label,
                deleted_by=by.get("actor"),
                deleted_by_name=by.get("actor_name") or "",
                merged=by.get("action") == "merge",
            )
            row["days_ago"], row["purge_in"] = _ages(row["deleted_at"], now)
            row.setdefault("note", "")
            row.setdefault("restore_label", N_("Restore"))
            found[(kind.name, row["id"])] = row
    items = [found[(name, item_id)] for _, name, item_id in picked if (name, item_id) in found]
    return Page(items, total, page.limit, page.offset)


async def deleters_for_filter(user: CurrentUser) -> list[dict]:
    """People who deleted something the user can see in the bin (the "deleted by" filter)."""
    ids: set[int] = set()
    names: dict[int, str] = {}
    for kind in kinds().values():
        where = await _where(kind, user, BinFilter())
        if where is None:
            continue
        in_bin = kind.table.select(kind.table.id).where(where)
        rows = (
            await AuditEntry.select(AuditEntry.actor, AuditEntry.actor.display_name.as_alias("name"))
            .where(
                (AuditEntry.entity_type == kind.name)
                & AuditEntry.action.is_in(list(kind.delete_actions))
                & AuditEntry.entity_id.is_in(in_bin)
                & AuditEntry.actor.is_not_null()
            )
            .distinct()
        )
        for r in rows:
            ids.add(r["actor"])
            names[r["actor"]] = r["name"]
    return sorted(({"id": i, "name": names[i]} for i in ids), key=lambda p: p["name"])


async def _in_bin(kind: RecycleKind, user: CurrentUser | None, item_id: int) -> dict:
    table = kind.table
    where = (table.id == item_id) & table.deleted_at.is_not_null()
    if user is not None:
        visible = await kind.visible(user)
        if visible is False:
            raise NotFound(N_("This item is not in the recycle bin, or you cannot see it."))
        if visible is not None:
            where &= visible
    row = await table.select(table.id, table.deleted_at).where(where).first()
    if row is None:
        raise NotFound(N_("This item is not in the recycle bin, or you cannot see it."))
    return row


def _kind(name: str) -> RecycleKind:
    kind = kind_of(name)
    if kind is None:
        raise NotFound()
    return kind


async def restore(user: CurrentUser, kind_name: str, item_id: int, *, ip: str = "") -> str:
    """Put a record back where it was; returns its page. The kind audits it and emits `<kind>.restored`."""
    kind = _kind(kind_name)
    await _in_bin(kind, user, item_id)
    await kind.restore(user, item_id, ip)
    return kind.url(item_id)


async def _purge_one(kind: RecycleKind, item_id: int, *, actor_id: int | None, reason: str, ip: str = "") -> bool:
    table = kind.table
    if kind.check_purge is not None:
        await kind.check_purge(item_id)
    async with UnitOfWork() as uow:
        if kind.before_purge is not None:
            await kind.before_purge(uow, item_id)
        gone = await table.delete().where((table.id == item_id) & table.deleted_at.is_not_null()).returning(table.id)
        if not gone:
            return False
        # The record's own history goes with it: its snapshots hold the personal data being purged, and
        # SQLite may give a later record the same id (the highest id is reused), which must not inherit it.
        await AuditEntry.delete().where((AuditEntry.entity_type == kind.name) & (AuditEntry.entity_id == item_id))
        # What stays is who purged which kind and id, and why; no name or number.
        await audit.record(
            actor_id=actor_id,
            action="purge",
            entity_type=PURGE_ENTITY,
            entity_id=item_id,
            changes={"kind": [None, kind.name], "reason": [None, reason]},
            ip=ip,
        )
        # The record is gone, so who could see it cannot be worked out any more: those who may purge.
        uow.emit(
            Event(f"{kind.name}.purged", {"id": item_id, "reason": reason}, audience=ADMINS | Audience.user(actor_id))
        )
    return True


async def purge(user: CurrentUser, kind_name: str, item_id: int, *, ip: str = "") -> None:
    """Delete one record for good now (admins). Rows that depend on it go with it (foreign keys)."""
    if not can_purge(user):
        raise Forbidden(N_("Only an administrator can delete items for good."))
    kind = _kind(kind_name)
    await _in_bin(kind, user, item_id)
    await _purge_one(kind, item_id, actor_id=user.id, reason="manual", ip=ip)


async def purge_expired(clock: Clock = system_clock, *, batch: int = PURGE_BATCH) -> dict[str, int]:
    """Delete for good what has been in the bin RETENTION_DAYS days or more (the daily cron).

    Safe to run twice or on two workers: each row's DELETE matches once. A row that cannot go
    (a student with enrolments) is logged and left; it is tried again at the next run.
    """
    cutoff = clock.now() - timedelta(days=RETENTION_DAYS)
    done: dict[str, int] = {}
    for kind in kinds().values():
        table = kind.table
        ids = [
            r["id"]
            for r in await table.select(table.id)
            .where(table.deleted_at.is_not_null() & (table.deleted_at <= cutoff))
            .order_by(table.deleted_at)
            .limit(batch)
        ]
        count = 0
        for item_id in ids:
            try:
                count += await _purge_one(kind, item_id, actor_id=None, reason="expired")
            except Conflict as exc:
                log.info("recycle bin: %s %s kept: %s", kind.name, item_id, exc.detail)
        done[kind.name] = count
    return done
