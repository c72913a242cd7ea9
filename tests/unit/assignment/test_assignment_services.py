"""assign_ticket and friends against the real database and Redis, time frozen on a Wednesday morning."""

from __future__ import annotations

from collections import Counter

from app.assignment import rules, services
from app.tickets import queries
from app.tickets import services as tickets
from app.tickets.services import Draft
from tables.assignment.tables import AssignmentCursor, AssignmentDecision
from tables.notifications.tables import Notification
from tables.students.tables import Student
from tables.tickets.tables import Ticket, TicketActivity
from tests.support import repair
from tests.unit.assignment.staffing import agent, frozen, set_mode


async def _open(creator, n: int = 1, **kwargs) -> list[int]:
    return [(await tickets.create_ticket(creator, repair(title=f"报修 {i}", **kwargs)))["id"] for i in range(n)]


async def _owners() -> Counter:
    rows = await Ticket.select(Ticket.assignee).where(Ticket.assignee.is_not_null())
    return Counter(r["assignee"] for r in rows)


async def test_equal_skills_share_the_work_within_one_ticket(make_user):
    clock = frozen()
    desk = await make_user("admin")
    staff = [await agent(clock) for _ in range(4)]
    for ticket_id in await _open(desk, 22):
        decision = await services.assign_ticket(ticket_id, clock)
        assert decision["outcome"] == "assigned"
    counts = await _owners()
    assert set(counts) == {s.id for s in staff}
    assert max(counts.values()) - min(counts.values()) <= 1 and sum(counts.values()) == 22


async def test_a_ticket_is_assigned_once_with_the_timeline_event_and_a_notification(make_user):
    clock = frozen()
    desk = await make_user("admin")
    person = await agent(clock)
    [ticket_id] = await _open(desk)

    first = await services.assign_ticket(ticket_id, clock)
    again = await services.assign_ticket(ticket_id, clock)

    assert first == {"outcome": "assigned", "assignee": person.id, "reason": rules.LEAST_LOADED}
    assert again is None
    row = await Ticket.select(Ticket.assignee, Ticket.status, Ticket.version).where(Ticket.id == ticket_id).first()
    assert row == {"assignee": person.id, "status": "assigned", "version": 2}
    [activity] = [a for a in await queries.timeline(ticket_id) if a["kind"] == "assign"]
    assert activity["actor"] is None
    assert activity["changes"] == {
        "assignee": [None, person.id],
        "status": ["new", "assigned"],
        "by": "auto",
        "reason": rules.LEAST_LOADED,
    }
    assert (
        await Notification.count().where(
            (Notification.recipient == person.id) & (Notification.kind == "ticket_assigned")
        )
        == 1
    )
    assert await AssignmentDecision.count() == 1


async def test_open_tickets_weigh_by_priority(make_user):
    clock = frozen()
    desk = await make_user("admin")
    busy, steady = await agent(clock), await agent(clock)
    # busy holds one urgent ticket (weight 4); steady three normal ones (3).
    await _open(desk, 1, priority="urgent", assignee_id=busy.id)
    await _open(desk, 3, assignee_id=steady.id)
    [ticket_id] = await _open(desk)
    assert (await services.assign_ticket(ticket_id, clock))["assignee"] == steady.id
    # Now 4 against 4: a tie. A closed ticket does not count.
    closed = (await _open(desk, 1, priority="urgent", assignee_id=steady.id))[0]
    await tickets.update_ticket(desk, closed, {"status": "closed"}, version=None)
    [next_id] = await _open(desk)
    assert (await services.assign_ticket(next_id, clock))["reason"] == rules.ROUND_ROBIN


async def test_round_robin_among_ties_keeps_a_cursor_per_team(make_user):
    clock = frozen()
    desk = await make_user("admin")
    staff = sorted([await agent(clock) for _ in range(3)], key=lambda u: u.id)
    winners = []
    for ticket_id in await _open(desk, 4):
        decision = await services.assign_ticket(ticket_id, clock)
        winners.append(decision["assignee"])
        # Resolve it at once, so everybody is tied again at the next ticket.
        await tickets.update_ticket(desk, ticket_id, {"status": "resolved"}, version=None)
    assert winners == [staff[0].id, staff[1].id, staff[2].id, staff[0].id]
    assert (await AssignmentCursor.select(AssignmentCursor.scope, AssignmentCursor.last_user).first()) == {
        "scope": "all",
        "last_user": staff[0].id,
    }


