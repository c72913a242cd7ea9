"""An admin builds a rule in the browser (rows that adapt over htmx), and the worker runs it on the
next ticket created over the API: the supervisor is notified and the run is on the ticket's timeline."""

from __future__ import annotations

import asyncio

import httpx

from app.tickets.types.defaults import ensure_default_types
from tables.automation.tables import AutomationRule, AutomationRun
from tables.notifications.tables import Notification
from tests.support import browser_log_in, make_campus, token_for


async def _wait_for(check, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


async def _rerendered(page, change) -> None:
    """Make a change that re-renders the rule editor, and wait until the new editor is in the page."""
    await page.evaluate("document.getElementById('rule-editor').dataset.stale = '1'")
    await change
    await page.wait_for_selector("#rule-editor:not([data-stale])")


async def test_admin_builds_a_rule_and_the_worker_runs_it(servers, browser, make_user):
    web, _ = servers
    await ensure_default_types()
    campus = await make_campus()
    admin = await make_user("admin", display_name="王校长")
    supervisor = await make_user("supervisor", campus=campus, display_name="周主管")

    page = await browser_log_in(browser, web, admin.username, width=390)
    await page.goto(f"{web}/admin/automation/new?trigger=created")
    await page.fill("#f-name", "教学质量投诉通知主管")
    await _rerendered(page, page.get_by_role("button", name="添加条件").click())
    # A form field as the subject: the row comes back with a key input and a form field's operators.
    await _rerendered(page, page.locator('select[name="conditions.0.subject"]').select_option("field"))
    await page.fill('input[name="conditions.0.key"]', "category")
    await _rerendered(page, page.locator('select[name="conditions.0.op"]').select_option("equals"))
    await page.fill('input[name="conditions.0.value"]', "教学质量")
    await _rerendered(page, page.locator('select[name="actions.0.kind"]').select_option("notify_role"))
    await page.locator('select[name="actions.0.value"]').select_option("supervisor")
    # Values typed before a row re-render are still there.
    assert await page.input_value("#f-name") == "教学质量投诉通知主管"
    assert await page.input_value('input[name="conditions.0.key"]') == "category"
    await page.get_by_role("button", name="保存规则").click()
    await page.wait_for_url(f"{web}/admin/automation?notice=saved*")
    assert await page.get_by_text("规则已保存。").is_visible()
    [rule] = await AutomationRule.select().output(load_json=True)
    assert rule["conditions"] == [{"subject": "field", "key": "category", "op": "equals", "value": "教学质量"}]
    assert rule["actions"] == [{"kind": "notify_role", "role": "supervisor"}]

    async with httpx.AsyncClient(base_url=web, headers=await token_for(admin)) as api:
        other = await api.post(
            "/api/v1/tickets", json={"type": "complaint", "title": "教室太吵", "fields": {"category": "环境设施"}}
        )
        hit = await api.post(
            "/api/v1/tickets", json={"type": "complaint", "title": "老师上课迟到", "fields": {"category": "教学质量"}}
        )
    assert other.status_code == 201 and hit.status_code == 201, (other.text, hit.text)
    ticket_id = hit.json()["id"]

    notes = await _wait_for(
        lambda: Notification.select().where(
            (Notification.recipient == supervisor.id) & (Notification.kind == "automation")
        )
    )
    assert [n["link"] for n in notes] == [f"/tickets/{ticket_id}"]
    # The notification is sent by the rule's action; the run is logged when all its actions are done.
    await _wait_for(
        lambda: AutomationRun.exists().where((AutomationRun.ticket == ticket_id) & (AutomationRun.outcome == "done"))
    )

    await page.goto(f"{web}/tickets/{ticket_id}")
    event = page.locator(".tk-event-automation")
    await event.wait_for()
    assert "教学质量投诉通知主管" in await event.inner_text()
    await page.goto(f"{web}/tickets/{other.json()['id']}")
    assert await page.locator(".tk-event-automation").count() == 0
