"""The import service: mapping suggestion, reading GBK CSV and XLSX, dry run, per-row errors, duplicates,
the import writing valid rows, and the failed rows with their error."""

from __future__ import annotations

from app.core.errors import Conflict, Forbidden, ValidationFailed
from app.core.i18n import gettext, set_locale
from app.jobs import services as jobs
from app.leads import services
from app.leads.importing import files as import_files
from app.leads.importing import services as importing
from tables.audit.tables import AuditEntry
from tables.leads.tables import Lead, LeadMatchKey
from tests.integration.lead_import.helpers import HEADERS, csv_bytes, sample_rows, store_lead, xlsx_bytes


async def _run(user, data: bytes, filename: str = "leads.csv", *, dry_run: bool, **options) -> dict:
    upload = await importing.store_upload(user, filename, data)
    job_id = await importing.start_import(
        user, upload["token"], upload["suggestion"], importing.ImportOptions(dry_run=dry_run, **options)
    )
    await importing.run_import(job_id)
    return await jobs.load_job(job_id)


def test_mapping_is_suggested_from_chinese_and_english_headers():
    assert importing.suggest_mapping(HEADERS) == [
        "student_name",
        "guardian_name",
        "phone",
        "email",
        "wechat",
        "city",
        "district",
        "grade",
        "course_interests",
        "source",
    ]
    english = ["Student Name", "Parent", "Mobile", "E-mail", "WeChat ID", "City", "District", "Notes", "Whatever"]
    assert importing.suggest_mapping(english) == [
        "student_name",
        "guardian_name",
        "phone",
        "email",
        "wechat",
        "city",
        "district",
        "note",
        "",
    ]
    # a known name inside a longer header; 家长姓名 is the guardian, not the student
    assert importing.suggest_mapping(["家长姓名", "学员姓名（必填）", "联系电话*", "电话"]) == [
        "guardian_name",
        "student_name",
        "phone",
        "",
    ]


def test_gbk_csv_and_xlsx_read_like_utf8():
    rows = sample_rows()
    for data in (csv_bytes(rows), csv_bytes(rows, encoding="utf-8"), csv_bytes(rows, encoding="gbk")):
        headers, body = import_files.read_table(data, "csv")
        assert headers == HEADERS and body[0][:3] == ["张小明", "张伟", "13800138000"]
    headers, body = import_files.read_table(xlsx_bytes([["王五", "", 13800138001.0, None]]), "xlsx")
    assert headers == HEADERS and body == [["王五", "", "13800138001"]]


def test_a_file_of_another_kind_or_too_large_is_refused():
    for name, data in (("x.pdf", b"%PDF-1.4"), ("x.xlsx", b"not a zip"), ("x.csv", b"\x00\x01")):
        try:
            import_files.check_upload(name, data)
        except ValidationFailed as exc:
            assert exc.status_code == 415 and exc.errors[0].field == "file"
        else:
            raise AssertionError(name)
    try:
        import_files.check_upload("x.csv", b"a" * (import_files.MAX_BYTES + 1))
    except ValidationFailed as exc:
        assert exc.status_code == 413


async def test_dry_run_reports_errors_and_duplicates_and_writes_nothing(make_user):
    admin = await make_user("admin")
    stored = await store_lead(admin, wechat="zhao6_wx")
    job = await _run(admin, csv_bytes(sample_rows(), encoding="gbk"), dry_run=True)
    assert job["status"] == "done" and job["total"] == 5 and job["processed"] == 5
    assert (job["succeeded"], job["failed"]) == (1, 4)  # only row 2 would be imported
    assert await Lead.count() == 1  # only the stored one
    issues = {i["row"]: i for i in importing.issues_of(job)}
    assert sorted(issues) == [3, 4, 5, 6]
    assert issues[3]["errors"] == [["phone", "Enter a valid phone number, e.g. 138 0013 8000."]]
    assert issues[4]["errors"] == [["student_name", "Enter the student's name."]]
    in_file = issues[5]["duplicates"][0]
    assert in_file["row"] == 2 and in_file["blocking"] and issues[5]["failed"]
    against_stored = issues[6]["duplicates"][0]
    assert against_stored["lead_id"] == stored and against_stored["blocking"] and issues[6]["failed"]
    assert job["result"] == {
        "dry_run": True,
        "rows_with_errors": 2,
        "duplicates": 2,
        "possible_duplicates": 0,
        "failed_rows": 4,
    }


