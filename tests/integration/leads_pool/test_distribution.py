"""Distribution of new and returned pool leads: region, course interest, round-robin, least load,
limits, the person a lead came back from, and the "leave in pool" fallback."""

from __future__ import annotations

from app.leads.pool import distribution as pool_distribution
from app.leads.pool import services as pool
from app.leads.pool import settings as pool_settings
from tables.accounts.tables import User
from tables.audit.tables import AuditEntry
from tables.notifications.tables import Notification
from tests.integration.leads_pool.helpers import make_lead, owner_of
from tests.support import make_team


async def _admin(make_user):
    return await make_user("admin")


async def test_region_rule_sends_haidian_leads_to_its_advisor_and_others_stay(make_user):
    admin = await _admin(make_user)
    haidian, other = await make_user("advisor"), await make_user("advisor")
    await pool_settings.add_rule(
        admin, {"match": "region", "city": "北京市", "district": "海淀区", "target_user": str(haidian.id)}
    )
    near = await make_lead(None, city="北京", district="海淀", student_name="李雷")
    far = await make_lead(None, city="上海", district="浦东")
    moved = await pool_distribution.distribute_leads([near, far])
    assert moved and moved[0][:2] == (near, haidian.id) and len(moved) == 1
    assert await owner_of(near) == haidian.id and await owner_of(far) is None and other.id != haidian.id
    entry = (
        await AuditEntry.select()
        .where((AuditEntry.entity_id == near) & (AuditEntry.action == "distribute"))
        .first()
        .output(load_json=True)
    )
    assert entry["changes"]["owner"] == [None, haidian.id]
    note = await Notification.select().where(Notification.recipient == haidian.id).first()
    assert note["kind"] == "lead_assigned" and "李雷" in note["title"]
    assert await pool_distribution.distribute_leads([near, far]) == []  # again: nothing moves


async def test_round_robin_in_a_team_takes_turns(make_user):
    admin = await _admin(make_user)
    team = await make_team("海淀组")
    people = [await make_user("advisor", team=team) for _ in range(3)]
    await make_user("advisor")  # not in the team
    await pool_settings.add_rule(admin, {"match": "any", "target_team": str(team), "method": "round_robin"})
    leads = [await make_lead(None) for _ in range(7)]
    await pool_distribution.distribute_leads(leads[:4])
    await pool_distribution.distribute_leads(leads[4:])  # the cursor is kept between passes
    owners = [await owner_of(lead) for lead in leads]
    ids = sorted(p.id for p in people)
    assert owners == [ids[0], ids[1], ids[2], ids[0], ids[1], ids[2], ids[0]]


async def test_least_load_fills_the_emptiest_and_respects_the_claim_limit(make_user):
    admin = await _admin(make_user)
    await pool_settings.save(admin, {"limit_advisor": "3"})
    busy, idle = await make_user("advisor"), await make_user("advisor")
    for _ in range(2):
        await make_lead(busy.id)
    await pool_settings.add_rule(admin, {"match": "any", "method": "least_load"})
    leads = [await make_lead(None) for _ in range(5)]
    await pool_distribution.distribute_leads(leads)
    owners = [await owner_of(lead) for lead in leads]
    # idle: 0,1,2 → gets three (ties go to the lower id); busy reaches 3; the fifth stays in the pool.
    assert owners.count(idle.id) == 3 and owners.count(busy.id) == 1 and owners.count(None) == 1
    assert await pool.held_count(busy.id) == 3 and await pool.held_count(idle.id) == 3


async def test_course_rule_comes_before_the_catch_all_and_inactive_people_are_skipped(make_user):
    admin = await _admin(make_user)
    maths, general, gone = await make_user("advisor"), await make_user("advisor"), await make_user("advisor")
    await User.update({User.is_active: False}).where(User.id == gone.id)
    await pool_settings.add_rule(admin, {"match": "course", "course": "奥数", "target_user": str(maths.id)})
    await pool_settings.add_rule(admin, {"match": "any", "target_user": str(general.id)})
    lead = await make_lead(None)
    lead_row = {"id": lead, "city": "", "district": "", "course_interests": ["英语", "奥数"]}
    worker = await pool_distribution.distributor()
    assert worker.choose(lead_row, None)[0] == maths.id
    assert worker.choose({**lead_row, "course_interests": "英语，书法"}, None)[0] == general.id
    assert worker.choose(lead_row, maths.id)[0] == general.id  # a returned lead never goes back


async def test_returned_lead_skips_its_previous_owner(make_user):
    admin = await _admin(make_user)
    first, second = await make_user("advisor"), await make_user("advisor")
    await pool_settings.add_rule(admin, {"match": "any", "method": "least_load"})
    lead = await make_lead(None)
    await pool_distribution.distribute_leads([lead], {lead: first.id})
    assert await owner_of(lead) == second.id


async def test_the_sweep_distributes_leads_created_after_the_pool_was_configured(make_user):
    admin = await _admin(make_user)
    advisor = await make_user("advisor")
    old = await make_lead(None)
    await pool_settings.load()  # the watermark is set at the newest lead
    await pool_settings.add_rule(admin, {"match": "any"})
    new = await make_lead(None)
    mine = await make_lead(advisor.id)
    moved = await pool_distribution.distribute_new()
    assert [(m[0], m[1]) for m in moved] == [(new, advisor.id)]
    assert await owner_of(old) is None and await owner_of(mine) == advisor.id
    assert await pool_distribution.distribute_new() == []


async def test_rule_input_errors_name_the_field(make_user):
    import pytest

    from app.core.errors import Forbidden, ValidationFailed

    admin, advisor = await _admin(make_user), await make_user("advisor")
    with pytest.raises(ValidationFailed) as bad:
        await pool_settings.add_rule(admin, {"match": "region", "method": "fastest", "target_user": "x"})
    assert set(bad.value.by_field()) == {"city", "method", "target_user"}
    with pytest.raises(ValidationFailed) as course:
        await pool_settings.add_rule(admin, {"match": "course"})
    assert set(course.value.by_field()) == {"course"}
    with pytest.raises(Forbidden):
        await pool_settings.add_rule(advisor, {"match": "any"})
    with pytest.raises(ValidationFailed) as days:
        await pool_settings.save(admin, {"no_follow_up_days": "-3", "limit_advisor": "abc"})
    assert set(days.value.by_field()) == {"no_follow_up_days", "limit_advisor"}
