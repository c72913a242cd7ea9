"""Claiming from the pool and releasing into it, over the API: limits, the race, permissions."""

from __future__ import annotations

import asyncio

from app.leads.pool import settings as pool_settings
from tables.audit.tables import AuditEntry
from tests.integration.leads_pool.helpers import make_lead, owner_of
from tests.support import make_team, set_leader, token_for


async def _set_limits(**limits) -> None:
    from tests.support import make_user

    admin = await make_user("admin")
    await pool_settings.save(admin, {f"limit_{k}": "" if v is None else str(v) for k, v in limits.items()})


async def test_pool_lists_unowned_leads_with_masked_phones_and_the_quota(client, make_user):
    advisor = await make_user("advisor")
    mine = await make_lead(advisor.id, student_name="自己的")
    free = await make_lead(None, student_name="公海的", phone="13800138000")
    answer = await client.get("/api/v1/lead-pool", headers=await token_for(advisor))
    assert answer.status_code == 200
    body = answer.json()
    assert [i["id"] for i in body["items"]] == [free] and mine != free
    assert body["items"][0]["phone"] == "138****8000"
    assert body["quota"] == {"held": 1, "limit": 200}


async def test_claim_moves_the_lead_and_writes_the_timeline(client, make_user):
    advisor = await make_user("advisor")
    lead = await make_lead(None)
    answer = await client.post(f"/api/v1/leads/{lead}/claim", headers=await token_for(advisor))
    assert answer.status_code == 200, answer.text
    assert answer.json()["quota"] == {"held": 1, "limit": 200}
    assert await owner_of(lead) == advisor.id
    entry = (
        await AuditEntry.select()
        .where((AuditEntry.entity_id == lead) & (AuditEntry.action == "claim"))
        .first()
        .output(load_json=True)
    )
    assert entry["entity_type"] == "lead" and entry["actor"] == advisor.id
    assert entry["changes"] == {"owner": [None, advisor.id]}
    again = await client.post(f"/api/v1/leads/{lead}/claim", headers=await token_for(advisor))
    assert again.status_code == 409


async def test_claim_over_the_role_limit_is_refused_with_the_limit_named(client, make_user):
    await _set_limits(advisor=2)
    advisor = await make_user("advisor")
    await make_lead(advisor.id)
    await make_lead(advisor.id, status="won")  # signed leads do not count
    first, second = await make_lead(None), await make_lead(None)
    headers = {**await token_for(advisor), "Accept-Language": "en"}
    assert (await client.post(f"/api/v1/leads/{first}/claim", headers=headers)).status_code == 200
    refused = await client.post(f"/api/v1/leads/{second}/claim", headers=headers)
    assert refused.status_code == 409
    assert "2 private leads" in refused.json()["detail"]
    assert await owner_of(second) is None
    chinese = await client.post(f"/api/v1/leads/{second}/claim", headers=await token_for(advisor))
    assert "上限" in chinese.json()["detail"]


async def test_a_role_with_limit_zero_may_not_claim(client, make_user):
    agent = await make_user("customer_service")
    lead = await make_lead(None)
    answer = await client.post(f"/api/v1/leads/{lead}/claim", headers=await token_for(agent))
    assert answer.status_code == 403 and await owner_of(lead) is None


async def test_twenty_advisors_claiming_one_lead_at_once_give_it_exactly_one_owner(client, make_user):
    advisors = [await make_user("advisor") for _ in range(20)]
    headers = [await token_for(a) for a in advisors]
    lead = await make_lead(None)
    answers = await asyncio.gather(*(client.post(f"/api/v1/leads/{lead}/claim", headers=h) for h in headers))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 19
    winner = advisors[[a.status_code for a in answers].index(200)]
    assert await owner_of(lead) == winner.id
    assert await AuditEntry.count().where((AuditEntry.entity_id == lead) & (AuditEntry.action == "claim")) == 1


async def test_one_advisor_claiming_many_at_once_stops_at_the_limit(client, make_user):
    await _set_limits(advisor=3)
    advisor = await make_user("advisor")
    leads = [await make_lead(None) for _ in range(8)]
    headers = await token_for(advisor)
    answers = await asyncio.gather(*(client.post(f"/api/v1/leads/{lead}/claim", headers=headers) for lead in leads))
    assert sorted(a.status_code for a in answers) == [200] * 3 + [409] * 5
    assert [await owner_of(lead) for lead in leads].count(advisor.id) == 3


async def test_release_by_owner_supervisor_and_not_by_another_advisor(client, make_user):
    owner, other = await make_user("advisor"), await make_user("advisor")
    boss = await make_user("supervisor")
    team = await make_team("销售一组", leader=boss.id)
    from tables.accounts.tables import User

    await User.update({User.team: team}).where(User.id == owner.id)
    await set_leader(team, boss.id)
    lead = await make_lead(owner.id)
    stranger = await client.post(f"/api/v1/leads/{lead}/release", headers=await token_for(other))
    assert stranger.status_code == 404  # another advisor's lead is not even visible
    agent = await make_user("customer_service")
    assert (await client.post(f"/api/v1/leads/{lead}/release", headers=await token_for(agent))).status_code == 404
    assert await owner_of(lead) == owner.id
    boss_answer = await client.post(
        f"/api/v1/leads/{lead}/release", json={"reason": "家长不接电话"}, headers=await token_for(boss)
    )
    assert boss_answer.status_code == 200, boss_answer.text
    assert await owner_of(lead) is None
    entry = (
        await AuditEntry.select()
        .where((AuditEntry.entity_id == lead) & (AuditEntry.action == "release"))
        .first()
        .output(load_json=True)
    )
    assert entry["changes"] == {"owner": [owner.id, None], "reason": [None, "家长不接电话"]}
    again = await client.post(f"/api/v1/leads/{lead}/release", headers=await token_for(owner))
    assert again.status_code == 409


async def test_owner_releases_without_a_body_and_bad_reason_names_the_field(client, make_user):
    owner = await make_user("advisor")
    lead = await make_lead(owner.id)
    bad = await client.post(f"/api/v1/leads/{lead}/release", json={"reason": 5}, headers=await token_for(owner))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"
    answer = await client.post(f"/api/v1/leads/{lead}/release", headers=await token_for(owner))
    assert answer.status_code == 200 and await owner_of(lead) is None


async def test_unknown_lead_and_non_lead_roles(client, make_user):
    advisor, teacher = await make_user("advisor"), await make_user("teacher")
    assert (await client.post("/api/v1/leads/999999/claim", headers=await token_for(advisor))).status_code == 404
    lead = await make_lead(None)
    assert (await client.post(f"/api/v1/leads/{lead}/claim", headers=await token_for(teacher))).status_code == 403
    assert (await client.get("/api/v1/lead-pool", headers=await token_for(teacher))).status_code == 403