async def test_import_writes_valid_rows_with_keys_and_history_and_lists_the_failed_ones(make_user):
    advisor = await make_user("advisor")
    job = await _run(advisor, csv_bytes(sample_rows()), dry_run=False)
    assert job["status"] == "done" and (job["succeeded"], job["failed"]) == (2, 3)
    leads = (
        await Lead.select(Lead.id, Lead.student_name, Lead.phone, Lead.owner, Lead.source, Lead.course_interests)
        .order_by(Lead.id)
        .output(load_json=True)
    )
    assert [(r["student_name"], r["phone"], r["owner"]) for r in leads] == [
        ("张小明", "13800138000", advisor.id),
        ("赵六", "", advisor.id),
    ]  # an advisor's imports are theirs, like leads created by hand
    assert leads[0]["source"] == "douyin" and leads[0]["course_interests"] == ["数学", "英语"]
    assert await LeadMatchKey.exists().where(LeadMatchKey.key == "phone:13800138000")
    assert await AuditEntry.count().where((AuditEntry.entity_type == "lead") & (AuditEntry.action == "create")) == 2
    set_locale("en")
    headers, rows = importing.failed_rows(job, gettext)
    rows = list(rows)
    assert headers == [*HEADERS, "error"]
    assert [r[0] for r in rows] == ["李小红", "", "张晓明"]
    assert rows[0][-1] == "Phone: Enter a valid phone number, e.g. 138 0013 8000."
    assert rows[1][-1] == "Student name: Enter the student's name."
    assert rows[2][-1].startswith("Duplicate of row 2 (same phone")
    set_locale("zh_CN")


async def test_with_on_duplicate_import_duplicates_are_written_and_reported(make_user):
    admin = await make_user("admin")
    job = await _run(admin, csv_bytes(sample_rows()), dry_run=False, on_duplicate="import")
    assert (job["succeeded"], job["failed"]) == (3, 2)
    assert job["result"]["duplicates"] == 1 and job["result"]["failed_rows"] == 2
    assert await Lead.count().where(Lead.owner.is_null()) == 3  # an admin's imports go to the public pool


async def test_running_the_job_again_changes_nothing(make_user):
    admin = await make_user("admin")
    job = await _run(admin, csv_bytes(sample_rows()), dry_run=False)
    await importing.run_import(job["id"])
    assert await Lead.count() == 2


async def test_a_role_without_leads_may_not_import(make_user):
    teacher = await make_user("teacher")
    try:
        await importing.store_upload(teacher, "leads.csv", csv_bytes(sample_rows()))
    except Forbidden:
        pass
    else:
        raise AssertionError("a teacher uploaded an import")


async def test_an_unusable_mapping_is_refused(make_user):
    admin = await make_user("admin")
    upload = await importing.store_upload(admin, "leads.csv", csv_bytes(sample_rows()))
    for mapping in (["phone"] * 10, ["student_name"] + [""] * 9, ["x"] + ["phone"] + [""] * 8):
        try:
            await importing.start_import(admin, upload["token"], mapping, importing.ImportOptions())
        except ValidationFailed as exc:
            assert exc.errors[0].field == "mapping"
        else:
            raise AssertionError(mapping)


async def test_an_imported_lead_reads_back_like_one_created_by_hand(make_user):
    admin = await make_user("admin")
    headers = ["学员姓名", "手机", "其他电话", "意向课程", "状态", "下次跟进", "备注"]
    job = await _run(
        admin,
        csv_bytes(
            [["周杰", "13600136000", "13600136001", "钢琴;美术", "已联系", "2027/1/5", "想周末上课"]], headers=headers
        ),
        dry_run=False,
    )
    assert job["succeeded"] == 1
    imported_id = (await Lead.select(Lead.id).first())["id"]
    by_hand = await services.create_lead(
        admin,
        {
            "student_name": "周杰",
            "phone": "13600136000",
            "phones": "13600136001",
            "course_interests": "钢琴,美术",
            "status": "contacted",
            "next_follow_up_on": "2027-01-05",
            "note": "想周末上课",
        },
    )
    imported = await services.get_lead(admin, imported_id)
    skip = {"id", "created_at", "updated_at", "duplicates"}
    assert {k: v for k, v in imported.items() if k not in skip} == {k: v for k, v in by_hand.items() if k not in skip}
    assert type(imported["created_at"]) is type(by_hand["created_at"])
    assert imported["created_at"].tzinfo is not None


async def test_only_a_finished_dry_run_can_be_imported(make_user):
    admin = await make_user("admin")
    upload = await importing.store_upload(admin, "leads.csv", csv_bytes(sample_rows()))
    options = importing.ImportOptions(dry_run=True)
    dry_run = await importing.start_import(admin, upload["token"], upload["suggestion"], options)
    try:
        await importing.import_from_dry_run(admin, dry_run)  # still queued
    except Conflict:
        pass
    else:
        raise AssertionError("imported before the check finished")
    await importing.run_import(dry_run)
    imported = await importing.import_from_dry_run(admin, dry_run)
    try:
        await importing.import_from_dry_run(admin, imported)  # an import is no dry run
    except Conflict:
        pass
    else:
        raise AssertionError("an import was imported again")