async def test_the_students_class_teacher_gets_the_ticket_when_eligible(make_user):
    clock = frozen()
    desk = await make_user("admin")
    idle = await agent(clock)
    teacher = await agent(clock, role="class_teacher")
    await _open(desk, 3, assignee_id=teacher.id)  # busier than `idle`, preferred all the same
    student = (await Student.insert(Student(name="小明", class_teacher=teacher.id)).returning(Student.id))[0]["id"]
    [ticket_id] = await _open(desk, student_id=student)

    decision = await services.assign_ticket(ticket_id, clock)

    assert decision == {"outcome": "assigned", "assignee": teacher.id, "reason": rules.PREFERRED_CLASS_TEACHER}
    assert idle.id not in await _owners()


async def test_offline_and_off_shift_people_are_skipped(make_user):
    clock = frozen()
    desk = await make_user("admin")
    await agent(clock, online=False)
    await agent(clock, shifts=[(0, 540, 1080), (2, 0, 540), (2, 660, 1080)])  # Wednesday 10:00 falls in the gap
    present = await agent(clock)
    for ticket_id in await _open(desk, 3):
        assert (await services.assign_ticket(ticket_id, clock))["assignee"] == present.id


async def test_a_morning_shift_in_the_campus_time_zone_counts(make_user):
    clock = frozen()  # 02:00 UTC = 10:00 in Shanghai
    desk = await make_user("admin")
    morning = await agent(clock, shifts=[(2, 540, 720)])
    [ticket_id] = await _open(desk)
    assert (await services.assign_ticket(ticket_id, clock))["assignee"] == morning.id


async def test_nobody_fits_leaves_it_in_the_team_queue_and_says_why_once(make_user):
    clock = frozen()
    desk = await make_user("admin")
    await set_mode("consultation", kinds=["subject"])
    await agent(clock, ("subject", "英语"))  # wrong subject
    await agent(clock, ("subject", "数学"), online=False)  # right subject, not online
    ticket = await tickets.create_ticket(
        desk, Draft(type="consultation", title="想了解数学课", fields={"course_interest": ["数学"]})
    )

    decision = await services.assign_ticket(ticket["id"], clock)
    await services.assign_ticket(ticket["id"], clock)

    assert decision["outcome"] == "queued" and decision["assignee"] is None
    notes = [a for a in await queries.timeline(ticket["id"]) if a["kind"] == "note"]
    assert len(notes) == 1 and "“数学”" in notes[0]["body"] and notes[0]["actor"] is None
    assert notes[0]["body"] == decision["reason"]
    row = await Ticket.select(Ticket.assignee, Ticket.status).where(Ticket.id == ticket["id"]).first()
    assert row == {"assignee": None, "status": "new"}


async def test_the_fallback_reason_tells_missing_skills_from_absent_people(make_user):
    clock = frozen()
    desk = await make_user("admin")
    await set_mode("consultation", kinds=["subject"])
    first = await tickets.create_ticket(
        desk, Draft(type="consultation", title="数学", fields={"course_interest": ["数学"]})
    )
    nobody = await services.assign_ticket(first["id"], clock)
    await agent(clock, ("subject", "数学"), online=False)
    second = await tickets.create_ticket(
        desk, Draft(type="consultation", title="数学", fields={"course_interest": ["数学"]})
    )
    absent = await services.assign_ticket(second["id"], clock)
    assert nobody["reason"] != absent["reason"]
    assert "“数学”" in nobody["reason"] and "“数学”" in absent["reason"]


async def test_manual_types_are_left_alone(make_user):
    clock = frozen()
    desk = await make_user("admin")
    await agent(clock)
    await set_mode("repair", mode="manual")
    [ticket_id] = await _open(desk)

    assert await services.assign_ticket(ticket_id, clock) is None
    assert await services.sweep_unassigned(frozen_later(clock)) == 0
    assert (await Ticket.select(Ticket.assignee).where(Ticket.id == ticket_id).first())["assignee"] is None
    assert await TicketActivity.count().where(TicketActivity.ticket == ticket_id) == 1  # "created" only
    assert await AssignmentDecision.count() == 0


def frozen_later(clock, seconds: float = 60):
    later = frozen()
    later.at = clock.at
    later.advance(seconds=seconds)
    return later


async def test_a_ticket_someone_claimed_first_is_not_taken_away(make_user):
    clock = frozen()
    desk = await make_user("admin")
    await agent(clock)
    claimer = await make_user("customer_service")
    [ticket_id] = await _open(desk)
    await tickets.claim_ticket(claimer, ticket_id)
    assert await services.assign_ticket(ticket_id, clock) is None
    assert (await Ticket.select(Ticket.assignee).where(Ticket.id == ticket_id).first())["assignee"] == claimer.id


