"""Automation admin pages over HTTP: admins only (the server refuses others), the editor's add/remove and
subject changes, 422 naming the row's field, the version check, order/switch/delete/undo, the try-it
panel, the run log, reply templates, and the run on the ticket's timeline."""

from __future__ import annotations

from app.automation import engine
from app.automation import services as automation
from app.tickets import services as tickets
from tables.automation.tables import AutomationRule, AutomationTrigger, ReplyTemplate
from tests.support import post_form, repair

RULE_FORM = {
    "name": "紧急报修加标签",
    "trigger": "created",
    "match": "all",
    "is_active": "1",
    "conditions.0.subject": "priority",
    "conditions.0.op": "is",
    "conditions.0.value": "urgent",
    "actions.0.kind": "add_tag",
    "actions.0.value": "加急",
}


async def _rule_ids() -> list[int]:
    rows = (
        await AutomationRule.select(AutomationRule.id)
        .where(AutomationRule.deleted_at.is_null())
        .order_by(AutomationRule.position)
    )
    return [r["id"] for r in rows]


async def test_only_admins_reach_the_pages_or_change_rules(client, make_user, login):
    admin = await make_user("admin")
    saved = await automation.save_rule(
        admin, None, {**RULE_FORM, "conditions": [], "actions": [{"kind": "add_tag", "tag": "x"}]}
    )
    await login(client, await make_user("supervisor"))
    responses = [
        await client.get("/admin/automation"),
        await client.get("/admin/automation/runs"),
        await client.get("/admin/automation/templates"),
        await post_form(client, "/admin/automation", RULE_FORM),
        await post_form(client, f"/admin/automation/{saved['id']}/delete", {}),
        await post_form(client, "/admin/automation/templates", {"name": "x", "body": "y"}),
    ]
    assert [r.status_code for r in responses] == [403] * 6
    assert await _rule_ids() == [saved["id"]]
    assert await ReplyTemplate.count() == 0


async def test_admin_creates_a_rule_and_sees_it_under_its_trigger(client, make_user, login):
    await login(client, await make_user("admin"))
    empty = await client.get("/admin/automation")
    assert empty.status_code == 200 and empty.text.count("此触发条件下还没有规则。") == 6
    created = await post_form(client, "/admin/automation", RULE_FORM)
    assert created.status_code in (302, 303), created.text[:500]
    [rule_id] = await _rule_ids()
    rule = await automation.get_rule(rule_id)
    assert rule["conditions"] == [{"subject": "priority", "op": "is", "value": "urgent"}]
    assert rule["actions"] == [{"kind": "add_tag", "tag": "加急"}]
    listing = await client.get("/admin/automation")
    assert f'id="rule-{rule_id}"' in listing.text and "紧急报修加标签" in listing.text and "#加急" in listing.text
    edit = await client.get(f"/admin/automation/{rule_id}")
    assert edit.status_code == 200 and 'value="加急"' in edit.text and 'name="version" value="1"' in edit.text


async def test_a_bad_row_is_refused_with_its_field_named_and_nothing_saved(client, make_user, login):
    await login(client, await make_user("admin"))
    bad = {**RULE_FORM, "conditions.0.value": "very", "actions.0.kind": "webhook", "actions.0.value": "ftp://x"}
    response = await post_form(client, "/admin/automation", bad)
    assert response.status_code == 422
    assert 'id="f-conditions.0.value-error"' in response.text and 'id="f-actions.0.value-error"' in response.text
    assert 'value="紧急报修加标签"' in response.text  # what was typed is kept in the form
    assert "ftp://x" in response.text
    assert await AutomationRule.count() == 0


async def test_a_webhook_to_the_metadata_service_is_refused_with_the_reason(client, make_user, login, monkeypatch):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE", raising=False)
    await login(client, await make_user("admin"))
    form = {**RULE_FORM, "actions.0.kind": "webhook", "actions.0.value": "http://169.254.169.254/latest/meta-data/"}
    response = await post_form(client, "/admin/automation", form)
    assert response.status_code == 422
    assert 'id="f-actions.0.value-error"' in response.text and "此地址位于内网或本机" in response.text
    assert await AutomationRule.count() == 0


