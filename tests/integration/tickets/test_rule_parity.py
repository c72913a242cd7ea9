"""One rule path per action: the form, the API and the workbench refuse the same write alike.

Each rule lives in app.tickets.services; these tests send the same write through every door and
expect the same status and the same message on the same field.
"""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from app.core.errors import Forbidden, ValidationFailed
from app.tickets import services
from app.tickets.services import Draft
from app.workbench import services as workbench
from tables.students.tables import Student
from tables.teaching.tables import ClassGroup
from tables.tickets.tables import Ticket, TicketActivity, TicketType
from tests.support import login, make_team, post_form, repair, token_for

EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true", "HX-Target": "main", **EN}
WORKBENCH = {"HX-Request": "true", "HX-Target": "workbench-body", **EN}
CLAIM_REFUSED = "Only the service desk can claim tickets."


def form_errors(response, status: int) -> dict[str, str]:
    """Field → message as the form shows them (`<p class="field-error" id="f-<field>-error">`)."""
    assert response.status_code == status, response.text[:2000]
    found = re.findall(r'class="field-error" id="f-([\w.-]+)-error">([^<]*)<', response.text)
    return {name.replace("fields-", "fields.", 1): str(escape(message)) for name, message in found}


def api_errors(response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    return {e["field"]: str(escape(e["message"])) for e in response.json()["errors"]}


async def _student(name: str, **kwargs) -> int:
    return (await Student.insert(Student(name=name, **kwargs)).returning(Student.id))[0]["id"]


async def _class(name: str, **kwargs) -> int:
    return (await ClassGroup.insert(ClassGroup(name=name, **kwargs)).returning(ClassGroup.id))[0]["id"]


# --- claiming ---------------------------------------------------------------------------------


async def test_a_teacher_is_refused_a_claim_on_the_page_and_the_workbench_alike(client, make_user):
    teacher = await make_user("class_teacher")
    ticket = await services.create_ticket(teacher, repair())  # theirs to see (they opened it), nobody's to work
    await login(client, teacher)

    page = await post_form(client, f"/tickets/{ticket['id']}/claim", {"version": ticket["version"]}, headers=EN)
    bench = await post_form(client, f"/workbench/tickets/{ticket['id']}/claim", {}, headers=WORKBENCH)
    plain = await post_form(client, f"/workbench/tickets/{ticket['id']}/claim", {}, headers=EN)
    for response in (page, bench, plain):
        assert response.status_code == 403, response.text[:500]
        assert CLAIM_REFUSED in response.text
    assert (await Ticket.select(Ticket.assignee, Ticket.status).first()) == {"assignee": None, "status": "new"}
    assert not await TicketActivity.exists().where(TicketActivity.kind == "assign")


async def test_the_workbench_offers_claim_only_to_those_who_may_claim(client, make_user):
    team = await make_team("教务组")
    await TicketType.update({TicketType.team: team}).where(TicketType.code == "repair")  # the team's pool
    teacher = await make_user("class_teacher", team=team)
    desk = await make_user("customer_service")
    ticket = await services.create_ticket(teacher, repair())
    assert workbench.row_actions(teacher, ticket)["claim"] is False
    assert workbench.row_actions(desk, ticket)["claim"] is True
    await login(client, desk)
    assert f"/workbench/tickets/{ticket['id']}/claim" in (await client.get("/workbench")).text
    client.cookies.clear()
    await login(client, teacher)
    text = (await client.get("/workbench")).text
    assert ticket["number"] in text  # the row is there (unassigned in the teacher's team) ...
    assert f"/workbench/tickets/{ticket['id']}/claim" not in text  # ... without a Claim button


async def test_claim_ticket_itself_refuses_people_outside_the_desk(make_user):
    teacher = await make_user("class_teacher")
    ticket = await services.create_ticket(teacher, repair())
    with pytest.raises(Forbidden) as refused:
        await services.claim_ticket(teacher, ticket["id"])
    assert refused.value.detail == CLAIM_REFUSED
    claimed = await services.claim_ticket(await make_user("customer_service"), ticket["id"])
    assert claimed["status"] == "assigned"


# --- creating -----------------------------------------------------------------------------------

FORM = {"type": "repair", "title": "教室灯坏了", "fields.location": "201", "fields.equipment": "其他"}
BODY = {"type": "repair", "title": "教室灯坏了", "fields": {"location": "201", "equipment": "其他"}}


@pytest.mark.parametrize(
    ("named", "field", "message"),
    [
        ("student", "student_id", "Choose from the list."),
        ("class", "class_group_id", "Choose from the list."),
        ("colleague", "assignee_id", "Only the service desk assigns tickets to others."),
    ],
)
async def test_a_new_ticket_naming_what_the_user_may_not_is_refused_by_the_form_and_the_api_alike(
    client, make_user, named, field, message
):
    teacher = await make_user("class_teacher")
    ids = {
        "student": await _student("别班的学生"),
        "class": await _class("别人的班"),
        "colleague": (await make_user("teacher")).id,
    }
    await login(client, teacher)
    by_form = await post_form(client, "/tickets", {**FORM, field: str(ids[named])}, headers=HTMX)
    by_api = await client.post(
        "/api/v1/tickets", json={**BODY, field: ids[named]}, headers={**await token_for(teacher), **EN}
    )
    assert form_errors(by_form, 422) == api_errors(by_api, 422) == {field: message}
    assert await Ticket.count() == 0


async def test_a_new_tickets_custom_class_field_is_checked_on_the_api_as_on_the_form(client, make_user):
    teacher = await make_user("class_teacher")
    theirs, other = await _class("三年级一班", teacher=teacher.id), await _class("别人的班")
    form = {"type": "leave_reschedule", "title": "请假", "fields.lesson_date": "2026-12-01", "fields.reason": "生病"}
    body = {"type": "leave_reschedule", "title": "请假", "fields": {"lesson_date": "2026-12-01", "reason": "生病"}}
    await login(client, teacher)
    by_form = await post_form(client, "/tickets", {**form, "fields.class_group": str(other)}, headers=HTMX)
    by_api = await client.post(
        "/api/v1/tickets",
        json={**body, "fields": {**body["fields"], "class_group": other}},
        headers={**await token_for(teacher), **EN},
    )
    assert form_errors(by_form, 422) == api_errors(by_api, 422) == {"fields.class_group": "Choose from the list."}
    ok = await client.post(
        "/api/v1/tickets",
        json={**body, "fields": {**body["fields"], "class_group": theirs}},
        headers=await token_for(teacher),
    )
    assert ok.status_code == 201 and ok.json()["fields"]["class_group"] == theirs


async def test_create_ticket_checks_what_a_draft_names_and_lets_a_child_keep_its_parents_student(make_user):
    desk = await make_user("customer_service")
    teacher = await make_user("class_teacher")
    stranger = await _student("别班的学生")
    with pytest.raises(ValidationFailed) as refused:
        await services.create_ticket(teacher, repair(student_id=stranger, assignee_id=desk.id))
    assert {(e.field, e.message) for e in refused.value.errors} == {
        ("student_id", "Choose from the list."),
        ("assignee_id", "Only the service desk assigns tickets to others."),
    }
    hidden = await services.create_ticket(desk, repair("看不见的"))
    with pytest.raises(ValidationFailed) as refused:
        await services.create_ticket(teacher, repair(parent_id=hidden["id"]))
    assert [(e.field, e.message) for e in refused.value.errors] == [("parent_id", "Unknown record.")]
    # The desk put the stranger on the teacher's ticket; a child of it may carry the same student.
    parent = await services.create_ticket(desk, repair(student_id=stranger, assignee_id=teacher.id))
    child = await services.create_ticket(teacher, repair("子工单", parent_id=parent["id"], student_id=stranger))
    assert child["student"] == stranger
    # No user behind it (the public form, automation): nothing to check against.
    assert (await services.create_ticket(None, repair(student_id=stranger)))["student"] == stranger


# --- changing -----------------------------------------------------------------------------------


async def test_a_change_naming_a_class_the_user_may_not_is_refused_by_the_form_and_the_api_alike(client, make_user):
    desk = await make_user("customer_service")
    teacher = await make_user("class_teacher")
    theirs, other = await _class("三年级一班", teacher=teacher.id), await _class("别人的班")
    draft = Draft(
        type="leave_reschedule",
        title="请假",
        assignee_id=teacher.id,
        fields={"class_group": theirs, "lesson_date": "2026-12-01", "reason": "生病"},
    )
    ticket = await services.create_ticket(desk, draft)
    await login(client, teacher)
    by_form = await post_form(
        client,
        f"/tickets/{ticket['id']}/fields",
        {
            "version": ticket["version"],
            "fields.class_group": str(other),
            "fields.lesson_date": "2026-12-01",
            "fields.reason": "生病",
        },
        headers=HTMX,
    )
    by_api = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"fields": {"class_group": other}},
        headers={**await token_for(teacher), **EN},
    )
    assert form_errors(by_form, 422) == api_errors(by_api, 422) == {"fields.class_group": "Choose from the list."}
    student = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"student_id": await _student("别人")},
        headers={**await token_for(teacher), **EN},
    )
    assert api_errors(student, 422) == {"student_id": "Choose from the list."}
    assert (await services.get_ticket(desk, ticket["id"]))["version"] == ticket["version"]


async def test_update_ticket_checks_changed_references_and_keeps_the_ones_already_there(make_user):
    desk = await make_user("customer_service")
    teacher = await make_user("class_teacher")
    stranger = await _student("别班的学生")
    ticket = await services.create_ticket(desk, repair(student_id=stranger, assignee_id=teacher.id))
    with pytest.raises(ValidationFailed) as refused:
        await services.update_ticket(teacher, ticket["id"], {"student": await _student("另一个")}, version=None)
    assert [(e.field, e.message) for e in refused.value.errors] == [("student_id", "Choose from the list.")]
    # The student the desk chose stays when the teacher changes something else.
    changed = await services.update_ticket(
        teacher, ticket["id"], {"student": stranger, "priority": "high"}, version=None
    )
    assert (changed["student"], changed["priority"]) == (stranger, "high")
