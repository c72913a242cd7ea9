"""The recycle bin and phone masking in a real browser at phone and desktop widths: customer service
reveals a masked number; an admin deletes a ticket, finds it in the bin with a merged lead, restores
it and purges another; the reveal log. SHUYUAN_SCREENSHOTS=<dir> keeps screenshots."""

from __future__ import annotations

from datetime import timedelta

from app.core.clock import FrozenClock, system_clock
from app.leads import merge
from app.leads import services as lead_services
from app.tickets.services import create_ticket
from app.tickets.types.defaults import ensure_default_types
from tables.leads.tables import Lead
from tables.tickets.tables import Ticket
from tests.support import browser_log_in, keep_screenshot, repair


async def test_reveal_delete_restore_and_purge_in_the_browser(servers, browser, make_user):
    web, _ = servers
    await ensure_default_types()
    admin = await make_user("admin", display_name="管理员王静")
    desk = await make_user("customer_service", display_name="客服小刘")
    now = system_clock.now()
    for width in (390, 1440):
        pool_lead = await lead_services.create_lead(
            admin,
            {
                "student_name": f"陈思远{width}",
                "guardian_name": "陈先生",
                "phone": f"1391111{width:04d}",
                "phones": f"1382222{width:04d}",
                "owner": None,
                "district": "海淀区",
            },
        )
        survivor = await lead_services.create_lead(
            admin, {"student_name": f"张伟{width}", "phone": f"1380013{width:04d}"}
        )
        merged = await lead_services.create_lead(
            admin, {"student_name": f"Zhang Wei {width}", "phone": f"1380013{width:04d}"}
        )
        await merge.merge_leads(admin, survivor["id"], merged["id"], {})
        old = await lead_services.create_lead(admin, {"student_name": f"王芳{width}", "phone": f"1370013{width:04d}"})
        await lead_services.delete_lead(admin, old["id"], clock=FrozenClock(now - timedelta(days=27)))
        ticket = await create_ticket(admin, repair(f"302 教室投影仪不亮 {width}"))

        page = await browser_log_in(browser, web, desk.username, width=width)
        await page.goto(f"{web}/leads/{pool_lead['id']}")
        value = page.locator(f"#phone-{pool_lead['id']}")
        assert "****" in await value.inner_text()
        await keep_screenshot(page, f"lead-masked-{width}")
        await value.get_by_role("button", name="显示").click()
        await page.locator(".phone-revealed").wait_for()
        assert pool_lead["phone"] in await page.locator(".phone-revealed").inner_text()
        await keep_screenshot(page, f"lead-revealed-{width}")
        await page.context.close()

        page = await browser_log_in(browser, web, admin.username, width=width)
        page.on("dialog", lambda dialog: dialog.accept())
        await page.goto(f"{web}/tickets/{ticket['id']}")
        await keep_screenshot(page, f"ticket-page-{width}")
        await page.locator(".tk-actionbar").get_by_role("button", name="删除").click()
        await page.get_by_text("已移到回收站").first.wait_for()
        await keep_screenshot(page, f"ticket-deleted-{width}")
        await page.get_by_role("link", name="打开回收站").click()
        await page.wait_for_url(f"{web}/recycle")
        await page.locator(f"#bin-ticket-{ticket['id']}").wait_for()
        assert "撤销合并" in await page.locator(f"#bin-lead-{merged['id']}").inner_text()
        assert "3 天后彻底删除" in await page.locator(f"#bin-lead-{old['id']}").inner_text()
        await keep_screenshot(page, f"recycle-bin-{width}")
        await page.locator(f"#bin-ticket-{ticket['id']}").get_by_role("button", name="恢复").click()
        await page.get_by_text("已恢复").wait_for()
        assert (await Ticket.select(Ticket.deleted_at).where(Ticket.id == ticket["id"]).first())["deleted_at"] is None
        await page.locator(f"#bin-lead-{old['id']}").get_by_role("button", name="彻底删除").click()
        await page.get_by_text("已彻底删除").wait_for()
        assert await Lead.count().where(Lead.id == old["id"]) == 0
        await keep_screenshot(page, f"recycle-bin-after-{width}")
        await page.goto(f"{web}/admin/phone-reveals")
        await page.locator("td").get_by_text("客服小刘").first.wait_for()
        await keep_screenshot(page, f"phone-reveals-{width}")
        await page.context.close()
