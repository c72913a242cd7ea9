"""Approval rules, called directly on the services (real database, real reactions)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.approvals import approvers, queries, services
from app.approvals.workflows import REFUND_STEPS, save_workflow
from app.core.clock import FrozenClock
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.tickets import queries as ticket_queries
from app.tickets import services as tickets
from tables.approvals.tables import ApprovalDecision, ApprovalInstance, PendingApproval
from tables.notifications.tables import Notification
from tables.students.tables import Student
from tables.tickets.tables import Ticket, TicketActivity, TicketType, TicketWatcher
from tests.support import make_campus, make_user, repair
from tests.unit.approvals.school import WEDNESDAY_TEN, make_school, open_refund, refund_draft


async def pending_users(ticket_id: int) -> list[int]:
    return sorted(
        r["user"] for r in await PendingApproval.select(PendingApproval.user).where(PendingApproval.ticket == ticket_id)
    )


async def notified(user_id: int, kind: str) -> int:
    return await Notification.count().where((Notification.recipient == user_id) & (Notification.kind == kind))


async def test_a_refund_starts_at_the_class_teacher_who_is_notified_and_may_open_it():
    school = await make_school()
    ticket = await open_refund(school)

    instance = await services.instance_for(ticket["id"])
    assert instance["status"] == "running" and instance["position"] == 0
    assert [s["name"] for s in instance["steps"]] == [name for name, _spec, _min in REFUND_STEPS]
    assert instance["approvers"] == [school.class_teacher.id]
    assert await pending_users(ticket["id"]) == [school.class_teacher.id]
    assert await notified(school.class_teacher.id, "approval_request") == 1
    # A class teacher is not on the service desk: watching the ticket is what lets them open it.
    assert await TicketWatcher.exists().where(
        (TicketWatcher.ticket == ticket["id"]) & (TicketWatcher.user == school.class_teacher.id)
    )
    seen = await tickets.get_ticket(school.class_teacher, ticket["id"])
    assert seen["id"] == ticket["id"]
    kinds = [(a["kind"], a["changes"].get("event")) for a in await ticket_queries.timeline(ticket["id"])]
    assert ("approval", "started") in kinds


async def test_the_step_is_due_after_its_business_time():
    """8 business hours from Friday 16:00 on a 9–12 / 13–18 calendar: 2 h on Friday, 6 h on Monday → 16:00."""
    from app.calendars.services import invalidate_cache
    from tables.calendars.tables import BusinessCalendar

    school = await make_school()
    office = [[540, 720], [780, 1080]]
    await BusinessCalendar.insert(BusinessCalendar(name="浦东", campus=school.campus, weekly=[office] * 5 + [[], []]))
    invalidate_cache()
    friday_four = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
    ticket = await open_refund(school, FrozenClock(friday_four))

    instance = await services.instance_for(ticket["id"])
    monday_four = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert instance["step_entered_at"] == friday_four and instance["step_due_at"] == monday_four

    view = await queries.approval_view(
        school.class_teacher, ticket["id"], FrozenClock(monday_four - timedelta(minutes=1))
    )
    assert view["overdue"] is False and view["can_decide"] is True
    late = await queries.approval_view(
        school.class_teacher, ticket["id"], FrozenClock(monday_four + timedelta(minutes=1))
    )
    assert late["overdue"] is True
    waiting = await queries.waiting_items(school.class_teacher, 5, FrozenClock(monday_four + timedelta(minutes=1)))
    assert [(w["id"], w["step_name"], w["overdue"]) for w in waiting] == [(ticket["id"], "班主任初审", True)]

    # The next step's clock starts at the decision: Monday 17:00 + 8 h (its SLA) → Tuesday 17:00.
    decided = await services.decide(
        school.class_teacher, ticket["id"], "approve", clock=FrozenClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    )
    assert decided["step_due_at"] == datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


async def test_types_without_a_workflow_start_nothing():
    school = await make_school()
    ticket = await tickets.create_ticket(school.desk, repair(campus_id=school.campus))
    assert await services.instance_for(ticket["id"]) is None
    assert await ApprovalInstance.count() == 0


async def test_the_seeded_refund_flow_end_to_end_tells_the_requester():
    school = await make_school()
    clock = FrozenClock(WEDNESDAY_TEN)
    ticket = await open_refund(school, clock)

    clock.advance(hours=1)
    after_first = await services.decide(school.class_teacher, ticket["id"], "approve", clock=clock)
    assert after_first["position"] == 1 and after_first["approvers"] == [school.supervisor.id]
    assert after_first["step_entered_at"] == clock.now()
    assert await pending_users(ticket["id"]) == [school.supervisor.id]
    assert await notified(school.supervisor.id, "approval_request") == 1

    after_second = await services.decide(school.supervisor, ticket["id"], "approve", "同意", clock=clock)
    assert after_second["position"] == 2 and after_second["approvers"] == [school.finance.id]

    done = await services.decide(school.finance, ticket["id"], "approve", "已退款 1200 元", clock=clock)
    assert done["status"] == "approved" and done["finished_at"] == clock.now()
    assert await pending_users(ticket["id"]) == []
    replies = await TicketActivity.select().where(
        (TicketActivity.ticket == ticket["id"]) & (TicketActivity.kind == "reply")
    )
    assert len(replies) == 1 and replies[0]["is_public"] and replies[0]["actor"] == school.finance.id
    assert replies[0]["body"] == services.school_text(
        services.APPROVED_REPLY, steps="班主任初审、教务主管复核、财务执行退款"
    )
    decisions = await ApprovalDecision.select(ApprovalDecision.decision, ApprovalDecision.actor).order_by(
        ApprovalDecision.id
    )
    assert decisions == [
        {"decision": "approve", "actor": u.id} for u in (school.class_teacher, school.supervisor, school.finance)
    ]
    assert await notified(school.desk.id, "approval_approved") == 1  # the desk that opened it hears too
    # Now the ticket may finish.
    resolved = await tickets.update_ticket(school.desk, ticket["id"], {"status": "resolved"}, version=None)
    assert resolved["status"] == "resolved"


async def test_a_ticket_cannot_be_resolved_or_closed_while_its_approval_runs():
    school = await make_school()
    ticket = await open_refund(school)
    for target in ("resolved", "closed"):
        with pytest.raises(ValidationFailed) as refused:
            await tickets.update_ticket(school.desk, ticket["id"], {"status": target}, version=None)
        assert "status" in refused.value.by_field()
    row = await Ticket.select(Ticket.status, Ticket.version).where(Ticket.id == ticket["id"]).first()
    assert row == {"status": "new", "version": 1}  # rolled back, activity included
    assert await TicketActivity.count().where(TicketActivity.kind == "status") == 0
    moved = await tickets.update_ticket(school.desk, ticket["id"], {"status": "in_progress"}, version=None)
    assert moved["status"] == "in_progress"  # other moves are fine


async def test_reject_needs_a_reason_and_ends_the_approval_telling_the_requester():
    school = await make_school()
    ticket = await open_refund(school)
    with pytest.raises(ValidationFailed) as missing:
        await services.decide(school.class_teacher, ticket["id"], "reject", "  ")
    assert list(missing.value.by_field()) == ["reason"]

    ended = await services.decide(school.class_teacher, ticket["id"], "reject", "合同已过退费期")
    assert ended["status"] == "rejected"
    reply = await TicketActivity.select().where(TicketActivity.kind == "reply").first()
    assert reply["is_public"] and reply["body"] == services.school_text(
        services.REJECTED_REPLY, step="班主任初审", reason="合同已过退费期"
    )
    with pytest.raises(Conflict):
        await services.decide(school.class_teacher, ticket["id"], "approve")
    assert (await tickets.update_ticket(school.desk, ticket["id"], {"status": "closed"}, version=None))[
        "status"
    ] == "closed"


async def test_send_back_returns_to_the_previous_step_then_to_the_requester_who_resubmits():
    school = await make_school()
    ticket = await open_refund(school)
    await services.decide(school.class_teacher, ticket["id"], "approve")
    with pytest.raises(ValidationFailed) as missing:
        await services.decide(school.supervisor, ticket["id"], "send_back")
    assert list(missing.value.by_field()) == ["reason"]

    back = await services.decide(school.supervisor, ticket["id"], "send_back", "请班主任核实课时")
    assert back["position"] == 0 and back["status"] == "running" and back["approvers"] == [school.class_teacher.id]
    assert await notified(school.class_teacher.id, "approval_request") == 2

    returned = await services.decide(school.class_teacher, ticket["id"], "send_back", "请补充合同照片")
    assert returned["status"] == "returned" and returned["approvers"] == []
    assert await notified(school.desk.id, "approval_returned") == 1  # the ticket's creator is told
    # While it waits on the requester the desk may close an abandoned request; nobody may approve it.
    with pytest.raises(Conflict):
        await services.decide(school.class_teacher, ticket["id"], "approve")
    with pytest.raises(Forbidden):
        await services.decide(school.class_teacher, ticket["id"], "resubmit")  # sees it (watches), does not work it
    with pytest.raises(NotFound):
        await services.decide(school.finance, ticket["id"], "resubmit")  # never involved: cannot even see it

    again = await services.decide(school.desk, ticket["id"], "resubmit", "已补充")
    assert again["status"] == "running" and again["position"] == 0 and again["approvers"] == [school.class_teacher.id]


async def test_only_current_approvers_or_admins_decide():
    school = await make_school()
    ticket = await open_refund(school)
    with pytest.raises(Forbidden):
        await services.decide(school.supervisor, ticket["id"], "approve")  # a later step's approver, too early
    with pytest.raises(Forbidden):
        await services.decide(school.desk, ticket["id"], "approve")  # sees the ticket, is no approver
    stranger = await make_user("teacher")
    with pytest.raises(NotFound):
        await services.decide(stranger, ticket["id"], "approve")  # may not even see it
    with pytest.raises(ValidationFailed) as bad:
        await services.decide(school.class_teacher, ticket["id"], "maybe")
    assert list(bad.value.by_field()) == ["decision"]
    assert (await services.instance_for(ticket["id"]))["version"] == 1

    by_admin = await services.decide(school.admin, ticket["id"], "approve")
    assert by_admin["position"] == 1


async def test_a_stale_version_is_refused():
    school = await make_school()
    ticket = await open_refund(school)
    with pytest.raises(Conflict):
        await services.decide(school.class_teacher, ticket["id"], "approve", version=7)
    assert (await services.instance_for(ticket["id"]))["position"] == 0


async def test_two_approvers_at_once_never_both_advance():
    school = await make_school()
    second = await make_user("supervisor", campus=school.campus)
    ticket = await open_refund(school)
    await services.decide(school.class_teacher, ticket["id"], "approve")
    instance = await services.instance_for(ticket["id"])
    assert sorted(instance["approvers"]) == sorted([school.supervisor.id, second.id])

    results = await asyncio.gather(
        services.decide(school.supervisor, ticket["id"], "approve", version=instance["version"]),
        services.decide(second, ticket["id"], "reject", "不同意", version=instance["version"]),
        return_exceptions=True,
    )

    assert sorted(type(r).__name__ for r in results) == ["Conflict", "dict"]
    assert await ApprovalDecision.count().where(ApprovalDecision.position == 1) == 1
    final = await services.instance_for(ticket["id"])
    assert final["version"] == instance["version"] + 1


async def test_editing_a_workflow_never_changes_running_approvals():
    school = await make_school()
    running = await open_refund(school)
    refund = await TicketType.select(TicketType.id).where(TicketType.code == "refund").first()
    from app.approvals.workflows import editor_state

    _type, flow, _rows = await editor_state(refund["id"])
    await save_workflow(
        school.admin,
        refund["id"],
        active=True,
        version=flow["version"],
        rows=[{"name": "财务直批", "kind": "finance", "role": "", "user": "", "sla_hours": "4"}],
    )
    later = await open_refund(school, title="第二个退费")

    assert (await services.instance_for(running["id"]))["steps"][0]["name"] == "班主任初审"
    assert [s["name"] for s in (await services.instance_for(later["id"]))["steps"]] == ["财务直批"]
    assert (await services.instance_for(later["id"]))["workflow_version"] == flow["version"] + 1


async def test_a_step_nobody_matches_goes_to_the_administrators():
    school = await make_school()
    orphan = (await Student.insert(Student(name="无班主任", campus=school.campus)).returning(Student.id))[0]["id"]
    draft = refund_draft(school, title="没有班主任的学员")
    draft.student_id = orphan

    ticket = await tickets.create_ticket(school.desk, draft)

    assert (await services.instance_for(ticket["id"]))["approvers"] == [school.admin.id]


async def test_campus_rules_pick_the_tickets_campus_then_the_head_office():
    school = await make_school()
    elsewhere = await make_campus()
    await make_user("finance", campus=elsewhere)
    head_office = await make_user("finance")
    ticket = {"campus": school.campus, "class_teacher": None}
    assert await approvers.resolve("finance", ticket) == [school.finance.id]
    assert await approvers.resolve("role:supervisor", ticket) == [school.supervisor.id]
    assert await approvers.resolve("finance", {"campus": await make_campus(), "class_teacher": None}) == [
        head_office.id
    ]
    assert await approvers.resolve(f"user:{school.finance.id}", ticket) == [school.finance.id]
    assert await approvers.resolve("class_teacher", {**ticket, "class_teacher": school.class_teacher.id}) == [
        school.class_teacher.id
    ]


def test_the_requester_is_told_in_chinese():
    """The replies are stored in the school's language (zh_CN), from the catalogue."""
    from app.core.i18n import _catalogue

    zh = _catalogue("zh_CN")
    assert zh[services.APPROVED_REPLY].startswith("审批已通过")
    assert zh[services.REJECTED_REPLY].startswith("审批未通过")
    assert "%(steps)s" in zh[services.APPROVED_REPLY] and "%(reason)s" in zh[services.REJECTED_REPLY]


async def test_filling_in_the_student_later_moves_the_step_to_their_class_teacher():
    """A public request has no student: its first step waits on the admins until the desk fills it in."""
    school = await make_school()
    draft = refund_draft(school, title="家长在公众号提交")
    draft.student_id = None
    ticket = await tickets.create_ticket(school.desk, draft)
    assert (await services.instance_for(ticket["id"]))["approvers"] == [school.admin.id]

    await tickets.update_ticket(school.desk, ticket["id"], {"student": school.student}, version=None)

    instance = await services.instance_for(ticket["id"])
    assert instance["approvers"] == [school.class_teacher.id] and instance["position"] == 0
    assert await pending_users(ticket["id"]) == [school.class_teacher.id]
    assert await notified(school.class_teacher.id, "approval_request") == 1
    assert await notified(school.admin.id, "approval_request") == 1  # told once, at the start
    with pytest.raises(Forbidden):
        await services.decide(school.supervisor, ticket["id"], "approve")  # sees the campus's tickets, not their step
    assert (await services.decide(school.class_teacher, ticket["id"], "approve"))["position"] == 1
