"""Ticket types as an admin edits them: the basics, the ordered field list, and saving both.

Saving never breaks old tickets: a removed field is archived (its label stays readable next to
old values), a saved key's type cannot change, and keys themselves are immutable.
"""

from __future__ import annotations

import re
from datetime import datetime

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.events import EVERYONE, Event
from app.core.forms import parse_int
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.tickets import policy, workflow
from app.tickets.types import fields as ticket_fields
from tables.accounts.tables import Team
from tables.tickets.tables import TicketType

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
BASIC_FIELDS = ("name", "description", "default_priority", "team", "public_intake", "is_active")
ROW_NAME = re.compile(r"^fields\.(\d+)\.(key|label|type|required|help|options)$")
TYPE_CHANGE = N_("A saved field keeps its type; add a new field with another key instead.")


def require_type_admin(actor: CurrentUser) -> None:
    if actor.role not in policy.TYPE_ADMINS:
        raise Forbidden("Only administrators can change ticket types.")


async def list_types() -> list[dict]:
    rows = await (
        TicketType.select(*TicketType.all_columns(), TicketType.team.name.as_alias("team_name"))
        .order_by(TicketType.sort_order)
        .order_by(TicketType.id)
        .output(load_json=True)
    )
    for row in rows:
        row["field_count"] = len(ticket_fields.active_fields(row["fields"]))
        row["archived_count"] = sum(1 for f in row["fields"] if f.get("archived"))
    return rows


async def get_type(type_id: int) -> dict:
    row = await TicketType.select().where(TicketType.id == type_id).first().output(load_json=True)
    if row is None:
        raise NotFound("This ticket type does not exist.")
    return row


def saved_keys(type_row: dict | None) -> dict[str, dict]:
    """Every key the type has ever saved (archived included): these keys and their types are fixed."""
    return {f["key"]: f for f in (type_row or {}).get("fields", [])}


def archived_fields(type_row: dict | None, rows: list[dict]) -> list[dict]:
    """Saved fields the editor no longer lists: they are (or will be, on save) archived."""
    listed = {r["key"] for r in rows}
    return [f for f in (type_row or {}).get("fields", []) if f["key"] not in listed]


def parse_rows(data: dict[str, str]) -> list[dict]:
    """The editor's `fields.<n>.<part>` inputs as an ordered list of raw field dicts."""
    by_index: dict[int, dict] = {}
    for name, value in data.items():
        match = ROW_NAME.match(name)
        if match:
            by_index.setdefault(int(match.group(1)), {})[match.group(2)] = value
    rows = []
    for index in sorted(by_index):
        raw = by_index[index]
        rows.append(
            {
                "key": raw.get("key", "").strip(),
                "label": raw.get("label", "").strip(),
                "type": raw.get("type", "text"),
                "required": raw.get("required", "") in ("1", "on", "true"),
                "help": raw.get("help", "").strip(),
                "options": [line.strip() for line in raw.get("options", "").splitlines() if line.strip()],
            }
        )
    return rows


def blank_row() -> dict:
    return {"key": "", "label": "", "type": "text", "required": False, "help": "", "options": []}


def apply_op(rows: list[dict], op: str, type_row: dict | None) -> list[dict]:
    """An editor button: add, remove:<n>, up:<n>, down:<n>, restore:<key>. Unknown ops change nothing."""
    rows = list(rows)
    verb, _, arg = op.partition(":")
    if verb == "add":
        return [*rows, blank_row()]
    if verb == "restore":
        found = [f for f in archived_fields(type_row, rows) if f["key"] == arg]
        return [*rows, {**found[0], "archived": False}] if found else rows
    index = parse_int(arg)
    if index is None or index >= len(rows):
        return rows
    if verb == "remove":
        del rows[index]
    elif verb in ("up", "down"):
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]
    return rows


def _clean_basics(data: dict[str, str], creating: bool) -> tuple[dict, list[FieldError]]:
    errors: list[FieldError] = []
    values = {
        "name": (data.get("name") or "").strip(),
        "description": (data.get("description") or "").strip(),
        "default_priority": data.get("default_priority") or "normal",
        "public_intake": data.get("public_intake") in ("1", "on", "true"),
        "is_active": data.get("is_active") in ("1", "on", "true"),
    }
    team = (data.get("team") or "").strip()
    values["team"] = parse_int(team)
    if team and values["team"] is None:
        errors.append(FieldError("team", "Unknown record."))
    if not values["name"] or len(values["name"]) > 100:
        errors.append(FieldError("name", "Enter a name of at most 100 characters."))
    if len(values["description"]) > 2000:
        errors.append(FieldError("description", "At most 2,000 characters."))
    if values["default_priority"] not in workflow.PRIORITIES:
        errors.append(FieldError("default_priority", "Choose one of the listed options."))
    if creating:
        values["code"] = (data.get("code") or "").strip().lower()
        if not CODE_RE.match(values["code"]):
            errors.append(
                FieldError("code", "Use 2–40 lower-case letters, digits and underscores, starting with a letter.")
            )
    return values, errors


