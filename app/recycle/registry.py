"""What can be in the recycle bin (回收站): one `RecycleKind` per kind of record.

A kind is a table with a nullable `deleted_at`, plus what only its domain knows: how a row is
named, who may see it, how it comes back (with the reason when it cannot) and how it is deleted
for good. A new kind (quotes, contracts…) writes a module that calls `register(RecycleKind(...))`
at import and adds that module's dotted path to KIND_MODULES; the page, the filters, restore,
purge now and the 30-day cron then cover it with no other change.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.permissions import CurrentUser

# Days an item stays in the bin before the daily cron deletes it for good.
RETENTION_DAYS = 30

KIND_MODULES: list[str] = [
    "app.recycle.kinds.leads",
    "app.recycle.kinds.students",
    "app.recycle.kinds.tickets",
]


@dataclass(frozen=True)
class RecycleKind:
    name: str  # "lead": also the audit entity_type and the prefix of its events ("lead.purged")
    label: str  # untranslated (N_), e.g. N_("Lead")
    table: type[Any]  # a Piccolo table with `id` and `deleted_at` (Table itself declares neither)
    # Columns the bin reads (the id and deleted_at are added); rows go to `describe`.
    columns: tuple
    # The WHERE clause for a search term.
    search: Callable[[str], Any]
    # The WHERE clause of what `user` may see in the bin: None for everything, False for nothing.
    visible: Callable[[CurrentUser], Awaitable[Any]]
    # Fill `title`, `subtitle`, `note` and `restore_label` of the bin's rows (one query at most).
    describe: Callable[[CurrentUser, list[dict]], Awaitable[None]]
    # Bring one row back: audit it, emit "<kind>.restored"; Conflict with the reason when it cannot.
    restore: Callable[[CurrentUser, int, str], Awaitable[object]]  # what it returns is not used
    # The page to open after a restore.
    url: Callable[[int], str]
    # Raise Conflict when a row cannot be deleted for good (records that must be kept point at it).
    check_purge: Callable[[int], Awaitable[None]] | None = None
    # Extra work in the purge's transaction before the row's DELETE (the database cascades the rest);
    # it may register after-commit clean-up (files) on the unit of work.
    before_purge: Callable[[Any, int], Awaitable[None]] | None = None
    # Audit actions that put a row into the bin ("merge" for leads merged away).
    delete_actions: tuple[str, ...] = field(default=("delete",))


_kinds: dict[str, RecycleKind] = {}
_loaded = False


def register(kind: RecycleKind) -> RecycleKind:
    _kinds[kind.name] = kind
    return kind


def kinds() -> dict[str, RecycleKind]:
    global _loaded
    if not _loaded:
        for module in KIND_MODULES:
            importlib.import_module(module)
        _loaded = True
    return _kinds


def kind_of(name: str) -> RecycleKind | None:
    return kinds().get(name)
