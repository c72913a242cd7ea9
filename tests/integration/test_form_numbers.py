"""Numbers typed or crafted into page filters and forms: one past 64 bits is "not a number" (the
filter is dropped, or a 4xx names the field), never a server error from the database."""

from __future__ import annotations

from app.tickets import services
from app.tickets.types.defaults import ensure_default_types
from tests.support import post_form, repair

HUGE = "9" * 30  # int() reads it; SQLite and asyncpg refuse it as a query parameter


async def test_filters_past_64_bits_are_dropped(client, make_user, login):
    admin = await make_user("admin")
    await ensure_default_types()
    ticket = await services.create_ticket(admin, repair())
    await login(client, admin)

    staff = await client.get(f"/admin/staff?team={HUGE}")
    tickets = await client.get(f"/tickets?campus={HUGE}&assignee={HUGE}")
    reveals = await client.get(f"/admin/phone-reveals?actor={HUGE}&record={HUGE}")
    recycle = await client.get(f"/recycle?deleted_by={HUGE}")

    assert [r.status_code for r in (staff, tickets, reveals, recycle)] == [200, 200, 200, 200]
    assert ticket["number"] in tickets.text  # the filters went, the list did not
    assert admin.username in staff.text


async def test_an_offset_past_64_bits_is_refused_as_bad_input(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)

    leads = await client.get(f"/leads?offset={HUGE}")
    column = await client.get(f"/board/column?key=new&offset={HUGE}")

    assert leads.status_code == 422 and column.status_code == 422


async def test_a_form_version_past_64_bits_is_refused_naming_the_field(client, make_user, login):
    admin = await make_user("admin")
    await ensure_default_types()
    ticket = await services.create_ticket(admin, repair())
    await login(client, admin)

    response = await post_form(client, f"/tickets/{ticket['id']}/update", {"status": "in_progress", "version": HUGE})

    assert response.status_code == 422
    assert "表单已过期，请刷新页面后重试。" in response.text  # the version field's message, not a 409 or 500
    assert (await services.get_ticket(admin, ticket["id"]))["status"] == ticket["status"]
