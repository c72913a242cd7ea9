"""The student page in a real browser at phone and desktop widths: the desk presses 显示 on the family's
masked numbers (one audit row); academic affairs deletes the student after the confirm dialog and Undo
brings them straight back. SHUYUAN_SCREENSHOTS=<dir> keeps screenshots."""

from __future__ import annotations

from tables.audit.tables import AuditEntry
from tables.students.tables import Student
from tests.support import browser_log_in, keep_screenshot


async def test_reveal_delete_and_undo_on_the_student_page(servers, browser, make_user):
    web, _ = servers
    advisor = await make_user("advisor", display_name="顾问小周")
    desk = await make_user("customer_service", display_name="客服小刘")
    affairs = await make_user("academic_affairs", display_name="教务小王")
    for width in (390, 1440):
        phone, other = f"1391111{width:04d}", f"1382222{width:04d}"
        student = (
            await Student.insert(
                Student(
                    name=f"陈思远{width}",
                    guardian_name="陈先生",
                    guardian_phone=phone,
                    phones=[other],
                    advisor=advisor.id,
                )
            ).returning(Student.id)
        )[0]["id"]

        page = await browser_log_in(browser, web, desk.username, width=width)
        await page.goto(f"{web}/students/{student}")
        value = page.locator(f"#student-phone-{student}")
        assert "****" in await value.inner_text() and phone not in await page.content()
        await value.get_by_role("button", name="显示").click()
        await page.locator(".phone-revealed").wait_for()
        shown = await page.locator(".phone-revealed").inner_text()
        assert phone in shown and other in shown
        assert (
            await AuditEntry.count().where(
                (AuditEntry.entity_type == "student_phone")
                & (AuditEntry.entity_id == student)
                & (AuditEntry.actor == desk.id)
            )
            == 1
        )
        await keep_screenshot(page, f"student-revealed-{width}")
        await page.context.close()

        page = await browser_log_in(browser, web, advisor.username, width=width)
        await page.goto(f"{web}/students/{student}")
        assert phone in await page.locator(f"#student-phone-{student}").inner_text()  # their own student: in full
        assert await page.get_by_role("button", name="删除").count() == 0  # students.delete is not the advisor's
        await page.context.close()

        page = await browser_log_in(browser, web, affairs.username, width=width)
        dialogs: list[str] = []

        async def accept(dialog, dialogs: list[str] = dialogs) -> None:  # this pass's list
            dialogs.append(dialog.message)
            await dialog.accept()

        page.on("dialog", accept)
        await page.goto(f"{web}/students/{student}")
        await page.get_by_role("button", name="删除").click()
        await page.get_by_text("已移到回收站").first.wait_for()
        assert dialogs and "回收站" in dialogs[0]
        await page.wait_for_url(f"{web}/recycle?kind=student")
        assert (await Student.select(Student.deleted_at).where(Student.id == student).first())["deleted_at"] is not None
        await keep_screenshot(page, f"student-deleted-{width}")
        await page.get_by_role("button", name="撤销").click()
        await page.wait_for_url(f"{web}/students/{student}")
        await page.get_by_role("heading", name=f"陈思远{width}").wait_for()
        assert (await Student.select(Student.deleted_at).where(Student.id == student).first())["deleted_at"] is None
        await page.context.close()
