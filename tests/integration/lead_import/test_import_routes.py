"""The import over HTTP: the API contract (202 + job id, GET /api/v1/jobs/{id}), permissions, the
pages from upload to results, the failed rows download and the export of a filtered list."""

from __future__ import annotations

import csv
import io
import json
import re

from openpyxl import load_workbook

from app.leads import services
from app.leads.importing import services as importing
from tables.leads.tables import Lead
from tests.integration.lead_import.helpers import HEADERS, csv_bytes, sample_rows, xlsx_bytes
from tests.support import csrf_headers, token_for

EN = {"Accept-Language": "en"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _post_import(client, headers, data: bytes, name: str = "leads.csv", **fields):
    files = {"file": (name, data, "text/csv" if name.endswith(".csv") else XLSX)}
    return await client.post("/api/v1/leads/import", files=files, data=fields, headers={**headers, **EN})


async def test_api_answers_202_with_a_job_id_and_the_job_reports_progress_and_results(client, make_user):
    admin = await make_user("admin")
    headers = await token_for(admin)
    response = await _post_import(client, headers, xlsx_bytes(sample_rows()), "leads.xlsx", dry_run="true")
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"job_id", "status", "dry_run", "mapping"} and body["status"] == "queued" and body["dry_run"]
    assert body["mapping"]["学员姓名"] == "student_name" and body["mapping"]["手机"] == "phone"
    job = (await client.get(f"/api/v1/jobs/{body['job_id']}", headers=headers)).json()
    assert job == {
        "id": body["job_id"],
        "kind": "lead_import",
        "status": "queued",
        "total": 0,
        "processed": 0,
        "succeeded": 0,
        "failed": 0,
        "result": {},
        "error": "",
    }
    await importing.run_import(body["job_id"])  # what the worker does (tests/tasks runs a real one)
    job = (await client.get(f"/api/v1/jobs/{body['job_id']}", headers=headers)).json()
    assert (job["status"], job["total"], job["processed"], job["succeeded"], job["failed"]) == ("done", 5, 5, 2, 3)
    assert job["result"]["rows_with_errors"] == 2 and job["result"]["duplicates"] == 1
    assert await Lead.count() == 0  # a dry run


async def test_api_takes_an_explicit_mapping_and_rejects_a_bad_one(client, make_user):
    headers = await token_for(await make_user("admin"))
    mapping = {"学员姓名": "student_name", "微信": "wechat"}  # no phone column: only the WeChat row can be imported
    response = await _post_import(client, headers, csv_bytes(sample_rows()), mapping=json.dumps(mapping))
    assert response.status_code == 202 and response.json()["mapping"] == mapping
    await importing.run_import(response.json()["job_id"])
    assert [r["student_name"] for r in await Lead.select(Lead.student_name)] == ["赵六"]
    bad = await _post_import(client, headers, csv_bytes(sample_rows()), mapping=json.dumps({"手机": "phone"}))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "mapping"
    refused = await _post_import(client, headers, b"%PDF-1.4", "leads.pdf")
    assert refused.status_code == 415 and refused.json()["errors"][0]["field"] == "file"


async def test_roles_without_leads_may_not_import_and_others_cannot_read_the_job(client, make_user):
    teacher = await token_for(await make_user("teacher"))
    response = await _post_import(client, teacher, csv_bytes(sample_rows()))
    assert response.status_code == 403
    advisor = await token_for(await make_user("advisor"))
    job_id = (await _post_import(client, advisor, csv_bytes(sample_rows()), dry_run="1")).json()["job_id"]
    other = await token_for(await make_user("advisor"))
    assert (await client.get(f"/api/v1/jobs/{job_id}", headers=other)).status_code == 404
    admin = await token_for(await make_user("admin"))
    assert (await client.get(f"/api/v1/jobs/{job_id}", headers=admin)).status_code == 200
    assert (await client.get(f"/api/v1/leads/import/{job_id}/failed-rows", headers=other)).status_code == 404


