"""SLA pages and API: the admin matrix and form (admins only, 422 naming the field), the ticket's card,
breaches on the timeline, and the SLA fields of GET /api/v1/tickets/{id}."""

from __future__ import annotations

from datetime import timedelta

from app.core.clock import FrozenClock, system_clock
from app.sla.scan import scan
from app.tickets import services
from tables.sla.tables import SlaPolicy, SlaSettings
from tables.tickets.tables import TicketType
from tests.support import post_form, repair, token_for

POLICY_FORM = {
    "first_response_minutes": "45",
    "next_response_minutes": "120",
    "resolution_minutes": "600",
    "remind_before_minutes": "10",
    "escalate_unclaimed_minutes": "20",
}


async def _type_id(code: str) -> int:
    return (await TicketType.select(TicketType.id).where(TicketType.code == code).first())["id"]


async def test_only_admins_see_or_change_policies(client, make_user, login):
    await login(client, await make_user("supervisor"))
    repair_id = await _type_id("repair")
    responses = [
        await client.get("/admin/sla"),
        await client.get(f"/admin/sla/{repair_id}/normal"),
        await post_form(client, f"/admin/sla/{repair_id}/normal", POLICY_FORM),
        await post_form(client, "/admin/sla/paused", {"paused_statuses": "in_progress"}),
    ]
    assert [r.status_code for r in responses] == [403] * 4
    assert await SlaPolicy.count() == 24
    assert (await SlaSettings.select(SlaSettings.paused_statuses).first().output(load_json=True))[
        "paused_statuses"
    ] == ["pending"]


async def test_admin_sees_the_matrix_and_saves_a_new_version(client, make_user, login):
    await login(client, await make_user("admin"))
    page = await client.get("/admin/sla")
    assert page.status_code == 200
    assert "课程咨询" in page.text and "投诉建议" in page.text
    repair_id = await _type_id("repair")
    assert f'href="/admin/sla/{repair_id}/urgent"' in page.text
    saved = await post_form(client, f"/admin/sla/{repair_id}/normal", POLICY_FORM)
    assert saved.status_code in (302, 303) and saved.headers["location"].startswith("/admin/sla?saved=")
    active = await SlaPolicy.select().where(
        (SlaPolicy.ticket_type == repair_id) & (SlaPolicy.priority == "normal") & SlaPolicy.is_active.eq(True)
    )
    assert len(active) == 1 and active[0]["version"] == 2 and active[0]["first_response_minutes"] == 45
    form = await client.get(f"/admin/sla/{repair_id}/normal")
    assert form.status_code == 200 and "v1" in form.text and "v2" in form.text


async def test_bad_policy_is_refused_with_the_field_named(client, make_user, login):
    await login(client, await make_user("admin"))
    repair_id = await _type_id("repair")
    bad = await post_form(client, f"/admin/sla/{repair_id}/normal", {**POLICY_FORM, "first_response_minutes": "0"})
    assert bad.status_code == 422
    assert 'id="f-first_response_minutes-error"' in bad.text
    shorter = await post_form(client, f"/admin/sla/{repair_id}/normal", {**POLICY_FORM, "resolution_minutes": "30"})
    assert shorter.status_code == 422 and 'id="f-resolution_minutes-error"' in shorter.text
    assert await SlaPolicy.count().where(SlaPolicy.ticket_type == repair_id) == 4  # nothing written
    missing = await client.get(f"/admin/sla/{repair_id}/sometimes")
    assert missing.status_code == 404


async def test_admin_changes_paused_statuses(client, make_user, login):
    await login(client, await make_user("admin"))
    saved = await client.post(
        "/admin/sla/paused",
        data={"paused_statuses": ["pending", "assigned"]},
        headers={"x-csrftoken": client.cookies.get("csrftoken")},
        follow_redirects=False,
    )
    assert saved.status_code in (302, 303)
    row = await SlaSettings.select(SlaSettings.paused_statuses).first().output(load_json=True)
    assert row["paused_statuses"] == ["assigned", "pending"]
    bad = await post_form(client, "/admin/sla/paused", {"paused_statuses": "resolved"})
    assert bad.status_code == 422


async def test_ticket_card_timeline_and_api_show_the_breach(client, make_user, login):
    agent = await make_user("customer_service")
    clock = FrozenClock(system_clock.now() - timedelta(hours=5))
    ticket = await services.create_ticket(agent, repair(assignee_id=agent.id), clock=clock)
    # Repair/normal: first response 240 business minutes (24x7 without a calendar) → breached an hour ago.
    assert (await scan())["breach"] == 1
    await login(client, agent)
    card = await client.get(f"/tickets/{ticket['id']}/sla", headers={"HX-Request": "true"})
    assert card.status_code == 200
    assert "sla-overdue" in card.text and 'id="ticket-sla-' in card.text
    detail = await client.get(f"/tickets/{ticket['id']}")
    assert f'hx-get="/tickets/{ticket["id"]}/sla"' in detail.text
    assert "tk-event-sla" in detail.text and "sla-breach-text" in detail.text
    api = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=await token_for(agent))
    body = api.json()
    assert body["sla_breached"] is True
    assert body["first_response_due"] is not None and body["resolution_due"] is not None


async def test_card_is_refused_for_a_ticket_one_cannot_see(client, make_user, login):
    owner = await make_user("customer_service")
    ticket = await services.create_ticket(owner, repair())
    await login(client, await make_user("teacher"))
    response = await client.get(f"/tickets/{ticket['id']}/sla")
    assert response.status_code == 404