async def test_the_sweeper_catches_tickets_whose_job_was_lost(make_user):
    clock = frozen()
    desk = await make_user("admin")
    person = await agent(clock)
    ids = [(await tickets.create_ticket(desk, repair(), clock=clock))["id"] for _ in range(2)]
    assert await services.sweep_unassigned(clock) == 0  # too young: their own jobs may be on the way
    later = frozen_later(clock, seconds=10)
    assert await services.sweep_unassigned(later) == 2
    assert await services.sweep_unassigned(later) == 0  # twice: nothing more
    assert (await _owners()) == Counter({person.id: 2})
    assert await AssignmentDecision.count() == len(ids)


async def test_escalation_hands_the_ticket_to_someone_else(make_user):
    clock = frozen()
    desk = await make_user("admin")
    first, second = await agent(clock), await agent(clock)
    [ticket_id] = await _open(desk, assignee_id=first.id)

    moved = await services.reassign_on_escalation(ticket_id, "首次响应超时", clock)

    assert moved["assignee"] == second.id
    row = await Ticket.select(Ticket.assignee, Ticket.status).where(Ticket.id == ticket_id).first()
    assert row == {"assignee": second.id, "status": "assigned"}
    activity = (
        await TicketActivity.select(TicketActivity.changes)
        .where(TicketActivity.kind == "assign")
        .output(load_json=True)
    )[-1]
    assert activity["changes"]["assignee"] == [first.id, second.id]
    assert activity["changes"]["escalation"] == "首次响应超时"


async def test_escalation_leaves_a_ticket_reassigned_since_to_whoever_took_it(make_user):
    clock = frozen()
    desk = await make_user("admin")
    first, second, third = await agent(clock), await agent(clock), await agent(clock)
    [ticket_id] = await _open(desk, assignee_id=first.id)
    # Between the breach and the job, a rule on "breached" (or a supervisor) gave it to `third`.
    await tickets.update_ticket(desk, ticket_id, {"assignee": third.id}, version=None, clock=clock)

    late = await services.reassign_on_escalation(ticket_id, "首次响应超时", clock, escalated_from=first.id)

    assert late["outcome"] == "skipped" and late["assignee"] == third.id
    assert (await Ticket.select(Ticket.assignee).where(Ticket.id == ticket_id).first())["assignee"] == third.id
    moved = await services.reassign_on_escalation(ticket_id, "首次响应超时", clock, escalated_from=third.id)
    assert moved["assignee"] in (first.id, second.id)  # still with the one escalated from: handed on


async def test_escalation_with_nobody_else_keeps_the_assignee_and_says_so(make_user):
    clock = frozen()
    desk = await make_user("admin")
    only = await agent(clock)
    [ticket_id] = await _open(desk, assignee_id=only.id)
    kept = await services.reassign_on_escalation(ticket_id, "解决超时", clock)
    assert kept["outcome"] == "kept" and kept["assignee"] == only.id
    assert (await Ticket.select(Ticket.assignee).where(Ticket.id == ticket_id).first())["assignee"] == only.id
    notes = [a for a in await queries.timeline(ticket_id) if a["kind"] == "note"]
    assert len(notes) == 1 and "解决超时" in notes[0]["body"]


async def test_ticket_needs_come_from_the_class_course_type_campus_and_fields():
    ticket = {
        "type_code": "consultation",
        "campus": 3,
        "subject": "物理",
        "class_teacher": 8,
        "advisor": None,
        "fields": {"course_interest": ["数学", "编程"], "language": "en"},
    }
    needs = services.needs_of(ticket, ("subject", "type", "language", "campus"))
    assert needs.required == {
        "subject": {"物理", "数学", "编程"},
        "type": {"consultation"},
        "language": {"en"},
        "campus": {"3"},
    }
    assert needs.class_teacher == 8
    # A kind the ticket says nothing about does not narrow the choice.
    assert (
        services.needs_of({**ticket, "campus": None, "subject": None, "fields": {}}, ("subject", "campus")).required
        == {}
    )


async def test_creating_a_ticket_enqueues_its_assignment_job(make_user):
    from arq.constants import default_queue_name
    from arq.jobs import Job, JobStatus

    from app.assignment.reactions import COALESCE_MS
    from app.core.jobs import close_pool, get_pool

    await close_pool()
    desk = await make_user("admin")
    pool = await get_pool()
    before = await pool.zrange(default_queue_name, 0, -1)
    [ticket_id] = await _open(desk)
    [assigned] = await _open(desk, assignee_id=desk.id)
    jobs = [j.decode() for j in await pool.zrange(default_queue_name, 0, -1, withscores=False) if j not in before]
    assert len(jobs) == 1 and jobs[0].startswith("assign:")  # none for the ticket created with an assignee
    window = int(jobs[0].rsplit(":", 1)[1])
    info = await Job(jobs[0], pool).info()
    assert (info.function, info.args) == ("assign_ticket", (ticket_id,))
    # It runs when its quarter second ends, and takes every ticket created in that window along.
    assert await pool.zscore(default_queue_name, jobs[0]) == (window + 1) * COALESCE_MS
    assert await Job(jobs[0], pool).status() in (JobStatus.deferred, JobStatus.queued)
    assert assigned != ticket_id


