"""Approvals: a ticket of a type with an active workflow goes through its steps before it may finish.

`start_approval` runs inside the transaction that creates the ticket (see reactions.py); `decide`
is the one write path of people: approve, reject (with a reason), send back (with a reason) and,
after a send-back to the requester, resubmit. Every transition is one conditional UPDATE on the
instance's `version`, so of two approvers clicking at once exactly one moves the approval on.
"""

from __future__ import annotations

from datetime import datetime

from app.approvals import approvers as approver_rules
from app.calendars.hours import NeverOpenError, add_business_minutes
from app.calendars.services import hours_for_campus
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.events import Audience, Event
from app.core.i18n import N_, _current, gettext, set_locale
from app.core.permissions import CurrentUser
from app.core.prepared import Prepared
from app.notifications.services import notify
from app.settings import get_settings
from app.tickets import policy
from app.tickets.audience import of_ticket
from app.tickets.numbering import is_pending
from app.tickets.services import get_ticket
from tables.approvals.tables import ApprovalDecision, ApprovalInstance, ApprovalStep, ApprovalWorkflow, PendingApproval
from tables.tickets.tables import Ticket, TicketActivity, TicketWatcher

STATUSES: dict[str, str] = {
    "running": N_("Waiting for approval"),
    "returned": N_("Sent back to the requester"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
}
DECISIONS: dict[str, str] = {
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "send_back": N_("Send back"),
    "resubmit": N_("Resubmit"),
}
NEEDS_REASON = ("reject", "send_back")
# Public replies to the requester (通知学员), stored in the school's language.
APPROVED_REPLY = N_("Approval passed: %(steps)s approved your request. We will carry it out and keep you informed.")
REJECTED_REPLY = N_("Approval not passed at “%(step)s”. Reason: %(reason)s")
REASON_LIMIT = 2000
INSTANCE_COLUMNS = (
    ApprovalInstance.id,
    ApprovalInstance.ticket,
    ApprovalInstance.steps,
    ApprovalInstance.status,
    ApprovalInstance.position,
    ApprovalInstance.version,
    ApprovalInstance.approvers,
    ApprovalInstance.step_entered_at,
    ApprovalInstance.step_due_at,
    ApprovalInstance.started_at,
    ApprovalInstance.finished_at,
    ApprovalInstance.workflow_version,
)


def school_text(msgid: str, **params) -> str:
    """Text stored for the requester (a public reply), in the school's language, not the clicker's."""
    token = set_locale(get_settings().default_locale)
    try:
        return gettext(msgid, **params)
    finally:
        _current.reset(token)


async def step_due(campus_id: int | None, entered_at: datetime, minutes: int) -> datetime | None:
    """entered_at + `minutes` of the campus's business time (None if its calendar never opens again)."""
    try:
        return add_business_minutes(await hours_for_campus(campus_id), entered_at, minutes)
    except NeverOpenError:
        return None


async def ticket_facts(ticket_id: int) -> dict:
    row = (
        await Ticket.select(
            Ticket.id,
            Ticket.number,
            Ticket.title,
            Ticket.campus,
            Ticket.created_by,
            Ticket.assignee,
            Ticket.status,
            Ticket.requester_user,
            Ticket.version,
            Ticket.first_response_at,
            Ticket.deleted_at,
            Ticket.created_at,
            Ticket.student.class_teacher.as_alias("class_teacher"),
        )
        .where(Ticket.id == ticket_id)
        .first()
    )
    if row is None:
        raise NotFound("This ticket does not exist or you cannot see it.")
    return row


async def instance_for(ticket_id: int) -> dict | None:
    return (
        await ApprovalInstance.select(*INSTANCE_COLUMNS)
        .where(ApprovalInstance.ticket == ticket_id)
        .first()
        .output(load_json=True)
    )


async def _step_state(steps: list[dict], position: int, ticket: dict, now: datetime) -> dict:
    step = steps[position]
    people = await approver_rules.resolve(step["approver"], ticket)
    return {
        "position": position,
        "approvers": people,
        "step_entered_at": now,
        "step_due_at": await step_due(ticket["campus"], now, step["sla_minutes"]),
    }


async def _hand_over(uow: UnitOfWork, instance_id: int, ticket: dict, step: dict | None, people: list[int]) -> None:
    """Make `people` the ones the ticket waits for: workbench rows, watchers (so they may open it), a notification."""
    await _set_pending(instance_id, ticket["id"], people)
    await _involve(uow, ticket, step, people)


async def _set_pending(instance_id: int, ticket_id: int, people: list[int]) -> None:
    await PendingApproval.delete().where(PendingApproval.instance == instance_id)
    if people:
        await PendingApproval.insert(*[PendingApproval(instance=instance_id, ticket=ticket_id, user=u) for u in people])


async def _involve(uow: UnitOfWork, ticket: dict, step: dict | None, people: list[int]) -> None:
    """Watching the ticket is what lets an approver outside the service desk open it; then tell them."""
    if not people:
        return
    watching = {
        r["user"] for r in await TicketWatcher.select(TicketWatcher.user).where(TicketWatcher.ticket == ticket["id"])
    }
    new = [u for u in people if u not in watching]
    if new:
        await TicketWatcher.insert(*[TicketWatcher(ticket=ticket["id"], user=u) for u in new])

    async def tell(number: str) -> None:
        await notify(
            uow,
            people,
            kind="approval_request",
            title=f"{number} {ticket['title']}",
            body=school_text(N_("Waiting for your approval: %(step)s"), step=step["name"] if step else ""),
            link=f"/tickets/{ticket['id']}#ticket-approval",
        )

    if is_pending(ticket["number"]):  # a ticket being created is numbered last, just before its commit
        uow.before_commit(lambda: _after_numbering(ticket["id"], tell))
    else:
        await tell(ticket["number"])


async def _after_numbering(ticket_id: int, then) -> None:
    row = await Ticket.select(Ticket.number).where(Ticket.id == ticket_id).first()
    await then(row["number"])


async def _timeline(ticket_id: int, actor_id: int | None, changes: dict, reason: str, now: datetime) -> None:
    await TicketActivity.insert(
        TicketActivity(ticket=ticket_id, actor=actor_id, kind="approval", body=reason, changes=changes, created_at=now)
    )


# Asked on every ticket created, of every type: compiled once (app/core/prepared.py).
_ACTIVE_WORKFLOW = Prepared(
    lambda type_code: (
        ApprovalWorkflow.select(ApprovalWorkflow.id, ApprovalWorkflow.version)
        .where((ApprovalWorkflow.ticket_type.code == type_code) & ApprovalWorkflow.is_active.eq(True))
        .first()
    ),
    1,
)


async def start_approval(uow: UnitOfWork, ticket_id: int, type_code: str) -> int | None:
    """Start the type's active workflow at its first step (inside the creating transaction), at the
    ticket's creation time, so a ticket created with an injected clock starts its step clock there too."""
    workflow = await _ACTIVE_WORKFLOW.run(type_code)
    if workflow is None or await ApprovalInstance.exists().where(ApprovalInstance.ticket == ticket_id):
        return None
    steps = (
        await ApprovalStep.select(ApprovalStep.name, ApprovalStep.approver, ApprovalStep.sla_minutes)
        .where(ApprovalStep.workflow == workflow["id"])
        .order_by(ApprovalStep.position)
        .order_by(ApprovalStep.id)
    )
    if not steps:
        return None
    ticket = await ticket_facts(ticket_id)
    now = ticket["created_at"]
    state = await _step_state(steps, 0, ticket, now)
    rows = await ApprovalInstance.insert(
        ApprovalInstance(
            ticket=ticket_id,
            workflow=workflow["id"],
            workflow_version=workflow["version"],
            steps=steps,
            status="running",
            version=1,
            started_at=now,
            **state,
        )
    ).returning(ApprovalInstance.id)
    instance_id = rows[0]["id"]
    await _hand_over(uow, instance_id, ticket, steps[0], state["approvers"])
    await _timeline(ticket_id, None, {"event": "started", "step": steps[0]["name"]}, "", now)
    uow.emit(
        Event(
            "approval.changed",
            {"ticket": ticket_id, "status": "running", "position": 0},
            audience=Audience.user(*state["approvers"]),
        )
    )
    return instance_id


async def running_among(ticket_ids: list[int] | set[int]) -> set[int]:
    """Which of these tickets wait on a running approval: pages leave out Resolve and Close for them."""
    if not ticket_ids:
        return set()
    rows = await ApprovalInstance.select(ApprovalInstance.ticket).where(
        ApprovalInstance.ticket.is_in(list(ticket_ids)) & (ApprovalInstance.status == "running")
    )
    return {r["ticket"] for r in rows}


async def refuse_finishing_while_running(ticket_id: int) -> None:
    if await running_among([ticket_id]):
        raise ValidationFailed.one(
            "status",
            "This ticket is waiting for approval: it can be resolved or closed once the approval has finished.",
        )


async def follow_ticket_change(uow: UnitOfWork, ticket_id: int) -> None:
    """The ticket's student or campus changed: the current step's approvers are resolved again (a public
    request arrives without a student, so its class-teacher step waits on the admins until the desk fills it in).
    The step's clock keeps running; only people newly involved are notified."""
    instance = await instance_for(ticket_id)
    if instance is None or instance["status"] != "running":
        return
    ticket = await ticket_facts(ticket_id)
    step = instance["steps"][instance["position"]]
    people = await approver_rules.resolve(step["approver"], ticket)
    if sorted(people) == sorted(instance["approvers"] or []):
        return
    done = (
        await ApprovalInstance.update(
            {
                ApprovalInstance.approvers: people,
                ApprovalInstance.version: ApprovalInstance.version + 1,
            }
        )
        .where((ApprovalInstance.id == instance["id"]) & (ApprovalInstance.version == instance["version"]))
        .returning(ApprovalInstance.id)
    )
    if not done:
        raise _stale()
    await _set_pending(instance["id"], ticket_id, people)
    await _involve(uow, ticket, step, [u for u in people if u not in (instance["approvers"] or [])])
    uow.emit(
        Event(
            "approval.changed",
            {"ticket": ticket_id, "status": "running", "position": instance["position"]},
            audience=Audience.user(*(instance["approvers"] or []), *people),
        )
    )


def _stale() -> Conflict:
    return Conflict("This approval changed after you opened it (someone else decided). Reload to see where it stands.")


async def _may_decide(actor: CurrentUser, ticket: dict, instance: dict, decision: str) -> None:
    """Current approvers (and admins) decide; resubmitting is for whoever works the ticket or opened it."""
    if actor.is_admin:
        return
    if decision != "resubmit" and actor.id in (instance["approvers"] or []):
        return
    if decision == "resubmit" and (policy.can_work(actor, ticket) or ticket["created_by"] == actor.id):
        return
    if decision == "resubmit":
        raise Forbidden("Only the service desk, the assignee or the person who opened the ticket can resubmit it.")
    raise Forbidden("Only the approvers of the current step can decide it.")


def _clean(decision: str, reason: str, instance: dict) -> str:
    if decision not in DECISIONS:
        raise ValidationFailed.one("decision", "Choose approve, reject or send back.")
    reason = (reason or "").strip()
    if decision in NEEDS_REASON and not reason:
        raise ValidationFailed.one("reason", "Give a reason: the requester will see it.")
    if len(reason) > REASON_LIMIT:
        raise ValidationFailed.one("reason", "At most 2,000 characters.")
    waiting_for = "returned" if decision == "resubmit" else "running"
    if instance["status"] != waiting_for:
        raise Conflict("This approval is not waiting for that decision any more. Reload to see where it stands.")
    return reason


def _target(decision: str, position: int, total: int) -> tuple[int | None, str]:
    """(the next step's position or None, the instance's new status)."""
    if decision == "approve":
        return (position + 1, "running") if position + 1 < total else (None, "approved")
    if decision == "reject":
        return None, "rejected"
    if decision == "send_back":
        return (position - 1, "running") if position > 0 else (None, "returned")
    return 0, "running"  # resubmit


async def decide(
    actor: CurrentUser,
    ticket_id: int,
    decision: str,
    reason: str = "",
    version: int | None = None,
    clock: Clock = system_clock,
) -> dict:
    instance = await instance_for(ticket_id)
    if instance is None:
        raise NotFound("This ticket has no approval.")
    ticket = await ticket_facts(ticket_id)
    if ticket["deleted_at"] is not None:
        raise NotFound("This ticket does not exist or you cannot see it.")
    if not actor.is_admin and actor.id not in (instance["approvers"] or []):
        await get_ticket(actor, ticket_id)  # NotFound for those who may not even see the ticket
    reason = _clean(decision, reason, instance)
    await _may_decide(actor, ticket, instance, decision)
    if version is not None and version != instance["version"]:
        raise _stale()
    steps, position = instance["steps"], instance["position"]
    target, status = _target(decision, position, len(steps))
    now = clock.now()
    state = (
        await _step_state(steps, target, ticket, now) if target is not None else {"approvers": [], "step_due_at": None}
    )
    async with UnitOfWork() as uow:
        done = (
            await ApprovalInstance.update(
                {
                    ApprovalInstance.status: status,
                    ApprovalInstance.version: ApprovalInstance.version + 1,
                    ApprovalInstance.position: target if target is not None else position,
                    ApprovalInstance.approvers: state["approvers"],
                    ApprovalInstance.step_due_at: state["step_due_at"],
                    ApprovalInstance.step_entered_at: now,
                    ApprovalInstance.reminded_at: None,
                    ApprovalInstance.finished_at: now if status in ("approved", "rejected") else None,
                }
            )
            .where((ApprovalInstance.id == instance["id"]) & (ApprovalInstance.version == instance["version"]))
            .returning(ApprovalInstance.id)
        )
        if not done:
            raise _stale()
        step_name = steps[position]["name"]
        await ApprovalDecision.insert(
            ApprovalDecision(
                instance=instance["id"],
                position=position,
                step_name=step_name,
                actor=actor.id,
                decision=decision,
                reason=reason,
                created_at=now,
            )
        )
        await _hand_over(uow, instance["id"], ticket, steps[target] if target is not None else None, state["approvers"])
        await _timeline(
            ticket_id,
            actor.id,
            {
                "event": decision,
                "step": step_name,
                "next": steps[target]["name"] if target is not None else None,
                "outcome": status if target is None else None,
            },
            reason,
            now,
        )
        await _tell_the_requester(uow, actor, ticket, status, steps, step_name, reason, now)
        uow.emit(
            Event(
                "approval.changed",
                {"ticket": ticket_id, "status": status, "position": target},
                audience=Audience.user(*(instance["approvers"] or []), *state["approvers"]),
            )
        )
    return await instance_for(ticket_id)


async def _tell_the_requester(uow, actor, ticket, status, steps, step_name, reason, now) -> None:
    """通知学员: a public reply when the approval ends; the people working the ticket get a notification."""
    staff = sorted({u for u in (ticket["assignee"], ticket["created_by"], ticket["requester_user"]) if u} - {actor.id})
    title = f"{ticket['number']} {ticket['title']}"
    link = f"/tickets/{ticket['id']}#ticket-approval"
    if status == "returned":
        await notify(
            uow,
            staff,
            kind="approval_returned",
            title=title,
            link=link,
            body=school_text(N_("Sent back for changes at “%(step)s”: %(reason)s"), step=step_name, reason=reason),
        )
        return
    if status not in ("approved", "rejected"):
        return
    if status == "approved":
        body = school_text(APPROVED_REPLY, steps="、".join(s["name"] for s in steps))
    else:
        body = school_text(REJECTED_REPLY, step=step_name, reason=reason)
    rows = await TicketActivity.insert(
        TicketActivity(ticket=ticket["id"], actor=actor.id, kind="reply", body=body, is_public=True, created_at=now)
    ).returning(TicketActivity.id)
    stamps = {Ticket.updated_at: now, Ticket.version: Ticket.version + 1}
    if ticket["first_response_at"] is None:
        stamps[Ticket.first_response_at] = now
    await Ticket.update(stamps).where(Ticket.id == ticket["id"])
    await notify(uow, staff, kind=f"approval_{status}", title=title, body=body[:200], link=link)
    uow.emit(
        Event(
            "ticket.message",
            {"id": ticket["id"], "activity": rows[0]["id"], "public": True, "version": ticket["version"] + 1},
            audience=of_ticket(ticket["id"]),
        )
    )


async def remind_overdue(clock: Clock = system_clock) -> int:
    """Tell the approvers of every running step past its due time, once per step visit.

    Exactly once across workers and repeated runs: each reminder first claims its step visit with a
    conditional UPDATE (reminded_at still empty and the same version), and entering a step clears it.
    """
    now = clock.now()
    late = (
        (ApprovalInstance.status == "running")
        & ApprovalInstance.step_due_at.is_not_null()
        & (ApprovalInstance.step_due_at < now)
        & ApprovalInstance.reminded_at.is_null()
    )
    due = await ApprovalInstance.select(*INSTANCE_COLUMNS).where(late).output(load_json=True)
    sent = 0
    for row in due:
        async with UnitOfWork() as uow:
            claimed = (
                await ApprovalInstance.update({ApprovalInstance.reminded_at: now})
                .where(
                    (ApprovalInstance.id == row["id"])
                    & (ApprovalInstance.version == row["version"])
                    & ApprovalInstance.reminded_at.is_null()
                )
                .returning(ApprovalInstance.id)
            )
            if not claimed:
                continue
            ticket = await ticket_facts(row["ticket"])
            step = row["steps"][row["position"]]["name"]
            await notify(
                uow,
                row["approvers"] or [],
                kind="approval_overdue",
                title=f"{ticket['number']} {ticket['title']}",
                body=school_text(N_("Overdue: “%(step)s” is waiting for your decision."), step=step),
                link=f"/tickets/{ticket['id']}#ticket-approval",
                dedupe_prefix=f"approval-overdue:{row['id']}:{row['version']}",
            )
            sent += 1
    return sent
