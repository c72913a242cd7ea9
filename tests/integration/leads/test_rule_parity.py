"""One rule path per action: a lead's owner changes by the public pool's rules whichever door the
change comes through (the edit form, PATCH /api/v1/leads/{id}, the pool's own claim and release).
"""

from __future__ import annotations

import pytest

from app.core.errors import Conflict, Forbidden, NotFound
from app.leads import services
from app.leads.pool import services as pool
from app.leads.pool import settings as pool_settings
from tables.audit.tables import AuditEntry
from tests.integration.leads_pool.helpers import make_lead, owner_of
from tests.support import login, make_team, post_form, set_leader, token_for

EN = {"Accept-Language": "en"}
NO_CLAIMS = "Your role cannot claim leads from the public pool."
NO_RELEASE = "Only the owner or their supervisor can release this lead."


def detail(response, status: int) -> str:
    assert response.status_code == status, response.text[:1000]
    return response.json()["detail"]


async def _version(lead_id: int) -> int:
    from tables.leads.tables import Lead

    return (await Lead.select(Lead.version).where(Lead.id == lead_id).first())["version"]


async def test_customer_service_cannot_take_a_pool_lead_by_naming_itself_owner(client, make_user):
    agent = await make_user("customer_service")
    lead = await make_lead(None, phone="13800138000")
    headers = {**await token_for(agent), **EN}
    by_api = await client.patch(f"/api/v1/leads/{lead}", json={"owner_id": agent.id}, headers=headers)
    by_claim = await client.post(f"/api/v1/leads/{lead}/claim", headers=headers)
    await login(client, agent)
    by_form = await post_form(
        client, f"/leads/{lead}", {"owner": str(agent.id), "version": str(await _version(lead))}, headers=EN
    )
    by_pool_page = await post_form(client, f"/leads/{lead}/claim", {}, headers=EN)
    assert detail(by_api, 403) == detail(by_claim, 403) == NO_CLAIMS
    for page in (by_form, by_pool_page):
        assert page.status_code == 403 and NO_CLAIMS in page.text
    assert await owner_of(lead) is None
    shown = await client.get(f"/api/v1/leads/{lead}", headers=headers)
    assert shown.json()["phone"] == "138****8000"  # still the pool's masked number


async def test_naming_oneself_owner_over_the_limit_is_refused_as_a_claim_is(client, make_user):
    admin = await make_user("admin")
    await pool_settings.save(admin, {"limit_advisor": "1"})
    advisor = await make_user("advisor")
    await make_lead(advisor.id)
    lead = await make_lead(None)
    headers = {**await token_for(advisor), **EN}
    by_api = await client.patch(f"/api/v1/leads/{lead}", json={"owner_id": advisor.id}, headers=headers)
    by_claim = await client.post(f"/api/v1/leads/{lead}/claim", headers=headers)
    assert detail(by_api, 409) == detail(by_claim, 409)
    assert "1 private leads" in detail(by_api, 409)
    assert await owner_of(lead) is None


async def test_only_the_owner_or_their_supervisor_releases_through_any_door(client, make_user):
    team = await make_team("咨询一组")
    leader = await make_user("advisor", team=team)  # leads the team: sees its leads, may not release them
    await set_leader(team, leader.id)
    member = await make_user("advisor", team=team)
    lead = await make_lead(member.id)
    headers = {**await token_for(leader), **EN}
    by_api = await client.patch(f"/api/v1/leads/{lead}", json={"owner_id": None}, headers=headers)
    by_release = await client.post(f"/api/v1/leads/{lead}/release", json={}, headers=headers)
    await login(client, leader)
    by_form = await post_form(client, f"/leads/{lead}", {"owner": "", "version": str(await _version(lead))}, headers=EN)
    assert detail(by_api, 403) == detail(by_release, 403) == NO_RELEASE
    assert by_form.status_code == 403 and NO_RELEASE in by_form.text
    assert await owner_of(lead) == member.id


async def test_claiming_a_lead_one_may_not_see_answers_404_on_every_door(client, make_user):
    owner, other = await make_user("advisor"), await make_user("advisor")
    lead = await make_lead(owner.id)
    headers = {**await token_for(other), **EN}
    assert (await client.post(f"/api/v1/leads/{lead}/claim", headers=headers)).status_code == 404
    assert (
        await client.patch(f"/api/v1/leads/{lead}", json={"owner_id": other.id}, headers=headers)
    ).status_code == 404
    assert await owner_of(lead) == owner.id


async def test_update_lead_moves_owners_through_the_pool(make_user):
    agent, advisor = await make_user("customer_service"), await make_user("advisor")
    lead = await make_lead(None)
    with pytest.raises(Forbidden) as refused:
        await services.update_lead(agent, lead, {"owner": agent.id}, version=None)
    assert refused.value.detail == NO_CLAIMS
    with pytest.raises(NotFound):
        await pool.claim(await make_user("advisor"), await make_lead(advisor.id))
    # An advisor naming themselves owner claims the lead: the pool's timeline entry, not an edit.
    taken = await services.update_lead(advisor, lead, {"owner": advisor.id, "note": "电话约了周六"}, version=1)
    assert taken["owner"] == advisor.id and taken["note"] == "电话约了周六"
    on_lead = (AuditEntry.entity_type == "lead") & (AuditEntry.entity_id == lead)
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).where(on_lead).order_by(AuditEntry.id)]
    assert actions == ["claim", "update"]
    with pytest.raises(Conflict):
        await services.update_lead(advisor, lead, {"owner": None}, version=1)  # based on an old version
    released = await services.update_lead(advisor, lead, {"owner": None}, version=taken["version"])
    assert released["owner"] is None
    entry = await AuditEntry.select().where(on_lead).order_by(AuditEntry.id, ascending=False).first()
    assert entry["action"] == "release"


async def test_undoing_a_merge_into_a_binned_lead_is_refused_alike_from_the_lead_the_merge_and_the_bin(
    client, make_user
):
    from app.leads import merge
    from tables.leads.tables import Lead, LeadMerge

    admin = await make_user("admin")
    survivor = await services.create_lead(admin, {"student_name": "张伟", "phone": "13800138000"})
    merged = await services.create_lead(admin, {"student_name": "Zhang Wei", "phone": "13800138001"})
    await merge.merge_leads(admin, survivor["id"], merged["id"], {})
    await services.delete_lead(admin, survivor["id"])
    merge_id = (await LeadMerge.select(LeadMerge.id).first())["id"]
    await login(client, admin)
    answers = [
        await post_form(client, url, {}, headers=EN)
        for url in (
            f"/leads/{merged['id']}/restore",
            f"/leads/merges/{merge_id}/undo",
            f"/recycle/lead/{merged['id']}/restore",
        )
    ]
    for answer in answers:
        assert answer.status_code == 409, answer.text[:500]
        assert "which is in the recycle bin too" in answer.text and "张伟" in answer.text
    assert (await Lead.select(Lead.merged_into).where(Lead.id == merged["id"]).first())["merged_into"] == survivor["id"]
