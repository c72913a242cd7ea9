"""Approval workflows as an admin edits them (per ticket type), and the seeded refund workflow.

Saving replaces the ordered step list and bumps `version`; running approvals keep the snapshot they
started with, so an edit only affects tickets created afterwards.
"""

from __future__ import annotations

import re

from app.approvals import approvers as approver_rules
from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.events import ADMINS, Event
from app.core.forms import int_list, parse_int
from app.core.permissions import ROLES, CurrentUser
from tables.accounts.tables import User
from tables.approvals.tables import ApprovalStep, ApprovalWorkflow
from tables.tickets.tables import TicketType

MAX_STEPS = 10
MAX_SLA_HOURS = 720
ROW_NAME = re.compile(r"^steps\.(\d+)\.(name|kind|role|user|sla_hours)$")
BUSINESS_DAY = 480  # minutes: one 8-hour business day of the school calendar

# 退费申请: 学员提交 → 班主任初审 → 教务主管复核 → 财务执行退款 → 通知学员 (the last is the approval's end).
REFUND_STEPS = [
    ("班主任初审", "class_teacher", BUSINESS_DAY),
    ("教务主管复核", "campus_supervisor", BUSINESS_DAY),
    ("财务执行退款", "finance", 2 * BUSINESS_DAY),
]


async def ensure_refund_workflow() -> bool:
    """Seed the refund workflow once (at migrate); never touches an admin's later edits."""
    refund = await TicketType.select(TicketType.id).where(TicketType.code == "refund").first()
    if refund is None or await ApprovalWorkflow.exists().where(ApprovalWorkflow.ticket_type == refund["id"]):
        return False
    async with UnitOfWork():
        rows = await ApprovalWorkflow.insert(ApprovalWorkflow(ticket_type=refund["id"], is_active=True)).returning(
            ApprovalWorkflow.id
        )
        await ApprovalStep.insert(
            *[
                ApprovalStep(workflow=rows[0]["id"], position=i, name=name, approver=spec, sla_minutes=minutes)
                for i, (name, spec, minutes) in enumerate(REFUND_STEPS)
            ]
        )
    return True


def require_admin(actor: CurrentUser) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators can change approval workflows.")


async def list_workflows() -> list[dict]:
    """Every ticket type with its workflow (or none): one query for types, one for steps."""
    types = (
        await TicketType.select(TicketType.id, TicketType.code, TicketType.name, TicketType.is_active)
        .order_by(TicketType.sort_order)
        .order_by(TicketType.id)
    )
    flows = {r["ticket_type"]: r for r in await ApprovalWorkflow.select()}
    steps = await ApprovalStep.select(ApprovalStep.workflow, ApprovalStep.name).order_by(ApprovalStep.position)
    for row in types:
        flow = flows.get(row["id"])
        row["workflow"] = flow
        row["steps"] = [s["name"] for s in steps if flow and s["workflow"] == flow["id"]]
    return types


async def editor_state(type_id: int) -> tuple[dict, dict | None, list[dict]]:
    """(ticket type, workflow or None, its steps as editor rows)."""
    type_row = (
        await TicketType.select(TicketType.id, TicketType.code, TicketType.name).where(TicketType.id == type_id).first()
    )
    if type_row is None:
        raise NotFound("This ticket type does not exist.")
    flow = await ApprovalWorkflow.select().where(ApprovalWorkflow.ticket_type == type_id).first()
    steps = []
    if flow:
        steps = await ApprovalStep.select().where(ApprovalStep.workflow == flow["id"]).order_by(ApprovalStep.position)
    return type_row, flow, [row_from_step(s) for s in steps]


def row_from_step(step: dict) -> dict:
    kind, value = approver_rules.split(step["approver"])
    hours = step["sla_minutes"] / 60
    return {
        "name": step["name"],
        "kind": kind,
        "role": value if kind == "role" else "",
        "user": value if kind == "user" else "",
        "sla_hours": f"{hours:g}",
    }


def blank_row() -> dict:
    return {"name": "", "kind": "class_teacher", "role": "", "user": "", "sla_hours": "8"}


def parse_rows(data: dict[str, str]) -> list[dict]:
    rows: dict[int, dict] = {}
    for key, value in data.items():
        match = ROW_NAME.match(key)
        if match:
            rows.setdefault(int(match.group(1)), blank_row() | {"sla_hours": ""})[match.group(2)] = value.strip()
    return [rows[i] for i in sorted(rows)]


def apply_op(rows: list[dict], op: str) -> list[dict]:
    """add | remove:<i> | up:<i> | down:<i>; anything else leaves the rows as they are."""
    rows = list(rows)
    verb, _sep, arg = op.partition(":")
    if verb == "add" and len(rows) < MAX_STEPS:
        rows.append(blank_row())
    elif (i := parse_int(arg)) is not None and i < len(rows):
        if verb == "remove":
            rows.pop(i)
        elif verb == "up" and i > 0:
            rows[i - 1], rows[i] = rows[i], rows[i - 1]
        elif verb == "down" and i + 1 < len(rows):
            rows[i + 1], rows[i] = rows[i], rows[i + 1]
    return rows