def _type_changes(old: dict[str, dict], clean: list[dict]) -> list[FieldError]:
    return [
        FieldError(f"fields.{i}.type", TYPE_CHANGE)
        for i, f in enumerate(clean)
        if f["key"] in old and old[f["key"]]["type"] != f["type"]
    ]


async def _check_references(values: dict, creating: bool, errors: list[FieldError]) -> None:
    if values["team"] is not None and not await Team.exists().where(Team.id == values["team"]):
        errors.append(FieldError("team", "Unknown record."))
    if creating and "code" in values and await TicketType.exists().where(TicketType.code == values["code"]):
        errors.append(FieldError("code", "Another ticket type already uses this code."))


def _summary(field: dict | None) -> str | None:
    """One readable line per field for the audit trail."""
    if field is None:
        return None
    flags = [
        field["type"],
        *(["required"] if field.get("required") else []),
        *(["archived"] if field.get("archived") else []),
    ]
    options = f" [{' / '.join(field['options'])}]" if field.get("options") else ""
    return f"{field['label']} ({', '.join(flags)}){options}"


def _field_changes(old: list[dict], new: list[dict]) -> dict[str, list]:
    before = {f["key"]: _summary(f) for f in old}
    after = {f["key"]: _summary(f) for f in new}
    changes = {f"fields.{k}": [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
    old_order = [f["key"] for f in ticket_fields.active_fields(old)]
    new_order = [f["key"] for f in ticket_fields.active_fields(new)]
    if old_order != new_order and set(old_order) == set(new_order):
        changes["field_order"] = [", ".join(old_order), ", ".join(new_order)]
    return changes


async def save_type(
    actor: CurrentUser,
    type_id: int | None,
    data: dict[str, str],
    rows: list[dict],
    *,
    updated_at: str = "",
    ip: str = "",
    clock: Clock = system_clock,
) -> dict:
    """Create (type_id None) or update a ticket type with its fields; audited, one transaction."""
    require_type_admin(actor)
    current = await get_type(type_id) if type_id is not None else None
    if current and updated_at and updated_at != _stamp(current["updated_at"]):
        raise Conflict("Someone else saved this ticket type after you opened it. Reload to see their changes.")
    values, errors = _clean_basics(data, creating=current is None)
    clean, field_errors = ticket_fields.validate_definition(rows)
    errors += field_errors + _type_changes(saved_keys(current), clean)
    await _check_references(values, current is None, errors)
    if errors:
        raise ValidationFailed(errors)
    definition = ticket_fields.merge_definition(current["fields"] if current else [], clean)
    now = clock.now()
    async with UnitOfWork() as uow:
        if current is None:
            type_id = await _insert(values, definition, now)
            changes = {**audit.snapshot(values, ["code", *BASIC_FIELDS]), **_field_changes([], definition)}
        else:
            await TicketType.update(
                {
                    **{getattr(TicketType, k): values[k] for k in BASIC_FIELDS},
                    TicketType.fields: definition,
                    TicketType.updated_at: now,
                }
            ).where(TicketType.id == type_id)
            changes = {**audit.diff(current, values, BASIC_FIELDS), **_field_changes(current["fields"], definition)}
        await audit.record(
            actor_id=actor.id,
            action="create" if current is None else "update",
            entity_type="ticket_type",
            entity_id=type_id,
            changes=changes,
            ip=ip,
        )
        # Every staff member files tickets of these types.
        uow.emit(
            Event(
                "ticket_type.saved",
                {"id": type_id, "code": current["code"] if current else values["code"]},
                audience=EVERYONE,
            )
        )
    return await get_type(type_id)


async def _insert(values: dict, definition: list[dict], now: datetime) -> int:
    last = await TicketType.select(TicketType.sort_order).order_by(TicketType.sort_order, ascending=False).first()
    row = TicketType(
        **values, fields=definition, sort_order=(last["sort_order"] + 1) if last else 0, created_at=now, updated_at=now
    )
    return (await TicketType.insert(row).returning(TicketType.id))[0]["id"]


def _stamp(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def stamp(type_row: dict | None) -> str:
    """The version token an edit form carries: the type's updated_at."""
    return _stamp(type_row["updated_at"]) if type_row else ""
