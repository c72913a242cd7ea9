"""The audit trail: every create/update/delete of a business record, with field diffs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tables.audit.tables import AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def diff(before: dict[str, Any], after: dict[str, Any], fields: Iterable[str]) -> dict[str, list[Any]]:
    return {
        f: [_plain(before.get(f)), _plain(after.get(f))]
        for f in fields
        if _plain(before.get(f)) != _plain(after.get(f))
    }


def snapshot(values: dict[str, Any], fields: Iterable[str]) -> dict[str, list[Any]]:
    return {f: [None, _plain(values.get(f))] for f in fields if values.get(f) not in (None, "")}


async def record(
    *,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: int,
    changes: dict[str, list[Any]],
    ip: str = "",
) -> None:
    """Write one audit row; call inside the same transaction as the change itself."""
    await AuditEntry.insert(
        AuditEntry(
            actor=actor_id,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            changes=changes,
            ip=ip,
        )
    )


async def history(entity_type: str, entity_id: int, limit: int = 200) -> list[dict[str, Any]]:
    rows = (
        await AuditEntry.select(
            AuditEntry.id,
            AuditEntry.action,
            AuditEntry.changes,
            AuditEntry.at,
            AuditEntry.actor.display_name.as_alias("actor_name"),
        )
        .where((AuditEntry.entity_type == entity_type) & (AuditEntry.entity_id == entity_id))
        .order_by(AuditEntry.at, ascending=False)
        .order_by(AuditEntry.id, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )
    return rows
