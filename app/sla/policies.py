"""SLA policies: the admin's matrix (ticket type × priority), versions, paused statuses and the seed.

A policy is never edited in place: saving writes version n+1 and retires version n, so the rows
that tickets snapshotted at creation stay as they were.
"""

from __future__ import annotations

from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import FieldError, ValidationFailed
from app.core.events import ADMINS, Event
from app.core.forms import parse_int
from app.core.permissions import CurrentUser
from app.core.prepared import Prepared
from app.tickets import workflow
from tables.sla.tables import SlaPolicy, SlaSettings
from tables.tickets.tables import TicketType

DEFAULT_PAUSED = ["pending"]
MINUTE_FIELDS = (
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "remind_before_minutes",
    "escalate_unclaimed_minutes",
)
SNAPSHOT_KEYS = {
    "first_response_minutes": "first_response",
    "next_response_minutes": "next_response",
    "resolution_minutes": "resolution",
    "remind_before_minutes": "remind_before",
    "escalate_unclaimed_minutes": "escalate_unclaimed",
}
MAX_MINUTES = 60 * 24 * 365

# Targets of the normal priority per seeded type: (first response, next response, resolution) in
# business minutes; a "day" is a working day of 8 business hours (3 days = 1440).
SEED_NORMAL = {
    "consultation": (120, 480, 1440),
    "leave_reschedule": (60, 240, 480),
    "complaint": (120, 240, 960),
    "refund": (240, 480, 2400),
    "tech_support": (120, 480, 960),
    "repair": (240, 480, 1440),
}
SEED_FACTOR = {"urgent": 0.25, "high": 0.5, "normal": 1, "low": 2}