async def _clean_rows(rows: list[dict], active: bool) -> tuple[list[dict], list[FieldError]]:
    errors: list[FieldError] = []
    if active and not rows:
        errors.append(FieldError("steps", "Add at least one step, or switch the workflow off."))
    if len(rows) > MAX_STEPS:
        errors.append(FieldError("steps", "At most 10 steps."))
    user_ids = set(int_list(r["user"] for r in rows if r["kind"] == "user"))
    active_users = (
        {r["id"] for r in await User.select(User.id).where(User.id.is_in(sorted(user_ids)) & User.is_active.eq(True))}
        if user_ids
        else set()
    )
    clean = []
    for i, row in enumerate(rows):
        prefix = f"steps.{i}."
        if not row["name"]:
            errors.append(FieldError(prefix + "name", "Name the step."))
        elif len(row["name"]) > 60:
            errors.append(FieldError(prefix + "name", "At most 60 characters."))
        kind, spec = row["kind"], row["kind"]
        if kind not in approver_rules.KINDS:
            errors.append(FieldError(prefix + "kind", "Choose who approves."))
        elif kind == "role":
            if row["role"] not in ROLES:
                errors.append(FieldError(prefix + "role", "Choose a role."))
            spec = f"role:{row['role']}"
        elif kind == "user":
            if parse_int(row["user"]) not in active_users:
                errors.append(FieldError(prefix + "user", "Choose an active staff member."))
            spec = f"user:{row['user']}"
        try:
            hours = float(row["sla_hours"])
        except ValueError:
            hours = -1
        if not 0 < hours <= MAX_SLA_HOURS:
            errors.append(FieldError(prefix + "sla_hours", "Enter business hours between 0.5 and 720."))
        clean.append({"name": row["name"], "approver": spec, "sla_minutes": max(1, round(hours * 60))})
    return clean, errors


async def save_workflow(
    actor: CurrentUser,
    type_id: int,
    *,
    active: bool,
    rows: list[dict],
    version: int | None,
    ip: str = "",
    clock: Clock = system_clock,
) -> dict:
    """Create or replace the type's workflow. `version` is what the editor loaded (None for a new one)."""
    require_admin(actor)
    _type, flow, before = await editor_state(type_id)
    clean, errors = await _clean_rows(rows, active)
    if errors:
        raise ValidationFailed(errors)
    if (flow["version"] if flow else None) != version:
        raise Conflict("Someone saved this workflow after you opened it. Reload to see their changes.")
    now = clock.now()
    async with UnitOfWork() as uow:
        if flow is None:
            inserted = await ApprovalWorkflow.insert(
                ApprovalWorkflow(
                    ticket_type=type_id,
                    is_active=active,
                    version=1,
                    updated_by=actor.id,
                    updated_at=now,
                )
            ).returning(ApprovalWorkflow.id, ApprovalWorkflow.version)
            flow_id, new_version = inserted[0]["id"], 1
        else:
            done = (
                await ApprovalWorkflow.update(
                    {
                        ApprovalWorkflow.is_active: active,
                        ApprovalWorkflow.version: ApprovalWorkflow.version + 1,
                        ApprovalWorkflow.updated_by: actor.id,
                        ApprovalWorkflow.updated_at: now,
                    }
                )
                .where((ApprovalWorkflow.id == flow["id"]) & (ApprovalWorkflow.version == flow["version"]))
                .returning(ApprovalWorkflow.id)
            )
            if not done:
                raise Conflict("Someone saved this workflow after you opened it. Reload to see their changes.")
            flow_id, new_version = flow["id"], flow["version"] + 1
            await ApprovalStep.delete().where(ApprovalStep.workflow == flow_id)
        if clean:
            await ApprovalStep.insert(*[ApprovalStep(workflow=flow_id, position=i, **s) for i, s in enumerate(clean)])
        describe = [f"{s['name']} ({s['approver']}, {s['sla_minutes']} min)" for s in clean]
        old = [f"{r['name']}" for r in before]
        await audit.record(
            actor_id=actor.id,
            action="update" if flow else "create",
            entity_type="approval_workflow",
            entity_id=flow_id,
            ip=ip,
            changes={
                **(
                    {"is_active": [flow["is_active"] if flow else None, active]}
                    if not flow or flow["is_active"] != active
                    else {}
                ),
                "steps": [old or None, describe],
            },
        )
        uow.emit(
            Event(
                "approval_workflow.saved",
                {"id": flow_id, "ticket_type": type_id, "version": new_version},
                audience=ADMINS,
            )
        )
    return {"id": flow_id, "version": new_version}
