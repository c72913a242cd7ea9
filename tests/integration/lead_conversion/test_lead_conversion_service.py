"""convert_lead: the student gets the lead's data, history stays reachable, refusals name the reason."""

from __future__ import annotations

import pytest

from app.core import i18n
from app.core.errors import Conflict, Forbidden, NotFound
from app.leads import merge, services
from app.leads.follow_ups import services as follow_ups
from app.students.conversion import services as conversion
from app.students.services import student_overview
from tables.audit.tables import AuditEntry
from tables.leads.tables import Lead
from tables.students.tables import Student
from tables.tickets.tables import Ticket, TicketActivity
from tests.integration.lead_conversion.conversion_helpers import family_ticket, make_lead, make_student
from tests.support import make_campus, make_team


async def test_conversion_creates_the_student_and_keeps_the_history_reachable(make_user):
    campus = await make_campus()
    advisor = await make_user("advisor", display_name="顾问小李")
    desk = await make_user("customer_service")
    lead = await make_lead(advisor, campus=campus, phones="13700001111")
    await follow_ups.add_follow_up(advisor, {"kind": "phone", "note": "家长想周末试听"}, lead_id=lead["id"])
    ticket = await family_ticket(desk, lead["phone"])
    other_family = await family_ticket(desk, "13600009999")

    result = await conversion.convert_lead(advisor, lead["id"], {}, lead["version"])

    student = await Student.select().where(Student.id == result.student_id).first().output(load_json=True)
    assert {
        k: student[k]
        for k in (
            "name",
            "guardian_name",
            "guardian_phone",
            "phones",
            "email",
            "wechat",
            "city",
            "district",
            "grade",
            "campus",
            "advisor",
            "lead",
        )
    } == {
        "name": lead["student_name"],
        "guardian_name": "王女士",
        "guardian_phone": lead["phone"],
        "phones": ["13700001111"],
        "email": lead["email"],
        "wechat": lead["wechat"],
        "city": "北京",
        "district": "海淀",
        "grade": "三年级",
        "campus": campus,
        "advisor": advisor.id,
        "lead": lead["id"],
    }
    stored = (
        await Lead.select(Lead.status, Lead.converted_at, Lead.student, Lead.version)
        .where(Lead.id == lead["id"])
        .first()
    )
    assert stored["status"] == "won" and stored["converted_at"] is not None and stored["student"] == result.student_id
    assert stored["version"] == lead["version"] + 1
    assert not result.linked and result.ticket_ids == [ticket["id"]]
    tickets = {t["id"]: t["student"] for t in await Ticket.select(Ticket.id, Ticket.student)}
    assert tickets == {ticket["id"]: result.student_id, other_family["id"]: None}
    assert await TicketActivity.exists().where(
        (TicketActivity.ticket == ticket["id"]) & (TicketActivity.kind == "fields")
    )
    convert_entry = await AuditEntry.select().where(AuditEntry.action == "convert").first().output(load_json=True)
    assert convert_entry["entity_id"] == lead["id"] and convert_entry["changes"]["student"] == [None, result.student_id]
    assert await AuditEntry.exists().where((AuditEntry.entity_type == "student") & (AuditEntry.action == "create"))

    view = await student_overview(advisor, result.student_id)
    assert [lead_row["id"] for lead_row in view.leads] == [lead["id"]]
    notes = [i.get("note") for i in view.timeline if i["type"] == "follow_up"]
    actions = {i.get("action") for i in view.timeline if i["type"] == "audit"}
    assert notes == ["家长想周末试听"] and {"create", "convert"} <= actions
    assert [t["id"] for t in view.tickets] == [] and view.hidden_tickets == 1  # the advisor cannot open desk tickets
    assert [t["id"] for t in (await student_overview(desk, result.student_id)).tickets] == [ticket["id"]]


async def test_a_converted_lead_cannot_be_converted_again(make_user):
    advisor = await make_user("advisor")
    lead = await make_lead(advisor)
    first = await conversion.convert_lead(advisor, lead["id"], {}, None)
    with pytest.raises(Conflict) as refused:
        await conversion.convert_lead(advisor, lead["id"], {"allow_duplicate": True}, None)
    assert f"#{first.student_id}" in refused.value.detail
    assert await Student.count() == 1


