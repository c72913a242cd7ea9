"""/students and /students/{id}: search, pagination, visibility, and a query count that does not grow."""

from __future__ import annotations

from app.leads.follow_ups import services as follow_ups
from app.students.conversion import services as conversion
from tables.students.tables import StudentTag
from tests.integration.lead_conversion.conversion_helpers import family_ticket, make_lead, make_student


async def test_student_list_searches_paginates_and_hides_other_advisors_students(client, make_user, login):
    advisor, other = await make_user("advisor"), await make_user("advisor")
    for n in range(25):
        await make_student(f"学员{n:02d}", phone=f"1370000{n:04d}", advisor=advisor.id)
    await make_student("别人的学员", advisor=other.id)
    await login(client, advisor)
    first = await client.get("/students")
    assert first.status_code == 200 and first.text.count('href="/students/') == 20 and "别人的学员" not in first.text
    assert "offset=20" in first.text  # the pager
    second = await client.get("/students", params={"offset": 20})
    assert second.text.count('href="/students/') == 5
    found = await client.get(
        "/students", params={"q": "13700000007"}, headers={"HX-Request": "true", "HX-Target": "student-results"}
    )
    assert "学员07" in found.text and "学员08" not in found.text and "<html" not in found.text
    api = await client.get("/api/v1/students", params={"q": "学员1"}, headers=await _token(advisor))
    assert api.json()["total"] == 10


async def _token(user):
    from tests.support import token_for

    return await token_for(user)


async def test_student_page_shows_the_lead_timeline_and_tickets_in_a_fixed_number_of_queries(
    client, make_user, login, count_queries
):
    admin = await make_user("admin", display_name="校长")
    advisor = await make_user("advisor", display_name="顾问小周")
    await login(client, admin)
    counts = []
    for total in (2, 12):
        lead = await make_lead(advisor)
        for n in range(total):
            await follow_ups.add_follow_up(advisor, {"kind": "phone", "note": f"第{n}次电话"}, lead_id=lead["id"])
            await family_ticket(admin, lead["phone"], title=f"家长来电{n}")
        result = await conversion.convert_lead(advisor, lead["id"], {}, None)
        await follow_ups.add_follow_up(admin, {"kind": "visit", "note": "入学后家访"}, student_id=result.student_id)
        await StudentTag.insert(*[StudentTag(student=result.student_id, tag=f"标签{n}") for n in range(total)])
        with count_queries() as statements:
            page = await client.get(f"/students/{result.student_id}")
        assert page.status_code == 200
        assert page.text.count("fu-item") == total + 1 and "入学后家访" in page.text and "第0次电话" in page.text
        assert all(f"家长来电{n}" in page.text and f"标签{n}" in page.text for n in range(total))
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[0] <= 12, counts


async def test_family_numbers_are_masked_for_the_desk_and_full_for_the_advisor(client, make_user, login):
    advisor = await make_user("advisor")
    desk = await make_user("customer_service")
    lead = await make_lead(advisor, phone="13912345678")
    result = await conversion.convert_lead(advisor, lead["id"], {}, None)
    await login(client, desk)
    page = await client.get(f"/students/{result.student_id}")
    assert page.status_code == 200 and "139****5678" in page.text and "13912345678" not in page.text
    listing = await client.get("/students", params={"q": "13912345678"})  # the search still finds the number
    assert "139****5678" in listing.text and "13912345678" not in listing.text.replace('value="13912345678"', "")
    api = (await client.get(f"/api/v1/students/{result.student_id}", headers=await _token(desk))).json()
    assert api["guardian_phone"] == "139****5678" and api["phone_masked"] is True
    mine = (await client.get(f"/api/v1/students/{result.student_id}", headers=await _token(advisor))).json()
    assert mine["guardian_phone"] == "13912345678" and mine["phone_masked"] is False