async def test_editor_adds_removes_and_adapts_rows(client, make_user, login):
    await login(client, await make_user("admin"))
    added = await post_form(
        client, "/admin/automation/editor", {**RULE_FORM, "op": "add_condition"}, headers={"HX-Request": "true"}
    )
    assert added.status_code == 200 and 'name="conditions.1.subject"' in added.text
    assert 'name="conditions.0.value"' in added.text and "<html" not in added.text  # the fragment only
    # Changing the subject to a form field: the key input appears and the operator moves to one that applies.
    changed = await post_form(
        client,
        "/admin/automation/editor",
        {
            **RULE_FORM,
            "conditions.0.subject": "field",
            "conditions.0.op": "is",
            "op": "refresh",
        },
        headers={"HX-Request": "true"},
    )
    assert 'name="conditions.0.key"' in changed.text
    assert '<option value="equals" selected>' in changed.text
    removed = await post_form(
        client, "/admin/automation/editor", {**RULE_FORM, "op": "remove_action:0"}, headers={"HX-Request": "true"}
    )
    assert 'name="actions.0.kind"' not in removed.text
    assert await AutomationRule.count() == 0  # the editor never saves


async def test_stale_edit_is_refused_and_the_newer_rule_kept(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)
    await post_form(client, "/admin/automation", RULE_FORM)
    [rule_id] = await _rule_ids()
    await post_form(client, f"/admin/automation/{rule_id}", {**RULE_FORM, "name": "第一次修改", "version": "1"})
    stale = await post_form(client, f"/admin/automation/{rule_id}", {**RULE_FORM, "name": "过期修改", "version": "1"})
    assert stale.status_code == 409
    assert (await automation.get_rule(rule_id))["name"] == "第一次修改"


async def test_order_switch_delete_and_undo(client, make_user, login):
    await login(client, await make_user("admin"))
    for name in ("A", "B", "C"):
        await post_form(client, "/admin/automation", {**RULE_FORM, "name": name})
    a, b, c = await _rule_ids()
    await post_form(client, f"/admin/automation/{c}/move", {"direction": "up"})
    assert await _rule_ids() == [a, c, b]
    await post_form(client, f"/admin/automation/{a}/active", {"active": "0"})
    assert (await automation.get_rule(a))["is_active"] is False
    deleted = await post_form(
        client, f"/admin/automation/{c}/delete", {}, headers={"HX-Request": "true", "HX-Target": "main"}
    )
    assert deleted.status_code == 200 and f"/admin/automation/{c}/restore" in deleted.text  # the undo button
    assert await _rule_ids() == [a, b]
    assert "已删除的规则（1）" in deleted.text
    await post_form(client, f"/admin/automation/{c}/restore", {})
    assert sorted(await _rule_ids()) == sorted([a, b, c])


async def test_try_it_says_which_conditions_hold(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)
    urgent = await tickets.create_ticket(admin, repair(priority="urgent"))
    result = await post_form(
        client, "/admin/automation/test", {**RULE_FORM, "test_ticket": urgent["number"]}, headers={"HX-Request": "true"}
    )
    assert result.status_code == 200 and "au-yes" in result.text and urgent["number"] in result.text
    low = await tickets.create_ticket(admin, repair(priority="low"))
    result = await post_form(
        client, "/admin/automation/test", {**RULE_FORM, "test_ticket": low["number"]}, headers={"HX-Request": "true"}
    )
    assert "au-no" in result.text and "✗" in result.text
    missing = await post_form(
        client, "/admin/automation/test", {**RULE_FORM, "test_ticket": "T-1999-000001"}, headers={"HX-Request": "true"}
    )
    assert missing.status_code == 422
    assert await AutomationRule.count() == 0


async def test_run_shows_in_the_log_and_on_the_timeline(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)
    await post_form(client, "/admin/automation", RULE_FORM)
    [rule_id] = await _rule_ids()
    ticket = await tickets.create_ticket(admin, repair(priority="urgent"))
    [trigger] = await AutomationTrigger.select(AutomationTrigger.id).where(AutomationTrigger.ticket == ticket["id"])
    [run] = await engine.process(trigger["id"])
    assert run["outcome"] == "done"
    log = await client.get(f"/admin/automation/runs?rule={rule_id}")
    assert log.status_code == 200 and ticket["number"] in log.text and f'id="run-{run["id"]}"' in log.text
    failed_only = await client.get(f"/admin/automation/runs?rule={rule_id}&outcome=failed")
    assert f'id="run-{run["id"]}"' not in failed_only.text
    page = await client.get(f"/tickets/{ticket['id']}")
    assert "tk-event-automation" in page.text and "紧急报修加标签" in page.text
    # The run's entry and the tag it added are both signed "自动化", not "系统".
    assert page.text.count("<strong>自动化</strong>") == 2 and "<strong>系统</strong>" not in page.text
    listing = await client.get("/admin/automation")
    assert "运行 1 次" in listing.text