async def test_failed_rows_download_as_csv_and_xlsx_with_an_error_column(client, make_user):
    headers = await token_for(await make_user("admin"))
    job_id = (await _post_import(client, headers, csv_bytes(sample_rows()))).json()["job_id"]
    await importing.run_import(job_id)
    response = await client.get(f"/api/v1/leads/import/{job_id}/failed-rows?format=csv", headers={**headers, **EN})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [*HEADERS, "error"]
    assert [r[0] for r in rows[1:]] == ["李小红", "", "张晓明"]
    assert rows[1][-1] == "Phone: Enter a valid phone number, e.g. 138 0013 8000."
    assert rows[3][-1].startswith("Duplicate of row 2 (same phone")
    response = await client.get(f"/api/v1/leads/import/{job_id}/failed-rows?format=xlsx", headers=headers)
    assert response.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c or "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0][-1] == "error" and values[1][0] == "李小红" and values[1][-1].startswith("电话")


async def test_the_pages_go_from_upload_to_mapping_to_report_to_import(client, make_user, login):
    advisor = await make_user("advisor")
    await login(client, advisor)
    assert (await client.get("/leads")).text.count('href="/leads/import"') == 1
    page = await client.get("/leads/import")
    assert page.status_code == 200 and 'type="file"' in page.text
    files = {"file": ("名单.csv", csv_bytes(sample_rows(), encoding="gbk"), "text/csv")}
    mapping_page = await client.post(
        "/leads/import", files=files, data={"on_duplicate": "skip", "owner": "default"}, headers=csrf_headers(client)
    )
    assert mapping_page.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', mapping_page.text).group(1)
    assert '<option value="student_name" selected>' in mapping_page.text
    form = {
        "token": token,
        "owner": "default",
        "on_duplicate": "skip",
        **{f"map_{i}": f for i, f in enumerate(importing.suggest_mapping(HEADERS))},
    }
    started = await client.post("/leads/import/check", data=form, headers=csrf_headers(client), follow_redirects=False)
    assert started.status_code in (302, 303)
    job_url = started.headers["location"]
    running = await client.get(job_url)
    assert 'hx-trigger="every 1s"' in running.text and "<progress" in running.text
    dry_run_id = int(job_url.rsplit("/", 1)[1])
    await importing.run_import(dry_run_id)
    report = await client.get(job_url)
    assert (
        "every 1s" not in report.text
        and "张晓明" in report.text
        and f"/leads/import/jobs/{dry_run_id}/start" in report.text
    )
    assert await Lead.count() == 0
    started = await client.post(
        f"/leads/import/jobs/{dry_run_id}/start", headers=csrf_headers(client), follow_redirects=False
    )
    import_id = int(started.headers["location"].rsplit("/", 1)[1])
    await importing.run_import(import_id)
    result = await client.get(f"/leads/import/jobs/{import_id}/progress")
    assert "failed-rows?format=xlsx" in result.text
    assert await Lead.count().where(Lead.owner == advisor.id) == 2
    client.cookies.clear()
    await login(client, await make_user("advisor"))
    assert (await client.get(job_url)).status_code == 404  # another advisor's import


async def test_export_follows_the_list_filters_and_visibility(client, make_user, login):
    advisor = await make_user("advisor")
    await services.create_lead(advisor, {"student_name": "甲", "phone": "13800000001", "status": "new"})
    await services.create_lead(advisor, {"student_name": "乙", "phone": "13800000002", "status": "contacted"})
    someone = await make_user("advisor")
    await services.create_lead(someone, {"student_name": "丙", "phone": "13800000003"})  # not visible to advisor
    await login(client, advisor)
    response = await client.get("/leads/export?format=csv&status=contacted")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["乙"] and rows[1][3] == "13800000002"  # their own lead: full number
    everything = await client.get("/leads/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(everything.content)).active
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["乙", "甲"]
    listed = await client.get("/leads?status=contacted")
    assert "/leads/export?q=&amp;status=contacted&amp;scope=&format=csv" in listed.text
    # the exported headers are recognised by the importer
    assert importing.suggest_mapping(rows[0])[1:4] == ["student_name", "guardian_name", "phone"]


async def test_a_role_without_leads_cannot_export(client, make_user, login):
    await login(client, await make_user("teacher"))
    assert (await client.get("/leads/export?format=csv")).status_code == 403


async def test_export_masks_phones_the_user_may_not_see_in_full(client, make_user, login):
    admin = await make_user("admin")
    await services.create_lead(admin, {"student_name": "丁", "phone": "13800000004"})  # in the public pool
    await login(client, await make_user("advisor"))
    rows = list(csv.reader(io.StringIO((await client.get("/leads/export?format=csv")).content.decode("utf-8-sig"))))
    assert [(r[1], r[3]) for r in rows[1:]] == [("丁", "138****0004")]