def seed_rows(type_ids: dict[str, int]) -> list[dict]:
    rows = []
    for code, (first, following, resolution) in SEED_NORMAL.items():
        if code not in type_ids:
            continue
        for priority, factor in SEED_FACTOR.items():
            first_response = int(first * factor)
            rows.append(
                dict(
                    ticket_type=type_ids[code],
                    priority=priority,
                    first_response_minutes=first_response,
                    next_response_minutes=int(following * factor),
                    resolution_minutes=int(resolution * factor),
                    remind_before_minutes=15 if priority in ("urgent", "high") else 30,
                    escalate_unclaimed_minutes=max(first_response // 2, 10),
                )
            )
    return rows


async def ensure_default_policies() -> int:
    """Add the seed policy of every (type, priority) that has none yet; idempotent (run at migrate)."""
    types = {r["code"]: r["id"] for r in await TicketType.select(TicketType.id, TicketType.code)}
    existing = {
        (r["ticket_type"], r["priority"]) for r in await SlaPolicy.select(SlaPolicy.ticket_type, SlaPolicy.priority)
    }
    missing = [SlaPolicy(**row) for row in seed_rows(types) if (row["ticket_type"], row["priority"]) not in existing]
    if missing:
        await SlaPolicy.insert(*missing)
    if not await SlaSettings.exists():
        await SlaSettings.insert(SlaSettings(paused_statuses=DEFAULT_PAUSED))
    return len(missing)


_PAUSED = Prepared(lambda: SlaSettings.select(SlaSettings.paused_statuses).first(), 0, json_keys=["paused_statuses"])
_ACTIVE_POLICIES = Prepared(
    lambda type_id: SlaPolicy.select().where((SlaPolicy.ticket_type == type_id) & SlaPolicy.is_active.eq(True)), 1
)


async def paused_statuses() -> list[str]:
    row = await _PAUSED.run()
    return list(row["paused_statuses"]) if row else list(DEFAULT_PAUSED)


async def snapshot(ticket_type_id: int) -> dict[str, dict]:
    """The active targets of every priority of a type, as a ticket stores them at creation."""
    rows = await _ACTIVE_POLICIES.run(ticket_type_id)
    return {
        row["priority"]: {
            **{key: row[column] for column, key in SNAPSHOT_KEYS.items()},
            "policy": row["id"],
            "version": row["version"],
        }
        for row in rows
    }


async def policy_matrix() -> list[dict]:
    """Every active ticket type with its active policy per priority (None where there is none)."""
    types = (
        await TicketType.select(TicketType.id, TicketType.code, TicketType.name)
        .where(TicketType.is_active.eq(True))
        .order_by(TicketType.sort_order)
    )
    policies = await SlaPolicy.select().where(SlaPolicy.is_active.eq(True))
    by_key = {(p["ticket_type"], p["priority"]): p for p in policies}
    return [
        {**t, "policies": {priority: by_key.get((t["id"], priority)) for priority in workflow.PRIORITIES}}
        for t in types
    ]


def clean_policy(form: dict) -> tuple[dict, list[FieldError]]:
    """Minutes are whole positive numbers; blank means "no target" except for the first response."""
    values: dict = {}
    errors: list[FieldError] = []
    for name in MINUTE_FIELDS:
        raw = form.get(name)
        raw = "" if raw is None else str(raw).strip()
        if raw == "":
            values[name] = None
            if name == "first_response_minutes":
                errors.append(FieldError(name, "Enter the first response target in minutes."))
            continue
        minutes = parse_int(raw)
        if minutes == 0 or (minutes is None and not raw.isdecimal()):
            errors.append(FieldError(name, "Enter a whole number of minutes greater than zero."))
        elif minutes is None or minutes > MAX_MINUTES:  # None here: digits past 64 bits
            errors.append(FieldError(name, "At most one year (525,600 minutes)."))
        else:
            values[name] = minutes
    first, resolution = values.get("first_response_minutes"), values.get("resolution_minutes")
    if first and resolution and resolution < first:
        errors.append(
            FieldError("resolution_minutes", "The resolution target cannot be shorter than the first response target.")
        )
    return values, errors


async def save_policy(
    actor: CurrentUser, ticket_type_id: int, priority: str, form: dict, clock: Clock = system_clock
) -> dict:
    """Write a new version of one (type, priority) policy; the old version stays for its tickets."""
    if priority not in workflow.PRIORITIES:
        raise ValidationFailed.one("priority", "Unknown priority.")
    if not await TicketType.exists().where(TicketType.id == ticket_type_id):
        raise ValidationFailed.one("ticket_type", "Unknown ticket type.")
    values, errors = clean_policy(form)
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    async with UnitOfWork() as uow:
        where = (SlaPolicy.ticket_type == ticket_type_id) & (SlaPolicy.priority == priority)
        latest = (
            await SlaPolicy.select(SlaPolicy.version).where(where).order_by(SlaPolicy.version, ascending=False).first()
        )
        version = (latest["version"] + 1) if latest else 1
        await SlaPolicy.update({SlaPolicy.is_active: False}).where(where & SlaPolicy.is_active.eq(True))
        rows = await SlaPolicy.insert(
            SlaPolicy(
                ticket_type=ticket_type_id,
                priority=priority,
                version=version,
                is_active=True,
                effective_from=now,
                created_by=actor.id,
                **values,
            )
        ).returning(SlaPolicy.id)
        uow.emit(
            Event(
                "sla.policy_saved",
                {"id": rows[0]["id"], "ticket_type": ticket_type_id, "priority": priority, "version": version},
                audience=ADMINS,
            )
        )
    return {"id": rows[0]["id"], "version": version, **values}


async def save_paused_statuses(actor: CurrentUser, statuses: list[str], clock: Clock = system_clock) -> list[str]:
    """Which statuses stop the clocks of tickets created from now on (done statuses always stop them)."""
    chosen = sorted(set(statuses))
    unknown = [s for s in chosen if s not in workflow.OPEN_STATUSES]
    if unknown:
        raise ValidationFailed.one("paused_statuses", "Choose among the open statuses.")
    async with UnitOfWork() as uow:
        if await SlaSettings.exists():
            await SlaSettings.update({SlaSettings.paused_statuses: chosen, SlaSettings.updated_at: clock.now()}).where(
                SlaSettings.id.is_not_null()
            )
        else:
            await SlaSettings.insert(SlaSettings(paused_statuses=chosen, updated_at=clock.now()))
        uow.emit(Event("sla.settings_saved", {"paused_statuses": chosen}, audience=ADMINS))
    return chosen
