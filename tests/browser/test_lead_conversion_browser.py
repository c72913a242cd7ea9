"""An advisor converts a lead in the browser: the confirm step, the lead page's "converted" banner and
the student's 360° page, at phone and desktop widths. SHUYUAN_SCREENSHOTS=<dir> keeps screenshots."""

from __future__ import annotations

from app.leads import services as lead_services
from app.leads.follow_ups import services as follow_ups
from app.tickets.services import create_ticket
from app.tickets.types.defaults import ensure_default_types
from tables.students.tables import StudentTag
from tests.support import browser_log_in, keep_screenshot, make_campus, repair


async def test_advisor_converts_a_lead_and_opens_the_student(servers, browser, make_user):
    web, _ = servers
    await ensure_default_types()
    campus = await make_campus("海淀校区")
    advisor = await make_user("advisor", campus=campus, display_name="顾问李娜")
    for width in (390, 1440):
        lead = await lead_services.create_lead(
            advisor,
            {
                "student_name": f"陈思远{width}",
                "guardian_name": "陈先生",
                "phone": f"1391111{width:04d}",
                "phones": f"1382222{width:04d}",
                "wechat": f"chen_{width}",
                "email": f"chen{width}@example.cn",
                "city": "北京",
                "district": "海淀区",
                "grade": "四年级",
                "source": "douyin",
                "status": "trial",
                "campus": campus,
                "course_interests": "数学思维, 英语口语",
            },
        )
        for note, kind in (("家长咨询周末数学班，想先试听", "phone"), ("试听后很满意，准备报名", "trial")):
            await follow_ups.add_follow_up(
                advisor, {"kind": kind, "note": note, "outcome": "interested"}, lead_id=lead["id"]
            )
        await create_ticket(advisor, repair("试听教室空调太冷", requester_kind="lead", requester_phone=lead["phone"]))

        page = await browser_log_in(browser, web, advisor.username, width=width)
        await page.goto(f"{web}/leads/{lead['id']}")
        await page.get_by_role("link", name="转为学员").click()
        await page.wait_for_url(f"{web}/leads/{lead['id']}/convert")
        await page.get_by_text("试听教室空调太冷").wait_for()
        await keep_screenshot(page, f"convert-confirm-{width}")
        await page.get_by_role("button", name="创建学员").click()
        banner = page.locator(".lead-converted")
        await banner.wait_for()
        assert "已转为学员" in await banner.inner_text()
        await page.locator("#lead-timeline .fu-item").first.wait_for()
        await keep_screenshot(page, f"lead-converted-{width}")

        student_id = int((await banner.locator("a").get_attribute("href")).rsplit("/", 1)[1])
        await StudentTag.insert(
            StudentTag(student=student_id, tag="重点关注"), StudentTag(student=student_id, tag="数学")
        )
        await banner.locator("a").click()
        await page.wait_for_url(f"{web}/students/{student_id}")
        await page.get_by_text("试听后很满意，准备报名").wait_for()
        assert await page.locator(".student-tags .tag").count() == 2
        assert await page.locator(".student-tickets li").count() == 1
        assert await page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
        await keep_screenshot(page, f"student-{width}")
        await page.goto(f"{web}/students")
        await page.get_by_role("link", name=f"陈思远{width}").wait_for()
        await keep_screenshot(page, f"students-{width}")
        await page.context.close()