async def test_reply_templates_are_validated_and_show_where_used(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)
    bad = await post_form(client, "/admin/automation/templates", {"name": "", "body": ""})
    assert bad.status_code == 422 and 'id="f-name-error"' in bad.text and 'id="f-body-error"' in bad.text
    ok = await post_form(
        client,
        "/admin/automation/templates",
        {"name": "已收到", "body": "您好，{requester}：{number} 已收到。", "is_active": "1"},
    )
    assert ok.status_code in (302, 303)
    template = await ReplyTemplate.select().first()
    await automation.save_rule(
        admin,
        None,
        {**RULE_FORM, "conditions": [], "actions": [{"kind": "reply_template", "template": template["id"]}]},
    )
    listing = await client.get("/admin/automation/templates")
    assert "已收到" in listing.text and "紧急报修加标签" in listing.text and "X-Shuyuan-Signature" in listing.text
    edit = await client.get(f"/admin/automation/templates/{template['id']}")
    assert 'aria-labelledby="au-used-by"' in edit.text and "<li>紧急报修加标签</li>" in edit.text
    assert 'name="body" rows="8" required' in edit.text  # marked required, as the server requires it
    # A refused edit keeps the "used by" list beside the form.
    emptied = await post_form(client, f"/admin/automation/templates/{template['id']}", {"name": "已收到", "body": " "})
    assert (
        emptied.status_code == 422 and 'id="f-body-error"' in emptied.text and "<li>紧急报修加标签</li>" in emptied.text
    )
    off = await post_form(client, f"/admin/automation/templates/{template['id']}", {"name": "已收到", "body": "新内容"})
    assert off.status_code in (302, 303)
    assert (await ReplyTemplate.select().first())["is_active"] is False


async def test_a_rule_moved_to_another_trigger_goes_last_and_moves_count_as_changes(make_user):
    admin = await make_user("admin")
    first = await automation.save_rule(
        admin, None, {**RULE_FORM, "conditions": [], "actions": [{"kind": "add_tag", "tag": "a"}]}
    )
    second = await automation.save_rule(
        admin, None, {**RULE_FORM, "conditions": [], "actions": [{"kind": "add_tag", "tag": "b"}]}
    )
    updated = await automation.save_rule(
        admin, None, {**RULE_FORM, "trigger": "updated", "conditions": [], "actions": [{"kind": "add_tag", "tag": "c"}]}
    )
    moved = await automation.save_rule(admin, first["id"], {**first, "trigger": "updated", "version": first["version"]})
    assert moved["position"] > updated["position"]
    assert [r["id"] for r in await automation.list_rules() if r["trigger"] == "updated"] == [updated["id"], first["id"]]
    await automation.move_rule(admin, first["id"], "up")
    assert (await automation.get_rule(first["id"]))["version"] == moved["version"] + 1
    assert (await automation.get_rule(second["id"]))["version"] == second["version"]  # another trigger: untouched


async def test_run_details_are_shown_in_the_readers_language(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)
    await automation.save_rule(
        admin, None, {**RULE_FORM, "conditions": [], "actions": [{"kind": "add_tag", "tag": "加急"}]}
    )
    ticket = await tickets.create_ticket(admin, repair(tags=["加急"]))
    [trigger] = await AutomationTrigger.select(AutomationTrigger.id).where(AutomationTrigger.ticket == ticket["id"])
    [run] = await engine.process(trigger["id"])
    assert run["log"][0]["detail"] == "already tagged"  # English where the server logs it
    log = await client.get("/admin/automation/runs")
    assert "已有该标签" in log.text and "already tagged" not in log.text
    page = await client.get(f"/tickets/{ticket['id']}")
    assert page.status_code == 200 and "已有该标签" not in page.text  # nothing changed: the run log only
