"""A lead import in the browser, with the real worker: upload a GBK CSV from the leads page, keep the
suggested mapping, read the dry run's report, start the import, watch the progress bar finish and
get the failed rows. At a phone's width and a desktop's. SHUYUAN_SHOTS=<dir> keeps screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tables.leads.tables import Lead
from tests.integration.lead_import.helpers import csv_bytes, sample_rows
from tests.support import browser_log_in

SHOTS = os.environ.get("SHUYUAN_SHOTS")


async def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("width", [390, 1440])
async def test_upload_map_check_import_and_download_the_failed_rows(servers, browser, make_user, tmp_path, width):
    base = servers[0]
    advisor = await make_user("advisor", display_name="王顾问")
    upload = tmp_path / "名单.csv"
    upload.write_bytes(csv_bytes(sample_rows(), encoding="gbk"))
    page = await browser_log_in(browser, base, advisor.username, width=width)
    await page.goto(f"{base}/leads")
    await page.click("a[href='/leads/import']")
    await page.wait_for_selector("input[type=file]")
    await _shot(page, f"import_upload_{width}")
    await page.set_input_files("input[type=file]", str(upload))
    await page.click("form.import-upload button[type=submit]")
    await page.wait_for_selector("table.import-mapping")
    assert await page.input_value("#map-0") == "student_name"
    assert await page.input_value("#map-2") == "phone"
    await _shot(page, f"import_mapping_{width}")
    await page.click("form button[type=submit]:has-text('检查文件')")
    await page.wait_for_selector(".stats", timeout=20000)  # the worker ran the dry run; polling showed it
    text = await page.inner_text("#main")
    assert ("需要查看的行" in text and "请输入有效的手机号" in text) or "电话" in text
    assert await Lead.count() == 0
    await _shot(page, f"import_report_{width}")
    await page.click(".import-actions button[type=submit]")
    # The dry-run report offers the failed rows too: wait for the import's own result ("go to leads").
    await page.wait_for_selector(".import-actions a[href='/leads']", timeout=20000)
    await page.wait_for_selector("a:has-text('失败行（Excel）')")
    await _shot(page, f"import_done_{width}")
    assert await Lead.count().where(Lead.owner == advisor.id) == 2
    async with page.expect_download() as download:
        await page.click("a:has-text('失败行（CSV）')")
    saved = tmp_path / "failed.csv"
    await (await download.value).save_as(saved)
    content = saved.read_bytes().decode("utf-8-sig")
    assert content.splitlines()[0].endswith(",error") and "李小红" in content
    await page.goto(f"{base}/leads")
    await page.wait_for_selector(".list-export")
    assert "导出当前列表（2 条线索）" in await page.inner_text(".list-export")
    await _shot(page, f"leads_list_{width}")
