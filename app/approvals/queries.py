"""Reading approvals: the panel / API view of one ticket's approval, and the workbench's waiting list."""

from __future__ import annotations

from app.approvals import approvers as approver_rules
from app.approvals.services import STATUSES, instance_for
from app.core.clock import Clock, system_clock
from app.core.forms import parse_int
from app.core.permissions import CurrentUser
from app.tickets import policy
from app.tickets.services import get_ticket
from tables.accounts.tables import User
from tables.approvals.tables import ApprovalDecision, PendingApproval


def _step_state(index: int, instance: dict) -> str:
    position, status = instance["position"], instance["status"]
    if status == "approved" or index < position:
        return "done"
    if index == position:
        return {"running": "current", "rejected": "rejected", "returned": "returned"}[status]
    return "waiting"


async def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(sorted(ids)))
    return {r["id"]: r["display_name"] for r in rows}


async def approval_view(user: CurrentUser, ticket_id: int, clock: Clock = system_clock) -> dict | None:
    """Everything the panel and the API show; None when the ticket has no approval. Visibility as the ticket's."""
    ticket = await get_ticket(user, ticket_id)
    instance = await instance_for(ticket_id)
    if instance is None:
        return None
    decisions = (
        await ApprovalDecision.select(
            ApprovalDecision.id,
            ApprovalDecision.position,
            ApprovalDecision.step_name,
            ApprovalDecision.actor,
            ApprovalDecision.actor.display_name.as_alias("actor_name"),
            ApprovalDecision.decision,
            ApprovalDecision.reason,
            ApprovalDecision.created_at,
        )
        .where(ApprovalDecision.instance == instance["id"])
        .order_by(ApprovalDecision.id)
    )
    approvers = list(instance["approvers"] or [])
    named = {
        user_id
        for s in instance["steps"]
        for k, v in [approver_rules.split(s["approver"])]
        if k == "user" and (user_id := parse_int(v)) is not None
    }
    names = await _names(set(approvers) | named)
    steps = []
    for index, step in enumerate(instance["steps"]):
        kind_label, detail = approver_rules.label(step["approver"], names)
        steps.append(
            {
                "position": index,
                "name": step["name"],
                "approver": step["approver"],
                "approver_label": kind_label,
                "approver_detail": detail,
                "sla_minutes": step["sla_minutes"],
                "state": _step_state(index, instance),
            }
        )
    running = instance["status"] == "running"
    due = instance["step_due_at"] if running else None
    return {
        "ticket": ticket,
        "instance": instance,
        "status": instance["status"],
        "status_label": STATUSES[instance["status"]],
        "version": instance["version"],
        "position": instance["position"],
        "steps": steps,
        "decisions": decisions,
        "current_approvers": [{"id": u, "name": names.get(u, f"#{u}")} for u in approvers],
        "entered_at": instance["step_entered_at"],
        "due_at": due,
        "overdue": bool(due and due < clock.now()),
        "can_decide": running and (user.is_admin or user.id in approvers),
        "can_resubmit": instance["status"] == "returned"
        and (user.is_admin or policy.can_work(user, ticket) or ticket["created_by"] == user.id),
    }


def serialise(view: dict) -> dict:
    """The API's shape: a contract with outside clients (add fields, never rename)."""

    def when(value):
        return value.isoformat() if value is not None else None

    return {
        "ticket": view["ticket"]["id"],
        "status": view["status"],
        "version": view["version"],
        "position": view["position"],
        "workflow_version": view["instance"]["workflow_version"],
        "started_at": when(view["instance"]["started_at"]),
        "finished_at": when(view["instance"]["finished_at"]),
        "current_step": {
            "position": view["position"],
            "name": view["steps"][view["position"]]["name"],
            "approvers": view["current_approvers"],
            "entered_at": when(view["entered_at"]),
            "due_at": when(view["due_at"]),
            "overdue": view["overdue"],
        }
        if view["status"] == "running"
        else None,
        "steps": [{k: s[k] for k in ("position", "name", "approver", "sla_minutes", "state")} for s in view["steps"]],
        "decisions": [
            {
                "position": d["position"],
                "step": d["step_name"],
                "actor": d["actor"],
                "actor_name": d["actor_name"],
                "decision": d["decision"],
                "reason": d["reason"],
                "created_at": when(d["created_at"]),
            }
            for d in view["decisions"]
        ],
        "can_decide": view["can_decide"],
        "can_resubmit": view["can_resubmit"],
    }


# The workbench's "waiting for my approval": one COUNT and one short SELECT, whatever the numbers.


def _waiting_where(user: CurrentUser):
    return (
        (PendingApproval.user == user.id)
        & PendingApproval.ticket.deleted_at.is_null()
        & PendingApproval.ticket.merged_into.is_null()
    )


async def waiting_count(user: CurrentUser) -> int:
    return await PendingApproval.count().where(_waiting_where(user))


async def waiting_items(user: CurrentUser, limit: int, clock: Clock = system_clock) -> list[dict]:
    t, i = PendingApproval.ticket, PendingApproval.instance
    rows = await (
        PendingApproval.select(
            t.id.as_alias("id"),
            t.number.as_alias("number"),
            t.title.as_alias("title"),
            t.status.as_alias("status"),
            t.priority.as_alias("priority"),
            t.version.as_alias("version"),
            t.assignee.as_alias("assignee"),
            t.ticket_type.name.as_alias("type_name"),
            i.steps.as_alias("steps"),
            i.position.as_alias("position"),
            i.step_due_at.as_alias("step_due_at"),
            i.step_entered_at.as_alias("step_entered_at"),
        )
        .where(_waiting_where(user))
        .order_by(i.step_entered_at)
        .order_by(PendingApproval.id)
        .limit(limit)
        .output(load_json=True)
    )
    now = clock.now()
    for row in rows:
        steps = row.pop("steps") or []
        row["step_name"] = steps[row["position"]]["name"] if row["position"] < len(steps) else ""
        row["overdue"] = bool(row["step_due_at"] and row["step_due_at"] < now)
    return rows
