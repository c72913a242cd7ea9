"""Converting over HTTP: the lead page's button and confirm step, the API, permissions and versions."""

from __future__ import annotations

from tables.leads.tables import Lead
from tables.students.tables import Student
from tests.integration.lead_conversion.conversion_helpers import family_ticket, make_lead, make_student
from tests.support import post_form, token_for

EN = {"Accept-Language": "en"}


async def test_the_lead_page_converts_after_a_confirm_step_and_links_to_the_student(client, make_user, login):
    advisor = await make_user("advisor")
    lead = await make_lead(advisor, student_name="赵小雨")
    await login(client, advisor)
    detail = await client.get(f"/leads/{lead['id']}")
    assert f'href="/leads/{lead["id"]}/convert"' in detail.text and "lead-converted" not in detail.text

    confirm = await client.get(f"/leads/{lead['id']}/convert")
    assert confirm.status_code == 200
    assert "赵小雨" in confirm.text and lead["phone"] in confirm.text and lead["wechat"] in confirm.text
    assert f'name="version" value="{lead["version"]}"' in confirm.text and "allow_duplicate" not in confirm.text

    done = await post_form(client, f"/leads/{lead['id']}/convert", {"version": str(lead["version"])})
    assert done.status_code in (302, 303) and done.headers["location"] == f"/leads/{lead['id']}"
    student = await Student.select(Student.id).first()
    after = await client.get(f"/leads/{lead['id']}")
    assert "lead-converted" in after.text and f'href="/students/{student["id"]}"' in after.text
    assert f'href="/leads/{lead["id"]}/convert"' not in after.text  # no second conversion offered
    page = await client.get(f"/students/{student['id']}")
    assert page.status_code == 200 and "赵小雨" in page.text and f'href="/leads/{lead["id"]}"' in page.text

    again = await post_form(client, f"/leads/{lead['id']}/convert", {"version": str(lead["version"] + 1)})
    assert again.status_code == 409 and f"#{student['id']}" in again.text


async def test_a_stale_confirm_page_comes_back_with_the_reason(client, make_user, login):
    advisor = await make_user("advisor")
    lead = await make_lead(advisor)
    await login(client, advisor)
    await Lead.update({Lead.version: Lead.version + 1}).where(Lead.id == lead["id"])  # someone saved an edit
    stale = await post_form(
        client,
        f"/leads/{lead['id']}/convert",
        {"version": str(lead["version"])},
        headers={**EN, "HX-Request": "true", "HX-Target": "main"},
    )
    assert stale.status_code == 409 and "Someone else changed this lead" in stale.text
    assert f'name="version" value="{lead["version"] + 1}"' in stale.text  # the step again, current
    assert await Student.count() == 0


async def test_the_confirm_step_offers_the_student_with_the_same_phone(client, make_user, login):
    advisor = await make_user("advisor")
    existing = await make_student("孙悟空", phone="13912340000", advisor=advisor.id)
    lead = await make_lead(advisor, phone="13912340000")
    await login(client, advisor)
    confirm = await client.get(f"/leads/{lead['id']}/convert")
    assert "孙悟空" in confirm.text and f'name="student_id" value="{existing}"' in confirm.text
    assert 'name="allow_duplicate" value="1"' in confirm.text
    linked = await post_form(
        client, f"/leads/{lead['id']}/convert", {"version": str(lead["version"]), "student_id": str(existing)}
    )
    assert linked.status_code in (302, 303)
    assert (await Lead.select(Lead.student).where(Lead.id == lead["id"]).first())["student"] == existing
    assert await Student.count() == 1