@pytest.mark.parametrize("state", ["invalid", "merged", "deleted"])
async def test_invalid_merged_and_deleted_leads_are_refused_with_the_reason(make_user, state):
    admin = await make_user("admin")
    lead = await make_lead(admin)
    if state == "invalid":
        await services.update_lead(admin, lead["id"], {"status": "invalid", "invalid_reason": "空号"}, version=None)
    elif state == "merged":
        survivor = await make_lead(admin, student_name="王小明", phone="13955550000")
        await merge.merge_leads(admin, survivor["id"], lead["id"], {})
    else:
        await services.delete_lead(admin, lead["id"])
    token = i18n.set_locale("en")
    try:
        with pytest.raises(Conflict) as refused:
            await conversion.convert_lead(admin, lead["id"], {}, None)
    finally:
        i18n._current.reset(token)
    expected = {"invalid": "marked invalid (空号)", "merged": "merged into lead #", "deleted": "recycle bin"}[state]
    assert expected in refused.value.detail, refused.value.detail
    assert await Student.count() == 0


async def test_a_student_with_the_same_phone_is_offered_and_linked_instead_of_duplicated(make_user):
    advisor = await make_user("advisor")
    existing = await make_student("王大明", phone="13912340000", advisor=advisor.id)
    lead = await make_lead(advisor, phone="139 1234 0000")

    with pytest.raises(conversion.StudentWithSamePhone) as offered:
        await conversion.convert_lead(advisor, lead["id"], {}, lead["version"])
    assert [c["id"] for c in offered.value.candidates] == [existing]
    assert (await conversion.plan_conversion(advisor, lead["id"])).candidates[0]["id"] == existing

    result = await conversion.convert_lead(advisor, lead["id"], {"student_id": existing}, lead["version"])
    assert result.linked and result.student_id == existing and await Student.count() == 1
    assert (await Student.select(Student.lead).where(Student.id == existing).first())["lead"] == lead["id"]
    view = await student_overview(advisor, existing)
    assert [row["id"] for row in view.leads] == [lead["id"]]

    sibling = await make_lead(advisor, student_name="王二明", phone="13912340000")
    second = await conversion.convert_lead(advisor, sibling["id"], {"allow_duplicate": True}, None)
    assert not second.linked and await Student.count() == 2


async def test_only_the_owner_a_supervisor_or_an_admin_may_convert(make_user):
    leader = await make_user("advisor")  # an advisor leading a team sees its leads, but converts only their own
    team = await make_team(leader=leader.id)
    owner, other = await make_user("advisor", team=team), await make_user("advisor")
    owned = await make_lead(owner)
    pool_lead = await make_lead(await make_user("admin"), owner=None)
    with pytest.raises(NotFound):  # another advisor's lead is not even visible
        await conversion.convert_lead(other, owned["id"], {}, None)
    with pytest.raises(Forbidden):  # a pool lead is visible, but not theirs
        await conversion.convert_lead(other, pool_lead["id"], {}, None)
    with pytest.raises(Forbidden):
        await conversion.convert_lead(leader, owned["id"], {}, None)
    with pytest.raises(Forbidden):
        await conversion.convert_lead(await make_user("customer_service"), pool_lead["id"], {}, None)
    assert (await conversion.convert_lead(await make_user("supervisor"), pool_lead["id"], {}, None)).student_id
    assert await Student.count() == 1


async def test_a_stale_version_is_refused_and_nothing_is_written(make_user):
    advisor = await make_user("advisor")
    lead = await make_lead(advisor)
    await services.update_lead(advisor, lead["id"], {"note": "家长改了时间"}, version=lead["version"])
    with pytest.raises(Conflict):
        await conversion.convert_lead(advisor, lead["id"], {}, lead["version"])
    assert await Student.count() == 0
    assert (await Lead.select(Lead.converted_at).where(Lead.id == lead["id"]).first())["converted_at"] is None


async def test_two_people_converting_at_once_make_one_student(make_user):
    import asyncio

    advisor = await make_user("advisor")
    admin = await make_user("admin")
    lead = await make_lead(advisor)
    results = await asyncio.gather(
        conversion.convert_lead(advisor, lead["id"], {}, lead["version"]),
        conversion.convert_lead(admin, lead["id"], {}, lead["version"]),
        return_exceptions=True,
    )
    # The loser is refused with a Conflict: "changed by someone else", "already converted" or "a
    # student has this phone", depending on how far it got before the winner committed.
    assert sorted("Conflict" if isinstance(r, Conflict) else type(r).__name__ for r in results) == [
        "Conflict",
        "Conversion",
    ], results
    assert await Student.count() == 1
    assert await AuditEntry.count().where(AuditEntry.action == "convert") == 1
