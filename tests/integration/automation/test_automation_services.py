"""The admin services of app/automation/services.py against the real database."""

from __future__ import annotations

import pytest

from app.automation import services
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.tickets import services as tickets
from tables.accounts.tables import User
from tables.audit.tables import AuditEntry
from tables.automation.tables import AutomationRule
from tests.support import repair


def _data(**overrides) -> dict:
    return {
        "name": "投诉升级",
        "trigger": "created",
        "match": "all",
        "conditions": [{"subject": "type", "op": "is", "value": "complaint"}],
        "actions": [{"kind": "set_priority", "value": "urgent"}],
        **overrides,
    }


async def test_save_rule_names_each_bad_field(admin):
    bad = _data(
        name="",
        conditions=[
            {"subject": "type", "op": "is", "value": "complaint"},
            {"subject": "priority", "op": "is", "value": "huge"},
        ],
        actions=[{"kind": "add_tag", "value": "ok"}, {"kind": "assign_person", "value": "999"}],
    )
    with pytest.raises(ValidationFailed) as failure:
        await services.save_rule(admin, None, bad)
    assert {e.field for e in failure.value.errors} == {"name", "conditions.1.value", "actions.1.value"}
    assert await AutomationRule.count() == 0


async def test_save_rule_checks_references_against_the_database(admin, make_user):
    agent = await make_user("customer_service")
    rule = await services.save_rule(admin, None, _data(actions=[{"kind": "assign_person", "value": str(agent.id)}]))
    assert rule["actions"] == [{"kind": "assign_person", "user": agent.id}]
    with pytest.raises(ValidationFailed) as failure:
        await services.save_rule(admin, None, _data(conditions=[{"subject": "type", "op": "is", "value": "nope"}]))
    assert [e.field for e in failure.value.errors] == ["conditions.0.value"]


async def test_a_stale_version_is_a_conflict(admin):
    rule = await services.save_rule(admin, None, _data())
    assert rule["version"] == 1
    saved = await services.save_rule(admin, rule["id"], _data(name="投诉加急", version=1))
    assert (saved["name"], saved["version"]) == ("投诉加急", 2)
    with pytest.raises(Conflict):
        await services.save_rule(admin, rule["id"], _data(name="另一个人的改动", version="1"))
    assert (await services.get_rule(rule["id"]))["name"] == "投诉加急"
    audit = await AuditEntry.select(AuditEntry.action).where(AuditEntry.entity_type == "automation_rule")
    assert sorted(a["action"] for a in audit) == ["create", "update"]


@pytest.mark.parametrize("role", ["supervisor", "customer_service", "teacher"])
async def test_only_admins_change_rules(admin, make_user, role):
    rule = await services.save_rule(admin, None, _data())
    user = await make_user(role)
    calls = [
        services.save_rule(user, None, _data()),
        services.save_rule(user, rule["id"], _data(name="x")),
        services.move_rule(user, rule["id"], "up"),
        services.delete_rule(user, rule["id"]),
        services.restore_rule(user, rule["id"]),
        services.set_active(user, rule["id"], False),
        services.test_rule(user, _data(), "1"),
    ]
    for call in calls:
        with pytest.raises(Forbidden):
            await call
    assert await services.get_rule(rule["id"]) == rule


async def _order(trigger: str = "created") -> list[str]:
    return [r["name"] for r in await services.list_rules() if r["trigger"] == trigger]


async def test_move_rule_up_and_down_within_its_trigger(admin):
    for name in ("a", "b", "c"):
        await services.save_rule(admin, None, _data(name=name))
    other = await services.save_rule(admin, None, _data(name="z", trigger="updated"))
    ids = {r["name"]: r["id"] for r in await services.list_rules()}
    await services.move_rule(admin, ids["c"], "up")
    assert await _order() == ["a", "c", "b"]
    await services.move_rule(admin, ids["a"], "up")  # already first: nothing moves
    assert await _order() == ["a", "c", "b"]
    await services.move_rule(admin, ids["a"], "down")
    assert await _order() == ["c", "a", "b"]
    await services.move_rule(admin, ids["b"], "down")  # already last
    assert await _order() == ["c", "a", "b"]
    assert await _order("updated") == ["z"] and (await services.get_rule(other["id"]))["position"] == 0
    with pytest.raises(ValidationFailed):
        await services.move_rule(admin, ids["a"], "sideways")


async def test_delete_and_restore(admin, make_rule, drain, automation):
    rule = await make_rule("created", [{"kind": "add_tag", "value": "tagged"}])
    deleted = await services.delete_rule(admin, rule["id"])
    assert deleted["deleted_at"] is not None
    assert [r["id"] for r in await services.list_rules()] == []
    assert [r["id"] for r in await services.list_rules(include_deleted=True)] == [rule["id"]]
    with pytest.raises(NotFound):  # a deleted rule is not edited, only restored
        await services.save_rule(admin, rule["id"], _data())
    ticket = await tickets.create_ticket(admin, repair())
    await drain()
    assert await automation.tags(ticket["id"]) == set()

    restored = await services.restore_rule(admin, rule["id"])
    assert restored["deleted_at"] is None and restored["version"] == rule["version"] + 2
    assert [r["id"] for r in await services.list_rules()] == [rule["id"]]
    again = await tickets.create_ticket(admin, repair())
    await drain()
    assert await automation.tags(again["id"]) == {"tagged"}


async def test_list_rules_counts_runs_and_failures(admin, make_rule, make_user, drain):
    leaver = await make_user("customer_service")
    failing = await make_rule("created", [{"kind": "assign_person", "value": leaver.id}], name="failing")
    fine = await make_rule("created", [{"kind": "add_tag", "value": "ok"}], name="fine")
    await User.update({User.is_active: False}).where(User.id == leaver.id)
    for _ in range(2):
        await tickets.create_ticket(admin, repair())
    await drain()
    counts = {r["id"]: (r["runs"], r["failed"]) for r in await services.list_rules()}
    assert counts == {failing["id"]: (2, 2), fine["id"]: (2, 0)}


async def test_test_rule_says_which_conditions_hold_and_changes_nothing(admin):
    ticket = await tickets.create_ticket(admin, repair(priority="high"))
    data = _data(
        match="any",
        conditions=[
            {"subject": "type", "op": "is", "value": "complaint"},
            {"subject": "priority", "op": "is", "value": "high"},
        ],
    )
    result = await services.test_rule(admin, data, ticket["number"].lower())
    assert result.matched is True
    assert [held for _, held in result.conditions] == [False, True]
    assert (await services.test_rule(admin, {**data, "match": "all"}, str(ticket["id"]))).matched is False
    after = await tickets.get_ticket(admin, ticket["id"])
    assert (after["version"], after["priority"]) == (ticket["version"], "high")
    assert await AutomationRule.count() == 0

    with pytest.raises(ValidationFailed) as failure:
        await services.test_rule(admin, data, "T-1999-000001")
    assert [e.field for e in failure.value.errors] == ["test_ticket"]
    with pytest.raises(ValidationFailed) as failure:
        await services.test_rule(
            admin, _data(conditions=[{"subject": "priority", "op": "is", "value": "huge"}]), ticket["number"]
        )
    assert [e.field for e in failure.value.errors] == ["conditions.0.value"]