async def test_a_non_owner_advisor_gets_403_on_the_page_and_the_api(client, make_user, login):
    other = await make_user("advisor")
    pool_lead = await make_lead(await make_user("admin"), owner=None)  # visible to every lead user
    await login(client, other)
    detail = await client.get(f"/leads/{pool_lead['id']}")
    assert detail.status_code == 200 and "/convert" not in detail.text
    assert (await client.get(f"/leads/{pool_lead['id']}/convert")).status_code == 403
    assert (await post_form(client, f"/leads/{pool_lead['id']}/convert", {})).status_code == 403
    answer = await client.post(
        f"/api/v1/leads/{pool_lead['id']}/convert", json={}, headers={**await token_for(other), **EN}
    )
    assert answer.status_code == 403
    assert answer.json()["detail"] == "Only the lead's owner, a supervisor or an admin can convert it to a student."
    assert await Student.count() == 0


async def test_api_converts_with_201_and_reads_the_student(client, make_user):
    advisor = await make_user("advisor")
    desk = await make_user("customer_service")
    lead = await make_lead(advisor, student_name="钱多多")
    ticket = await family_ticket(desk, lead["phone"])
    headers = {**await token_for(advisor), **EN}
    answer = await client.post(
        f"/api/v1/leads/{lead['id']}/convert", json={"version": lead["version"]}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body == {
        "student_id": body["student_id"],
        "lead_id": lead["id"],
        "linked": False,
        "ticket_ids": [ticket["id"]],
    }

    again = await client.post(f"/api/v1/leads/{lead['id']}/convert", headers=headers)
    assert again.status_code == 409 and f"converted to student #{body['student_id']}" in again.json()["detail"]

    student = await client.get(f"/api/v1/students/{body['student_id']}", headers=headers)
    assert student.status_code == 200 and student.headers["etag"] == 'W/"1"'
    data = student.json()
    assert data["name"] == "钱多多" and data["lead_id"] == lead["id"] and data["advisor_id"] == advisor.id
    assert [row["id"] for row in data["leads"]] == [lead["id"]] and data["hidden_tickets"] == 1
    desk_view = await client.get(f"/api/v1/students/{body['student_id']}", headers=await token_for(desk))
    assert [t["id"] for t in desk_view.json()["tickets"]] == [ticket["id"]]
    lead_json = (await client.get(f"/api/v1/leads/{lead['id']}", headers=headers)).json()
    assert lead_json["student_id"] == body["student_id"] and lead_json["status"] == "won"
    assert (
        await client.get(f"/api/v1/students/{body['student_id']}", headers=await token_for(await make_user("advisor")))
    ).status_code == 404


async def test_api_offers_the_same_phone_student_then_links(client, make_user):
    advisor = await make_user("advisor")
    existing = await make_student("孙悟空", phone="13912340000", advisor=advisor.id)
    lead = await make_lead(advisor, phone="13912340000")
    headers = {**await token_for(advisor), **EN}
    offered = await client.post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers=headers)
    assert offered.status_code == 409
    assert [s["id"] for s in offered.json()["students"]] == [existing] and offered.json()["students"][0]["visible"]
    linked = await client.post(f"/api/v1/leads/{lead['id']}/convert", json={"student_id": existing}, headers=headers)
    assert linked.status_code == 201 and linked.json()["linked"] is True and linked.json()["student_id"] == existing


async def test_api_refuses_a_stale_version_or_etag(client, make_user):
    advisor = await make_user("advisor")
    lead = await make_lead(advisor)
    headers = {**await token_for(advisor), **EN}
    await client.patch(f"/api/v1/leads/{lead['id']}", json={"note": "改过了"}, headers=headers)
    by_body = await client.post(
        f"/api/v1/leads/{lead['id']}/convert", json={"version": lead["version"]}, headers=headers
    )
    by_etag = await client.post(
        f"/api/v1/leads/{lead['id']}/convert", headers={**headers, "If-Match": f'W/"{lead["version"]}"'}
    )
    assert by_body.status_code == by_etag.status_code == 409
    bad = await client.post(f"/api/v1/leads/{lead['id']}/convert", json={"version": "x"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "version"
    fresh = await client.post(
        f"/api/v1/leads/{lead['id']}/convert", headers={**headers, "If-Match": f'W/"{lead["version"] + 1}"'}
    )
    assert fresh.status_code == 201
