"""The recycle bin over HTTP and through its service: delete → in the bin → restore → back, purge now
(admins only), cascades on purge, the merged lead's undo, conflicts, visibility and the 30-day cron."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.clock import FrozenClock, system_clock
from app.core.pagination import PageRequest
from app.core.templates import DISPLAY_TZ
from app.leads import merge, services
from app.recycle import service
from app.recycle.kinds.students import delete_student
from app.tickets import deletion
from app.tickets import services as tickets
from app.tickets.types.defaults import ensure_default_types
from tables.audit.tables import AuditEntry
from tables.follow_ups.tables import FollowUp
from tables.leads.tables import Lead, LeadMatchKey, LeadMerge
from tables.students.tables import Student, StudentTag
from tables.teaching.tables import ClassGroup, Course, Enrollment
from tables.tickets.tables import Ticket, TicketActivity, TicketTag
from tests.support import login, post_form, repair, token_for

ZHANG = {"student_name": "张伟", "phone": "13800138000", "guardian_name": "张妈妈", "district": "海淀区"}


@pytest.fixture(autouse=True)
async def default_types():
    await ensure_default_types()


async def _bin(user, **filters):
    return await service.list_bin(user, service.BinFilter(**filters), PageRequest())


async def _audits(entity_type: str, entity_id: int, action: str) -> int:
    return await AuditEntry.count().where(
        (AuditEntry.entity_type == entity_type) & (AuditEntry.entity_id == entity_id) & (AuditEntry.action == action)
    )


async def _purges(kind: str, entity_id: int) -> list[dict]:
    rows = (
        await AuditEntry.select(AuditEntry.actor, AuditEntry.changes)
        .where(
            (AuditEntry.entity_type == "recycle_bin")
            & (AuditEntry.entity_id == entity_id)
            & (AuditEntry.action == "purge")
        )
        .output(load_json=True)
    )
    return [r for r in rows if r["changes"]["kind"][1] == kind]


async def test_a_deleted_lead_is_in_the_bin_and_restore_brings_it_back(client, make_user):
    advisor = await make_user("advisor")
    lead = await services.create_lead(advisor, ZHANG)
    await login(client, advisor)
    deleted = await post_form(client, f"/leads/{lead['id']}/delete", {})
    assert deleted.status_code == 200 and "/recycle?kind=lead" in deleted.text
    page = await client.get("/recycle")
    assert page.status_code == 200 and "张伟" in page.text and "回收站" in page.text
    assert "30 天后彻底删除" in page.text and "今天" in page.text
    assert "/purge" not in page.text  # advisors cannot purge
    restored = await post_form(
        client, f"/recycle/lead/{lead['id']}/restore", {}, headers={"HX-Request": "true", "HX-Target": "bin-results"}
    )
    assert restored.status_code == 200 and "已恢复" in restored.text and f'href="/leads/{lead["id"]}"' in restored.text
    assert (await Lead.select(Lead.deleted_at).where(Lead.id == lead["id"]).first())["deleted_at"] is None
    assert await LeadMatchKey.count().where(LeadMatchKey.lead == lead["id"]) > 0  # duplicate keys are back too
    assert await _audits("lead", lead["id"], "delete") == 1 and await _audits("lead", lead["id"], "restore") == 1
    assert (await client.get(f"/leads/{lead['id']}")).status_code == 200


async def test_purge_now_is_for_admins_only_and_takes_dependent_rows(client, make_user):
    admin, supervisor = await make_user("admin"), await make_user("supervisor")
    lead = await services.create_lead(admin, ZHANG)
    await FollowUp.insert(FollowUp(lead=lead["id"], kind="phone", note="打过电话"))
    await services.delete_lead(admin, lead["id"])
    await login(client, supervisor)
    refused = await post_form(client, f"/recycle/lead/{lead['id']}/purge", {"confirm": "yes"})
    assert refused.status_code == 403
    api_user = await token_for(supervisor)
    assert (await client.post(f"/recycle/lead/{lead['id']}/purge", headers=api_user)).status_code in (401, 403)
    assert await Lead.count().where(Lead.id == lead["id"]) == 1

    client.cookies.clear()
    await login(client, admin)
    unconfirmed = await post_form(client, f"/recycle/lead/{lead['id']}/purge", {})
    assert unconfirmed.status_code == 422 and await Lead.count() == 1
    purged = await post_form(client, f"/recycle/lead/{lead['id']}/purge", {"confirm": "yes"})
    assert purged.status_code == 200 and "已彻底删除" in purged.text
    assert await Lead.count() == 0
    assert await FollowUp.count() == 0 and await LeadMatchKey.count() == 0  # ON DELETE CASCADE
    assert await _purges("lead", lead["id"]) == [
        {"actor": admin.id, "changes": {"kind": [None, "lead"], "reason": [None, "manual"]}}
    ]
    # The purged lead's own history went with it: a later lead that gets the same id starts clean.
    assert (
        await AuditEntry.count().where((AuditEntry.entity_type == "lead") & (AuditEntry.entity_id == lead["id"])) == 0
    )
    again = await post_form(client, f"/recycle/lead/{lead['id']}/purge", {"confirm": "yes"})
    assert again.status_code == 404


async def test_a_merged_lead_shows_as_merged_and_restoring_it_undoes_the_merge(make_user):
    admin = await make_user("admin")
    a = await services.create_lead(admin, ZHANG)
    b = await services.create_lead(admin, {**ZHANG, "student_name": "Zhang Wei", "phone": "+86 138 0013 8000"})
    await FollowUp.insert(FollowUp(lead=b["id"], kind="phone"))
    await merge.merge_leads(admin, a["id"], b["id"], {})
    page = await _bin(admin)
    [item] = page.items
    assert item["id"] == b["id"] and item["merged"] and "张伟" in item["note"] and item["restore_label"] == "Undo merge"
    assert item["deleted_by"] == admin.id
    await service.restore(admin, "lead", b["id"])
    assert (await Lead.select(Lead.deleted_at, Lead.merged_into).where(Lead.id == b["id"]).first()) == {
        "deleted_at": None,
        "merged_into": None,
    }
    assert (await FollowUp.select(FollowUp.lead).first())["lead"] == b["id"]
    assert (await LeadMerge.select(LeadMerge.undone_at).first())["undone_at"] is not None
    assert (await _bin(admin)).total == 0


async def test_a_merged_lead_whose_survivor_is_in_the_bin_says_so(make_user):
    admin = await make_user("admin")
    a = await services.create_lead(admin, ZHANG)
    b = await services.create_lead(admin, {**ZHANG, "student_name": "Zhang Wei"})
    await merge.merge_leads(admin, a["id"], b["id"], {})
    await services.delete_lead(admin, a["id"])
    with pytest.raises(service.Conflict) as refused:
        await service.restore(admin, "lead", b["id"])
    assert "张伟" in refused.value.detail
    assert (await Lead.select(Lead.deleted_at).where(Lead.id == b["id"]).first())["deleted_at"] is not None


async def test_tickets_delete_from_the_page_undo_and_the_api(client, make_user):
    desk = await make_user("customer_service")
    ticket = await tickets.create_ticket(desk, repair())
    await login(client, desk)
    page = await client.get(f"/tickets/{ticket['id']}")
    assert f"/tickets/{ticket['id']}/delete" in page.text
    moved = await post_form(client, f"/tickets/{ticket['id']}/delete", {})
    assert moved.status_code == 200 and "已移到回收站" in moved.text
    assert (await client.get(f"/tickets/{ticket['id']}")).status_code == 404
    undone = await post_form(client, f"/recycle/ticket/{ticket['id']}/restore", {"from": "deleted"})
    assert undone.status_code in (302, 303) and undone.headers["location"] == f"/tickets/{ticket['id']}"
    assert (await client.get(f"/tickets/{ticket['id']}")).status_code == 200
    kinds = [
        r["kind"] for r in await TicketActivity.select(TicketActivity.kind).where(TicketActivity.ticket == ticket["id"])
    ]
    assert "deleted" in kinds and "restored" in kinds

    headers = await token_for(desk)
    assert (await client.delete(f"/api/v1/tickets/{ticket['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).status_code == 404
    teacher = await make_user("teacher")
    other = await tickets.create_ticket(teacher, repair("另一张"))
    refused = await client.delete(f"/api/v1/tickets/{other['id']}", headers=await token_for(teacher))
    assert refused.status_code == 403  # only the service desk deletes tickets


async def test_restoring_a_ticket_whose_parent_is_in_the_bin_is_refused_with_the_reason(client, make_user):
    admin = await make_user("admin")
    parent = await tickets.create_ticket(admin, repair("父工单"))
    child = await tickets.create_ticket(admin, repair("子工单", parent_id=parent["id"]))
    await deletion.delete_ticket(admin, child["id"])
    await deletion.delete_ticket(admin, parent["id"])
    await login(client, admin)
    refused = await post_form(client, f"/recycle/ticket/{child['id']}/restore", {})
    assert refused.status_code == 409 and parent["number"] in refused.text and "先恢复" in refused.text
    await service.restore(admin, "ticket", parent["id"])
    await service.restore(admin, "ticket", child["id"])
    assert await Ticket.count().where(Ticket.deleted_at.is_null()) == 2


async def test_purging_a_ticket_cascades_and_keeps_its_children(make_user):
    admin = await make_user("admin")
    parent = await tickets.create_ticket(admin, repair("父工单", tags=["投影仪"]))
    child = await tickets.create_ticket(admin, repair("子工单", parent_id=parent["id"]))
    await deletion.delete_ticket(admin, parent["id"])
    assert await TicketTag.count().where(TicketTag.ticket == parent["id"]) == 1
    await service.purge(admin, "ticket", parent["id"])
    assert await Ticket.count().where(Ticket.id == parent["id"]) == 0
    assert (
        await TicketTag.count() == 0 and await TicketActivity.count().where(TicketActivity.ticket == parent["id"]) == 0
    )
    assert (await Ticket.select(Ticket.parent).where(Ticket.id == child["id"]).first())["parent"] is None


async def test_students_purge_cascades_tags_and_refuses_with_enrolments(make_user):
    admin = await make_user("admin")
    rows = await Student.insert(Student(name="李雷", guardian_phone="13900139000"), Student(name="韩梅梅")).returning(
        Student.id
    )
    kept, gone = rows[0]["id"], rows[1]["id"]
    course = (await Course.insert(Course(name="数学")).returning(Course.id))[0]["id"]
    group = (await ClassGroup.insert(ClassGroup(name="数学一班", course=course)).returning(ClassGroup.id))[0]["id"]
    await Enrollment.insert(Enrollment(student=kept, class_group=group))
    await StudentTag.insert(StudentTag(student=gone, tag="VIP"))
    for student_id in (kept, gone):
        await delete_student(admin, student_id)
    listed = await _bin(admin, kind="student")
    assert {i["title"] for i in listed.items} == {"李雷", "韩梅梅"}
    with pytest.raises(service.Conflict):
        await service.purge(admin, "student", kept)
    await service.purge(admin, "student", gone)
    assert await Student.count() == 1 and await StudentTag.count() == 0


async def test_the_bin_shows_what_the_user_could_see_alive_and_filters(make_user):
    admin, one, two = await make_user("admin"), await make_user("advisor"), await make_user("advisor")
    mine = await services.create_lead(one, ZHANG)
    theirs = await services.create_lead(two, {"student_name": "王芳", "phone": "13900139000"})
    await services.delete_lead(one, mine["id"])
    await services.delete_lead(two, theirs["id"])
    ticket = await tickets.create_ticket(admin, repair())
    await deletion.delete_ticket(admin, ticket["id"])
    assert [i["id"] for i in (await _bin(one)).items] == [mine["id"]]  # not the other advisor's, no tickets
    everything = await _bin(admin)
    assert everything.total == 3 and {i["kind"] for i in everything.items} == {"lead", "ticket"}
    assert (await _bin(admin, kind="ticket")).total == 1
    assert [i["id"] for i in (await _bin(admin, deleted_by=two.id)).items] == [theirs["id"]]
    assert [i["id"] for i in (await _bin(admin, q="王")).items] == [theirs["id"]]
    today = system_clock.now().astimezone(DISPLAY_TZ).date()  # the filter's days are the school's days
    assert (await _bin(admin, deleted_from=today + timedelta(days=1))).total == 0
    assert (await _bin(admin, deleted_from=today - timedelta(days=1), deleted_to=today + timedelta(days=1))).total == 3
    with pytest.raises(service.NotFound):
        await service.restore(one, "lead", theirs["id"])
    people = await service.deleters_for_filter(admin)
    assert {p["id"] for p in people} == {admin.id, one.id, two.id}


async def test_the_cron_purges_only_what_is_30_days_old(make_user):
    admin = await make_user("admin")
    now = system_clock.now()
    old = await services.create_lead(admin, ZHANG)
    young = await services.create_lead(admin, {"student_name": "王芳", "phone": "13900139000"})
    await services.delete_lead(admin, old["id"], clock=FrozenClock(now - timedelta(days=31)))
    await services.delete_lead(admin, young["id"], clock=FrozenClock(now - timedelta(days=29)))
    listed = {i["id"]: i for i in (await _bin(admin)).items}
    assert listed[young["id"]]["days_ago"] == 29 and listed[young["id"]]["purge_in"] == 1
    assert listed[old["id"]]["purge_in"] == 0
    done = await service.purge_expired(FrozenClock(now))
    assert done["lead"] == 1
    assert [r["id"] for r in await Lead.select(Lead.id)] == [young["id"]]
    assert await _purges("lead", old["id"]) == [
        {"actor": None, "changes": {"kind": [None, "lead"], "reason": [None, "expired"]}}
    ]
    assert (await service.purge_expired(FrozenClock(now)))["lead"] == 0  # twice: nothing more
    assert (await service.purge_expired(FrozenClock(now + timedelta(days=1, minutes=1))))["lead"] == 1


async def _deleted_mix(admin, leads: int, tickets_: int) -> list[tuple]:
    """Leads and tickets deleted a minute apart, newest last, every third lead at the same moment as
    a ticket (ties across kinds); returns the expected bin order as (kind, id), newest first."""
    start, expected = system_clock.now() - timedelta(hours=2), []
    for n in range(max(leads, tickets_)):
        moment = FrozenClock(start + timedelta(minutes=n))
        if n < leads:
            lead = await services.create_lead(admin, {"student_name": f"学生{n}", "phone": f"1380013{n:04d}"})
            await services.delete_lead(admin, lead["id"], clock=moment)
            expected.append((moment.now(), "lead", lead["id"]))
        if n < tickets_:
            ticket = await tickets.create_ticket(admin, repair(f"工单{n}"))
            later = moment if n % 3 == 0 else FrozenClock(moment.now() + timedelta(seconds=30))
            await deletion.delete_ticket(admin, ticket["id"], clock=later)
            expected.append((later.now(), "ticket", ticket["id"]))
    return [(kind, item_id) for _, kind, item_id in sorted(expected, reverse=True)]


async def test_pages_across_kinds_follow_the_deletion_order_without_gaps_or_repeats(make_user):
    admin = await make_user("admin")
    expected = await _deleted_mix(admin, leads=13, tickets_=12)
    seen = []
    for offset in (0, 10, 20, 30):
        page = await service.list_bin(admin, service.BinFilter(), PageRequest(limit=10, offset=offset))
        assert page.total == 25
        seen.append([(i["kind"], i["id"]) for i in page.items])
        assert all(i["title"] and i["kind_label"] and i["deleted_by"] == admin.id for i in page.items)
    assert [len(p) for p in seen] == [10, 10, 5, 0]
    assert [item for p in seen for item in p] == expected
    leads_only = await service.list_bin(admin, service.BinFilter(kind="lead"), PageRequest(limit=5, offset=10))
    assert (
        leads_only.total == 13
        and [(i["kind"], i["id"]) for i in leads_only.items] == [item for item in expected if item[0] == "lead"][10:15]
    )


async def test_a_page_keeps_the_filters_and_what_the_user_may_see(make_user):
    admin, one, two = await make_user("admin"), await make_user("advisor"), await make_user("advisor")
    expected = await _deleted_mix(admin, leads=4, tickets_=4)
    own = {one.id: [], two.id: []}
    for n in range(12):  # the advisors' own leads, interleaved, deleted after the admin's
        advisor = one if n % 3 else two
        lead = await services.create_lead(advisor, {"student_name": f"顾问学生{n}", "phone": f"1390013{n:04d}"})
        await services.delete_lead(advisor, lead["id"])
        own[advisor.id].insert(0, lead["id"])
    pages = [await service.list_bin(one, service.BinFilter(), PageRequest(limit=3, offset=o)) for o in (0, 3, 6, 9)]
    # Theirs, then the admin's unowned (pool) leads; none of the other advisor's leads, no ticket.
    pool = [item_id for kind, item_id in expected if kind == "lead"]
    assert {p.total for p in pages} == {12}
    assert [i["id"] for p in pages for i in p.items] == own[one.id] + pool
    by_admin = await service.list_bin(admin, service.BinFilter(deleted_by=admin.id), PageRequest(limit=3, offset=3))
    assert by_admin.total == 8 and [(i["kind"], i["id"]) for i in by_admin.items] == expected[3:6]
    searched = await service.list_bin(admin, service.BinFilter(q="工单"), PageRequest(limit=2, offset=2))
    assert (
        searched.total == 4
        and [(i["kind"], i["id"]) for i in searched.items] == [item for item in expected if item[0] == "ticket"][2:4]
    )


async def test_listing_the_bin_reads_a_fixed_number_of_queries(make_user, count_queries):
    """Two queries per kind (its count, its window of keys), plus its rows and "deleted by" for each
    kind on the page: the same for the first page and a deep one, whatever the page holds."""
    admin = await make_user("admin")
    await _deleted_mix(admin, leads=15, tickets_=15)
    counts = []
    for limit, offset in ((20, 0), (20, 10), (5, 25)):
        with count_queries() as statements:
            page = await service.list_bin(admin, service.BinFilter(), PageRequest(limit=limit, offset=offset))
        counts.append(len(statements))
        assert len(page.items) == min(limit, 30 - offset) and {i["kind"] for i in page.items} == {"lead", "ticket"}
    assert counts == [3 * 2 + 2 * 2] * 3  # count + window for 3 kinds; rows + deleted-by for the 2 shown


async def test_delete_restore_and_purge_are_audited_and_emit_events(make_user):
    from app.core.events import Event
    from app.core.redis import get_redis
    from app.settings import get_settings

    subscriber = get_redis().pubsub()  # the events as every web process receives them
    await subscriber.subscribe(get_settings().redis.events_channel)
    await subscriber.get_message(timeout=1)  # the subscribe confirmation

    async def published(kind: str) -> list[str]:
        names = []
        while (message := await subscriber.get_message(timeout=0.3)) is not None:
            if message["type"] == "message":
                names.append(Event.from_json(message["data"]).name)
        return [n for n in names if n.startswith(f"{kind}.")]

    admin = await make_user("admin")
    ticket = await tickets.create_ticket(admin, repair())
    lead = await services.create_lead(admin, ZHANG)
    student = (await Student.insert(Student(name="李雷")).returning(Student.id))[0]["id"]
    await published("")  # what creating them published
    for kind, item, delete in (
        ("ticket", ticket["id"], deletion.delete_ticket),
        ("lead", lead["id"], services.delete_lead),
        ("student", student, delete_student),
    ):
        await delete(admin, item, ip="10.0.0.7")
        await service.restore(admin, kind, item, ip="10.0.0.7")
        await delete(admin, item)
        await service.purge(admin, kind, item, ip="10.0.0.7")
        assert await published(kind) == [f"{kind}.deleted", f"{kind}.restored", f"{kind}.deleted", f"{kind}.purged"]
        rows = (
            await AuditEntry.select(AuditEntry.actor, AuditEntry.ip, AuditEntry.changes)
            .where(
                (AuditEntry.entity_type == "recycle_bin")
                & (AuditEntry.entity_id == item)
                & (AuditEntry.action == "purge")
            )
            .output(load_json=True)
        )
        [purge] = [r for r in rows if r["changes"]["kind"][1] == kind]
        assert (purge["actor"], purge["ip"]) == (admin.id, "10.0.0.7")
    await subscriber.aclose()
