"""Reclaim rules with a controllable clock: a day's notice first (once), then the return (once)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.core.clock import FrozenClock, system_clock
from app.leads.follow_ups import services as follow_ups
from app.leads.pool import reclaim as pool_reclaim
from app.leads.pool import services as pool
from app.leads.pool import settings as pool_settings
from tables.audit.tables import AuditEntry
from tables.follow_ups.tables import LeadPoolNotice
from tables.notifications.tables import Notification
from tests.integration.leads_pool.helpers import make_lead, owner_of


async def _configure(make_user, **values):
    admin = await make_user("admin")
    await pool_settings.save(admin, {k: str(v) for k, v in values.items()})
    return admin


async def _notes(user_id: int, kind: str) -> list[dict]:
    return await Notification.select().where((Notification.recipient == user_id) & (Notification.kind == kind))


async def test_no_follow_up_for_n_days_notice_a_day_before_then_return(make_user):
    await _configure(make_user, no_follow_up_days=7)
    advisor = await make_user("advisor")
    start = system_clock.now() - timedelta(days=6, hours=12)
    lead = await make_lead(advisor.id, created_at=start, student_name="王小明")

    early = await pool_reclaim.reclaim_leads(FrozenClock(start + timedelta(days=5)))
    assert early == {} and await _notes(advisor.id, "lead_reclaim_notice") == []

    day_before = FrozenClock(start + timedelta(days=6, hours=1))
    first, second = await asyncio.gather(pool_reclaim.reclaim_leads(day_before), pool_reclaim.reclaim_leads(day_before))
    assert first["notice"] + second["notice"] == 1 and not first["reclaim"] and not second["reclaim"]
    notices = await _notes(advisor.id, "lead_reclaim_notice")
    assert len(notices) == 1 and "王小明" in notices[0]["title"]
    assert await owner_of(lead) == advisor.id

    assert await pool_reclaim.reclaim_leads(day_before) == {}  # the same day again: nothing new
    due = FrozenClock(start + timedelta(days=7, hours=1))
    results = await asyncio.gather(pool_reclaim.reclaim_leads(due), pool_reclaim.reclaim_leads(due))
    assert sum(r["reclaim"] for r in results) == 1
    assert await owner_of(lead) is None
    assert len(await _notes(advisor.id, "lead_reclaim_notice")) == 1
    returned = await _notes(advisor.id, "lead_reclaimed")
    assert len(returned) == 1 and "王小明" in returned[0]["title"]
    entries = (
        await AuditEntry.select()
        .where((AuditEntry.entity_id == lead) & (AuditEntry.action == "reclaim"))
        .output(load_json=True)
    )
    assert [e["changes"] for e in entries] == [{"owner": [advisor.id, None], "reason": [None, "no_follow_up"]}]
    assert entries[0]["actor"] is None


async def test_a_follow_up_restarts_the_countdown(make_user):
    await _configure(make_user, no_follow_up_days=7)
    advisor = await make_user("advisor")
    start = system_clock.now() - timedelta(days=6, hours=12)
    lead = await make_lead(advisor.id, created_at=start)
    day_before = FrozenClock(start + timedelta(days=6, hours=1))
    assert (await pool_reclaim.reclaim_leads(day_before))["notice"] == 1
    await follow_ups.add_follow_up(advisor, {"kind": "phone", "outcome": "reached"}, lead_id=lead, clock=day_before)
    later = FrozenClock(start + timedelta(days=7, hours=2))
    assert await pool_reclaim.reclaim_leads(later) == {}
    assert await owner_of(lead) == advisor.id
    # Seven days after that follow-up the countdown ends again: a new notice, then the return.
    notice_again = FrozenClock(day_before.now() + timedelta(days=6, hours=1))
    assert (await pool_reclaim.reclaim_leads(notice_again))["notice"] == 1
    assert await LeadPoolNotice.count() == 2
    final = FrozenClock(notice_again.now() + timedelta(days=1))
    assert (await pool_reclaim.reclaim_leads(final))["reclaim"] == 1 and await owner_of(lead) is None


async def test_an_overdue_lead_gets_its_full_day_of_notice(make_user):
    await _configure(make_user, no_follow_up_days=3)
    advisor = await make_user("advisor")
    now = system_clock.now()
    lead = await make_lead(advisor.id, created_at=now - timedelta(days=30))
    assert (await pool_reclaim.reclaim_leads(FrozenClock(now)))["notice"] == 1
    assert await pool_reclaim.reclaim_leads(FrozenClock(now + timedelta(hours=12))) == {}
    assert await owner_of(lead) == advisor.id
    assert (await pool_reclaim.reclaim_leads(FrozenClock(now + timedelta(hours=23))))["reclaim"] == 1


async def test_not_converted_in_m_days_returns_even_with_follow_ups_but_signed_leads_stay(make_user):
    await _configure(make_user, not_converted_days=30)
    advisor = await make_user("advisor")
    start = system_clock.now() - timedelta(days=40)
    busy = await make_lead(advisor.id, created_at=start)
    signed = await make_lead(advisor.id, created_at=start, status="won")
    await follow_ups.add_follow_up(advisor, {"kind": "visit", "note": "到访"}, lead_id=busy)
    now = system_clock.now()
    assert (await pool_reclaim.reclaim_leads(FrozenClock(now)))["notice"] == 1
    assert (await pool_reclaim.reclaim_leads(FrozenClock(now + timedelta(days=1))))["reclaim"] == 1
    assert await owner_of(busy) is None and await owner_of(signed) == advisor.id


async def test_a_claim_starts_the_countdown_not_the_lead_creation(make_user):
    await _configure(make_user, no_follow_up_days=7)
    advisor = await make_user("advisor")
    lead = await make_lead(None, created_at=system_clock.now() - timedelta(days=100))
    await pool.claim(advisor, lead)
    assert await pool_reclaim.reclaim_leads(FrozenClock(system_clock.now() + timedelta(days=5))) == {}
    assert (await pool_reclaim.reclaim_leads(FrozenClock(system_clock.now() + timedelta(days=6, hours=1))))[
        "notice"
    ] == 1


async def test_rules_off_by_default_reclaim_nothing(make_user):
    advisor = await make_user("advisor")
    lead = await make_lead(advisor.id, created_at=system_clock.now() - timedelta(days=400))
    assert await pool_reclaim.reclaim_leads(FrozenClock(system_clock.now())) == {}
    assert await owner_of(lead) == advisor.id
