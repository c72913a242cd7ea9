"""GET/POST /api/v1/leads/{id}/follow-ups: validation naming the field, visibility per role."""

from __future__ import annotations

from datetime import datetime, timedelta

from tables.leads.tables import Lead
from tests.integration.leads_pool.helpers import make_lead
from tests.support import token_for


async def test_add_and_list_follow_ups(client, make_user):
    advisor = await make_user("advisor")
    lead = await make_lead(advisor.id)
    headers = await token_for(advisor)
    day = (datetime.now() + timedelta(days=30)).date().isoformat()
    created = await client.post(
        f"/api/v1/leads/{lead}/follow-ups",
        headers=headers,
        json={
            "kind": "phone",
            "outcome": "interested",
            "note": "想了解编程课",
            "next_step": "发课程表",
            "next_follow_up_at": f"{day}T09:00:00+08:00",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "phone" and body["reminder"] == "pending" and body["lead_id"] == lead
    assert body["next_follow_up_at"].startswith(f"{day}T01:00:00")  # stored in UTC
    listed = await client.get(f"/api/v1/leads/{lead}/follow-ups", headers=headers)
    assert [i["id"] for i in listed.json()["items"]] == [body["id"]]
    row = await Lead.select(Lead.next_follow_up_on, Lead.version).where(Lead.id == lead).first()
    assert row["next_follow_up_on"].isoformat() == day and row["version"] == 2


async def test_bad_input_names_each_field(client, make_user):
    advisor = await make_user("advisor")
    lead = await make_lead(advisor.id)
    headers = await token_for(advisor)
    answer = await client.post(
        f"/api/v1/leads/{lead}/follow-ups",
        headers=headers,
        json={"kind": "pigeon", "outcome": "great", "next_follow_up_at": "2000-01-01T00:00:00Z", "note": ""},
    )
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"kind", "outcome", "next_follow_up_at"}
    empty = await client.post(f"/api/v1/leads/{lead}/follow-ups", headers=headers, json={"kind": "sms"})
    assert [e["field"] for e in empty.json()["errors"]] == ["note"]
    garbage = await client.post(
        f"/api/v1/leads/{lead}/follow-ups", headers=headers, json={"kind": "sms", "note": "x", "next_follow_up_at": 12}
    )
    assert [e["field"] for e in garbage.json()["errors"]] == ["next_follow_up_at"]


async def test_visibility_follows_the_lead_policy(client, make_user):
    owner, other, agent = await make_user("advisor"), await make_user("advisor"), await make_user("customer_service")
    teacher = await make_user("teacher")
    private, pooled = await make_lead(owner.id), await make_lead(None)
    body = {"kind": "phone", "note": "来电咨询"}
    for user in (other, agent):
        headers = await token_for(user)
        assert (await client.get(f"/api/v1/leads/{private}/follow-ups", headers=headers)).status_code == 404
        assert (await client.post(f"/api/v1/leads/{private}/follow-ups", headers=headers, json=body)).status_code == 404
    agent_pool = await client.post(f"/api/v1/leads/{pooled}/follow-ups", headers=await token_for(agent), json=body)
    assert agent_pool.status_code == 201
    no_leads = await client.post(f"/api/v1/leads/{pooled}/follow-ups", headers=await token_for(teacher), json=body)
    assert no_leads.status_code == 403