async def test_without_own_shifts_the_campus_business_hours_decide(make_user):
    from tables.calendars.tables import BusinessCalendar
    from tests.support import make_campus

    clock = frozen()  # Wednesday 10:00 in Shanghai
    desk = await make_user("admin")
    campus = await make_campus()
    office = [[[540, 1080]]] * 5 + [[], []]  # Monday to Friday, 09:00-18:00
    await BusinessCalendar.insert(
        BusinessCalendar(name="校区作息", timezone="Asia/Shanghai", weekly=office, campus=campus)
    )
    person = await agent(clock, campus=campus, shifts=[])
    [weekday_ticket] = await _open(desk)
    assert (await services.assign_ticket(weekday_ticket, clock))["assignee"] == person.id

    saturday = frozen_later(clock, seconds=3 * 86400)
    from app.assignment import presence

    await presence.mark_online(person.id, "tab", saturday)
    [weekend_ticket] = await _open(desk)
    assert (await services.assign_ticket(weekend_ticket, saturday))["outcome"] == "queued"


async def test_a_batch_shares_out_a_burst_evenly_and_carries_the_cursor(make_user):
    clock = frozen()
    desk = await make_user("admin")
    staff = [await agent(clock) for _ in range(4)]
    ids = await _open(desk, 30)
    decisions = await services.assign_tickets(ids, clock)
    assert len(decisions) == 30 and {d["outcome"] for d in decisions.values()} == {"assigned"}
    counts = await _owners()
    assert set(counts) == {s.id for s in staff} and max(counts.values()) - min(counts.values()) <= 1
    # In id order the ties go round: 1, 2, 3, 4, 1, 2, ...
    order = [decisions[i]["assignee"] for i in sorted(ids)]
    assert order[:8] == sorted(s.id for s in staff) * 2
    assert await services.assign_tickets(ids, clock) == {}  # twice: nothing more


async def test_the_jobs_batch_takes_the_other_waiting_tickets_but_not_manual_ones(make_user):
    clock = frozen()
    desk = await make_user("admin")
    await agent(clock)
    await set_mode("complaint", mode="manual")
    ids = await _open(desk, 4)
    manual = (await tickets.create_ticket(desk, Draft(type="complaint", title="投诉", fields={"category": "其他"})))[
        "id"
    ]

    decision = await services.assign_ticket(ids[1], clock, batch=50)

    assert decision["outcome"] == "assigned"
    assert {r["ticket"] for r in await AssignmentDecision.select(AssignmentDecision.ticket)} == set(ids)
    assert (await Ticket.select(Ticket.assignee).where(Ticket.id == manual).first())["assignee"] is None


async def test_with_nobody_set_up_the_decision_is_silent(make_user):
    clock = frozen()
    desk = await make_user("admin")
    [ticket_id] = await _open(desk)
    decision = await services.assign_ticket(ticket_id, clock)
    assert decision["outcome"] == "queued"
    assert [a["kind"] for a in await queries.timeline(ticket_id)] == ["created"]  # no note: the feature is not in use
    assert await services.sweep_unassigned(frozen_later(clock)) == 0  # decided once, not swept again


async def test_the_number_of_queries_does_not_grow_with_the_staff(make_user, count_queries):
    clock = frozen()
    desk = await make_user("admin")
    per_decision = []
    for added in (2, 0, 10):  # the first decision also creates the round-robin cursor row
        for _ in range(added):
            await agent(clock)
        [ticket_id] = await _open(desk)
        with count_queries() as statements:
            assert (await services.assign_ticket(ticket_id, clock))["outcome"] == "assigned"
        per_decision.append(len(statements))
    assert per_decision[1] == per_decision[2] <= 25  # 2 people or 12: the same queries


async def test_two_workers_deciding_the_same_burst_at_once_decide_each_ticket_once(make_user):
    import asyncio

    clock = frozen()
    desk = await make_user("admin")
    staff = [await agent(clock) for _ in range(3)]
    ids = await _open(desk, 12)

    first, second = await asyncio.gather(services.assign_tickets(ids, clock), services.assign_tickets(ids, clock))

    assert sorted([*first, *second]) == sorted(ids)  # each ticket in exactly one of the two batches
    assert await AssignmentDecision.count() == 12
    assert await TicketActivity.count().where(TicketActivity.kind == "assign") == 12
    counts = await _owners()
    assert set(counts) == {s.id for s in staff} and max(counts.values()) - min(counts.values()) <= 1
