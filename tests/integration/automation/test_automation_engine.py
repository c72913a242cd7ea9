"""The engine against the real database: order, conditions, switching off, loop protection, exactly once,
failures, and the timeline entry. Triggers are recorded by real ticket writes and processed as the
worker does (engine.process)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.automation import engine, services
from app.automation.rules import MAX_DEPTH
from app.core.clock import FrozenClock, system_clock
from app.tickets import services as tickets
from tables.accounts.tables import User
from tables.automation.tables import AutomationRun, AutomationTrigger, ReplyTemplate
from tables.notifications.tables import Notification
from tables.students.tables import Student, StudentTag
from tables.tickets.tables import Ticket, TicketActivity
from tests.support import repair


async def _template(body: str, name: str = "模板") -> int:
    return (await ReplyTemplate.insert(ReplyTemplate(name=name, body=body)).returning(ReplyTemplate.id))[0]["id"]


async def _priority(ticket_id: int) -> str:
    return (await Ticket.select(Ticket.priority).where(Ticket.id == ticket_id).first())["priority"]


async def test_rules_run_in_position_order_and_a_later_rule_sees_the_earlier_change(
    admin, make_rule, drain, automation
):
    # Saved first (lower id), but moved below: id order would run it before the priority is urgent.
    tag_urgent = await make_rule(
        "created",
        [{"kind": "add_tag", "value": "加急"}],
        name="tag urgent",
        conditions=[{"subject": "priority", "op": "is", "value": "urgent"}],
    )
    make_urgent = await make_rule("created", [{"kind": "set_priority", "value": "urgent"}], name="make urgent")
    await services.move_rule(admin, make_urgent["id"], "up")

    first = await tickets.create_ticket(admin, repair(priority="normal"))
    await drain()
    assert await _priority(first["id"]) == "urgent"
    assert await automation.tags(first["id"]) == {"加急"}
    assert [(r["rule"], r["outcome"]) for r in await automation.runs(first["id"])] == [
        (make_urgent["id"], "done"),
        (tag_urgent["id"], "done"),
    ]

    await services.move_rule(admin, make_urgent["id"], "down")  # now the tag rule looks first, at "normal"
    second = await tickets.create_ticket(admin, repair(priority="normal"))
    await drain()
    assert await _priority(second["id"]) == "urgent"
    assert await automation.tags(second["id"]) == set()


async def _student(*tags: str) -> int:
    student = (await Student.insert(Student(name="张小明")).returning(Student.id))[0]["id"]
    if tags:
        await StudentTag.insert(*[StudentTag(student=student, tag=t) for t in tags])
    return student


def _is(subject: str, value: str, op: str = "is") -> dict:
    return {"subject": subject, "op": op, "value": value}


# Each rule tags the ticket with its own name when its conditions hold.
CONDITION_RULES = {
    "type": ([_is("type", "complaint")], "all"),
    "priority": ([_is("priority", "high")], "all"),
    "channel": ([_is("channel", "wechat")], "all"),
    "text": ([_is("text", "迟到", "contains")], "all"),
    "field": ([{"subject": "field", "key": "category", "op": "equals", "value": "教学质量"}], "all"),
    "field-empty": ([{"subject": "field", "key": "expectation", "op": "is_empty"}], "all"),
    "student-tag": ([_is("student_tag", "vip", "has")], "all"),
    "any-of": ([_is("type", "repair"), _is("channel", "wechat")], "any"),
    "all-of": ([_is("type", "complaint"), _is("priority", "high"), _is("text", "老师", "contains")], "all"),
    # These must not tag:
    "no-type": ([_is("type", "repair")], "all"),
    "no-channel": ([_is("channel", "wechat", "is_not")], "all"),
    "no-text": ([_is("text", "迟到", "not_contains")], "all"),
    "no-field": ([{"subject": "field", "key": "category", "op": "equals", "value": "收费"}], "all"),
    "no-student-tag": ([_is("student_tag", "VIP", "has_not")], "all"),
    "no-all-of": ([_is("type", "complaint"), _is("channel", "phone")], "all"),
    "no-any-of": ([_is("type", "repair"), _is("priority", "low")], "any"),
}


async def test_conditions_match_the_real_ticket_and_student(admin, make_rule, drain, automation):
    for name, (conditions, match) in CONDITION_RULES.items():
        await make_rule("created", [{"kind": "add_tag", "value": name}], conditions=conditions, match=match, name=name)
    student = await _student("VIP", "重点关注")
    draft = tickets.Draft(
        type="complaint",
        title="数学课老师迟到",
        description="孩子说老师迟到了 20 分钟",
        priority="high",
        channel="wechat",
        student_id=student,
        fields={"category": "教学质量"},
    )
    ticket = await tickets.create_ticket(admin, draft)
    await drain()
    assert await automation.tags(ticket["id"]) == {n for n in CONDITION_RULES if not n.startswith("no-")}
    # A rule whose conditions fail leaves no run at all; one that matched left exactly one.
    assert len(await automation.runs(ticket["id"])) == len([n for n in CONDITION_RULES if not n.startswith("no-")])


async def test_inactive_and_deleted_rules_do_not_run(admin, make_rule, drain, automation):
    await make_rule("created", [{"kind": "add_tag", "value": "on"}])
    await make_rule("created", [{"kind": "add_tag", "value": "off"}], active=False)
    switched_off = await make_rule("created", [{"kind": "add_tag", "value": "switched-off"}])
    await services.set_active(admin, switched_off["id"], False)
    deleted = await make_rule("created", [{"kind": "add_tag", "value": "deleted"}])
    await services.delete_rule(admin, deleted["id"])

    ticket = await tickets.create_ticket(admin, repair())
    await drain()
    assert await automation.tags(ticket["id"]) == {"on"}

    await services.restore_rule(admin, deleted["id"])
    again = await tickets.create_ticket(admin, repair())
    await drain()
    assert await automation.tags(again["id"]) == {"on", "deleted"}


async def test_no_trigger_is_recorded_when_no_rule_listens(admin, make_rule, drain, make_user):
    agent = await make_user("customer_service")
    ticket = await tickets.create_ticket(admin, repair())  # no rules at all
    await make_rule("csat_received", [{"kind": "add_tag", "value": "rated"}])  # listens to ratings only
    await make_rule("updated", [{"kind": "add_tag", "value": "off"}], active=False)
    deleted = await make_rule("created", [{"kind": "add_tag", "value": "deleted"}])
    await services.delete_rule(admin, deleted["id"])
    await tickets.create_ticket(admin, repair())
    await tickets.update_ticket(admin, ticket["id"], {"title": "改了标题", "assignee": agent.id}, version=None)
    await tickets.add_message(admin, ticket["id"], "已安排师傅", public=True)
    assert await AutomationTrigger.count() == 0

    # The same writes are recorded as soon as a rule listens (so the zero above is not an accident).
    await make_rule("updated", [{"kind": "add_tag", "value": "seen"}])
    await tickets.add_message(admin, ticket["id"], "师傅下午到", public=True)
    assert [r["trigger"] for r in await AutomationTrigger.select(AutomationTrigger.trigger)] == ["updated"]


async def test_a_rule_does_not_rerun_on_the_update_its_own_actions_caused(admin, make_rule, drain, automation):
    template = await _template("已提高优先级")
    rule = await make_rule(
        "updated", [{"kind": "set_priority", "value": "urgent"}, {"kind": "reply_template", "value": template}]
    )
    ticket = await tickets.create_ticket(admin, repair(priority="low"))
    await tickets.update_ticket(admin, ticket["id"], {"title": "投影仪冒烟"}, version=None)
    await drain()

    assert await _priority(ticket["id"]) == "urgent"
    assert len(await automation.activities(ticket["id"], "reply")) == 1
    # The human update ran the rule; the updates its two actions caused were seen and skipped.
    outcomes = [(r["rule"], r["outcome"]) for r in await automation.runs(ticket["id"])]
    assert outcomes[0] == (rule["id"], "done")
    assert outcomes[1:] and all(o == (rule["id"], "skipped_loop") for o in outcomes[1:])


async def test_two_rules_that_trigger_each_other_stop(admin, make_rule, drain, automation):
    ping, pong = await _template("ping!", "ping"), await _template("pong!", "pong")
    answer_ping = await make_rule(
        "updated",
        [{"kind": "reply_template", "value": pong}],
        name="answer ping",
        conditions=[_is("text", "ping", "contains")],
    )
    answer_pong = await make_rule(
        "updated",
        [{"kind": "reply_template", "value": ping}],
        name="answer pong",
        conditions=[_is("text", "pong", "contains")],
    )
    ticket = await tickets.create_ticket(admin, repair(title="乒乓"))
    await tickets.add_message(admin, ticket["id"], "ping", public=True)
    await drain()

    replies = [a["body"] for a in await automation.activities(ticket["id"], "reply")]
    assert replies == ["ping", "pong!", "ping!"]
    assert [(r["rule"], r["outcome"]) for r in await automation.runs(ticket["id"])] == [
        (answer_ping["id"], "done"),  # on the person's "ping"
        (answer_pong["id"], "done"),  # on answer_ping's "pong!"
        (answer_ping["id"], "skipped_loop"),  # on answer_pong's "ping!": answer_ping is behind it
    ]


async def test_a_chain_of_distinct_rules_stops_at_the_depth_limit(admin, make_rule, drain, automation):
    """Step i answers "[step i]" with "[step i+1]": no rule repeats, so only the depth limit stops it."""
    steps = MAX_DEPTH + 3
    for i in range(steps):
        template = await _template(f"[step {i + 1}]", f"step {i + 1}")
        await make_rule(
            "updated",
            [{"kind": "reply_template", "value": template}],
            name=f"step {i}",
            conditions=[_is("text", f"[step {i}]", "contains")],
        )
    ticket = await tickets.create_ticket(admin, repair(title="连锁"))
    await tickets.add_message(admin, ticket["id"], "[step 0]", public=True)
    await drain()

    replies = [a["body"] for a in await automation.activities(ticket["id"], "reply")]
    # The person's message is depth 0; rules answer at depths 0..MAX_DEPTH, the last answer records nothing.
    assert replies == ["[step 0]", *[f"[step {i}]" for i in range(1, MAX_DEPTH + 2)]]
    depths = [
        r["depth"] for r in await AutomationTrigger.select(AutomationTrigger.depth).order_by(AutomationTrigger.id)
    ]
    assert depths == list(range(MAX_DEPTH + 1))


async def test_processing_twice_runs_each_rule_once(admin, make_rule, make_user, automation):
    supervisor = await make_user("supervisor")
    template = await _template("您好，{number} 已收到")
    rules = [
        await make_rule("created", [{"kind": "reply_template", "value": template}]),
        await make_rule("created", [{"kind": "notify_role", "value": "supervisor"}, {"kind": "add_tag", "value": "x"}]),
    ]
    ticket = await tickets.create_ticket(admin, repair())
    [trigger_id] = await automation.pending()

    first = await engine.process(trigger_id)
    assert [r["rule"] for r in first] == [r["id"] for r in rules]
    assert await engine.process(trigger_id) == []
    # A retried job after the lease ran out (the trigger back to "pending"): the run rows stop it.
    await AutomationTrigger.update({AutomationTrigger.status: "pending"}).where(AutomationTrigger.id == trigger_id)
    assert await engine.process(trigger_id) == []

    await _assert_effects_once(ticket["id"], supervisor.id, automation)


async def test_two_concurrent_processes_run_each_rule_once(admin, make_rule, make_user, automation):
    supervisor = await make_user("supervisor")
    template = await _template("您好，{number} 已收到")
    await make_rule("created", [{"kind": "reply_template", "value": template}])
    await make_rule("created", [{"kind": "notify_role", "value": "supervisor"}, {"kind": "add_tag", "value": "x"}])
    ticket = await tickets.create_ticket(admin, repair())
    [trigger_id] = await automation.pending()

    results = await asyncio.gather(engine.process(trigger_id), engine.process(trigger_id))
    assert sorted(len(r) for r in results) == [0, 2]
    await _assert_effects_once(ticket["id"], supervisor.id, automation)


async def _assert_effects_once(ticket_id: int, supervisor: int, automation) -> None:
    assert len(await automation.runs(ticket_id)) == 2
    assert [a["body"] for a in await automation.activities(ticket_id, "reply")] == [
        f"您好，{(await Ticket.select(Ticket.number).where(Ticket.id == ticket_id).first())['number']} 已收到"
    ]
    assert (
        await Notification.count().where((Notification.kind == "automation") & (Notification.recipient == supervisor))
        == 1
    )
    assert await automation.tags(ticket_id) == {"x"}
    assert len(await automation.activities(ticket_id, "automation")) == 2
    assert (await AutomationTrigger.select(AutomationTrigger.status).first())["status"] == "done"


async def test_a_failing_action_is_logged_and_the_rest_still_runs(admin, make_rule, make_user, drain, automation):
    leaver = await make_user("customer_service", display_name="已离职")
    broken = await make_rule(
        "created",
        [{"kind": "assign_person", "value": leaver.id}, {"kind": "add_tag", "value": "after"}],
        name="assign to leaver",
    )
    later = await make_rule("created", [{"kind": "add_tag", "value": "later-rule"}], name="later")
    await User.update({User.is_active: False}).where(User.id == leaver.id)  # left after the rule was written

    ticket = await tickets.create_ticket(admin, repair())
    await drain()
    assert await automation.tags(ticket["id"]) == {"after", "later-rule"}
    row = await Ticket.select(Ticket.assignee).where(Ticket.id == ticket["id"]).first()
    assert row["assignee"] is None
    first, second = await automation.runs(ticket["id"])
    assert (first["rule"], first["outcome"], second["rule"], second["outcome"]) == (
        broken["id"],
        "failed",
        later["id"],
        "done",
    )
    assert [(e["kind"], e["ok"]) for e in first["log"]] == [("assign_person", False), ("add_tag", True)]
    assert "no longer active" in first["error"]


async def test_the_timeline_tells_which_rule_ran_and_what_each_action_did(
    admin, make_rule, make_user, drain, automation
):
    agent = await make_user("customer_service", display_name="李老师")
    rule = await make_rule(
        "created", [{"kind": "assign_person", "value": agent.id}, {"kind": "add_tag", "value": "VIP"}], name="VIP 直派"
    )
    ticket = await tickets.create_ticket(admin, repair())
    await drain()

    [entry] = await automation.activities(ticket["id"], "automation")
    [run] = await automation.runs(ticket["id"])
    changes = entry["changes"]
    assert entry["actor"] is None
    assert (changes["rule"], changes["name"], changes["trigger"], changes["run"], changes["outcome"]) == (
        rule["id"],
        "VIP 直派",
        "created",
        run["id"],
        "done",
    )
    assert changes["actions"] == [
        {"kind": "assign_person", "ok": True, "detail": "李老师"},
        {"kind": "add_tag", "ok": True, "detail": "VIP"},
    ]
    # The actions' own changes are on the timeline too, before the log entry.
    kinds = [
        r["kind"]
        for r in await TicketActivity.select(TicketActivity.kind)
        .where(TicketActivity.ticket == ticket["id"])
        .order_by(TicketActivity.id)
    ]
    assert kinds[-1] == "automation" and {"assign", "fields"} <= set(kinds[:-1])


async def test_a_run_that_changed_nothing_stays_off_the_timeline(admin, make_rule, drain, automation):
    """A rule finding the ticket as it wants it (tag there, priority set) is in the run log only; a run
    where one action of several changed something, or one failed, is on the timeline as before."""
    await make_rule(
        "created", [{"kind": "add_tag", "value": "报修"}, {"kind": "set_priority", "value": "high"}], name="already so"
    )
    quiet = await tickets.create_ticket(admin, repair(priority="high", tags=["报修"]))
    await drain()
    [run] = await automation.runs(quiet["id"])
    assert run["outcome"] == "done" and [e.get("unchanged") for e in run["log"]] == [True, True]
    assert await automation.activities(quiet["id"], "automation") == []

    half = await tickets.create_ticket(admin, repair(priority="low", tags=["报修"]))
    await drain()
    [entry] = await automation.activities(half["id"], "automation")
    assert [a.get("unchanged", False) for a in entry["changes"]["actions"]] == [True, False]
    assert await _priority(half["id"]) == "high"


async def test_rules_of_two_triggers_processed_at_once_lose_no_change(admin, make_rule, make_user, automation):
    """One write fires "updated" and "status_changed"; two workers take one each at the same moment.
    Each rule's changes must land: neither a lost tag (one rule writing the tags it read before the
    other's) nor an action failed on the other's version bump."""
    agent = await make_user("customer_service")
    await make_rule(
        "updated",
        [
            {"kind": "add_tag", "value": "u1"},
            {"kind": "add_tag", "value": "u2"},
            {"kind": "set_priority", "value": "high"},
        ],
    )
    await make_rule(
        "status_changed",
        [
            {"kind": "add_tag", "value": "s1"},
            {"kind": "add_tag", "value": "s2"},
            {"kind": "assign_person", "value": agent.id},
        ],
    )
    ticket = await tickets.create_ticket(admin, repair(priority="low"))
    await tickets.update_ticket(admin, ticket["id"], {"status": "in_progress"}, version=None)
    first, second = await automation.pending()

    await asyncio.gather(engine.process(first), engine.process(second))
    runs = await automation.runs(ticket["id"])
    assert [r["outcome"] for r in runs] == ["done", "done"], [r["log"] for r in runs]
    assert await automation.tags(ticket["id"]) == {"u1", "u2", "s1", "s2"}
    row = await Ticket.select(Ticket.priority, Ticket.assignee).where(Ticket.id == ticket["id"]).first()
    assert row == {"priority": "high", "assignee": agent.id}


async def test_a_trigger_whose_worker_died_is_swept_after_its_lease_without_repeating_a_started_rule(
    admin, make_rule, automation
):
    started = await make_rule("created", [{"kind": "add_tag", "value": "started"}], name="started")
    await make_rule("created", [{"kind": "add_tag", "value": "not-yet"}], name="not yet")
    ticket = await tickets.create_ticket(admin, repair())
    [trigger_id] = await automation.pending()
    # What a worker killed inside the first rule leaves behind: the claim with its lease, and that
    # rule's run row inserted before its actions (which may or may not have happened).
    now = system_clock.now()
    await AutomationTrigger.update(
        {AutomationTrigger.status: "running", AutomationTrigger.locked_until: now + engine.LEASE}
    ).where(AutomationTrigger.id == trigger_id)
    await AutomationRun.insert(
        AutomationRun(
            trigger_event=trigger_id,
            rule=started["id"],
            rule_name="started",
            ticket=ticket["id"],
            trigger="created",
            outcome="running",
        )
    )

    assert await engine.sweep(FrozenClock(now + timedelta(seconds=30))) == 0  # the lease still holds
    assert await engine.sweep(FrozenClock(now + engine.LEASE + timedelta(seconds=1))) == 1
    assert await engine.sweep(FrozenClock(now + engine.LEASE + timedelta(seconds=2))) == 0
    assert await automation.tags(ticket["id"]) == {"not-yet"}  # the started rule is not run a second time
    assert [r["outcome"] for r in await automation.runs(ticket["id"])] == ["running", "done"]


async def test_prune_forgets_old_processed_triggers_and_keeps_their_runs(admin, make_rule, drain):
    await make_rule("created", [{"kind": "add_tag", "value": "VIP"}])
    old = await tickets.create_ticket(admin, repair(title="旧工单"))
    await drain()
    waiting = await tickets.create_ticket(admin, repair(title="未处理"))  # pending: never pruned
    later = FrozenClock(system_clock.now() + engine.KEEP_DONE + timedelta(minutes=1))
    assert await engine.prune(later) == 1
    remaining = await AutomationTrigger.select(AutomationTrigger.ticket, AutomationTrigger.status)
    assert remaining == [{"ticket": waiting["id"], "status": "pending"}]
    [run] = await AutomationRun.select(AutomationRun.ticket, AutomationRun.outcome, AutomationRun.trigger_event)
    assert (run["ticket"], run["outcome"], run["trigger_event"]) == (old["id"], "done", None)
    assert await engine.prune(system_clock) == 0
