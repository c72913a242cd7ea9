"""Lead services: phone rules, validation, ownership defaults, optimistic versions, audit, visibility."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from app.accounts import passwords
from app.core.audit import history
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.pagination import PageRequest
from app.leads import services
from app.leads.services import LeadFilter, normalise_phone
from tables.audit.tables import AuditEntry
from tables.leads.tables import Lead
from tests.support import make_campus, make_team, set_leader


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Real argon2 with test-sized cost: at production cost each user takes ~0.2 s here."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- phone numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138-0013-8000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("(010) 6234 5678", "01062345678"),  # Beijing keeps its 0 although 10 looks like a mobile start
        ("（021）5555-1234", "02155551234"),  # full-width brackets from a Chinese keyboard
        ("0755 1234 5678", "075512345678"),
        ("400-123-4567", "4001234567"),  # service numbers are dialled without a 0
        ("+1 650 253 0000", "+16502530000"),
        ("", ""),
    ],
)
def test_normalise_phone_accepts_real_numbers(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("garbage", ["abc", "call me", "123", "138001380001234567", "+86 999"])
def test_normalise_phone_rejects_garbage(garbage):
    assert normalise_phone(garbage) is None


# --- create ---------------------------------------------------------------------------------

GOOD = {"student_name": "李小明", "guardian_name": "李女士", "phone": "138 0013 8000", "source": "douyin"}


async def _create(user, **overrides):
    return await services.create_lead(user, {**GOOD, **overrides})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"student_name": "   "}, "student_name"),
        ({"phone": "not a phone"}, "phone"),
        ({"phone": "", "wechat": "", "email": ""}, "phone"),  # no way to reach the family
        ({"email": "li@example"}, "email"),
        ({"status": "maybe"}, "status"),
        ({"source": "tv"}, "source"),
        ({"next_follow_up_on": "next week"}, "next_follow_up_on"),
        ({"student_name": "长" * 101}, "student_name"),
        ({"owner": 999_999}, "owner"),
        ({"owner": "abc"}, "owner"),
        ({"campus": 999_999}, "campus"),
    ],
)
async def test_create_lead_rejects_bad_input_naming_the_field(make_user, overrides, field):
    admin = await make_user("admin")
    with pytest.raises(ValidationFailed) as caught:
        await _create(admin, **overrides)
    assert [e.field for e in caught.value.errors] == [field]
    assert await Lead.count() == 0


async def test_one_contact_channel_is_enough(make_user):
    admin = await make_user("admin")
    lead = await _create(admin, phone="", wechat="lixm_2015")
    assert (lead["phone"], lead["wechat"]) == ("", "lixm_2015")


async def test_create_lead_normalises_and_trims(make_user):
    admin = await make_user("admin")
    campus = await make_campus()
    lead = await _create(
        admin, student_name="  李小明 ", phone="+86 (010) 6234-5678", campus=str(campus), next_follow_up_on="2026-12-01"
    )
    assert lead["student_name"] == "李小明"
    assert lead["phone"] == "01062345678"
    assert lead["campus"] == campus
    assert lead["next_follow_up_on"].isoformat() == "2026-12-01"
    assert (lead["status"], lead["version"]) == ("new", 1)


async def test_advisor_cannot_assign_a_lead_to_someone_else(make_user):
    advisor, colleague = await make_user(), await make_user()
    with pytest.raises(ValidationFailed) as caught:
        await _create(advisor, owner=colleague.id)
    assert caught.value.by_field() == {"owner": "You cannot assign leads to this person."}
    assert await Lead.count() == 0


async def test_supervisor_may_assign_within_own_team_only(make_user):
    team = await make_team()
    supervisor = await make_user("supervisor", team=team)
    member, outsider = await make_user(team=team), await make_user()
    await set_leader(team, supervisor.id)
    lead = await _create(supervisor, owner=member.id)
    assert lead["owner"] == member.id
    with pytest.raises(ValidationFailed) as caught:
        await _create(supervisor, owner=outsider.id)
    assert set(caught.value.by_field()) == {"owner"}


async def test_owner_defaults_to_the_advisor_and_to_the_pool_for_an_admin(make_user):
    advisor, admin = await make_user(), await make_user("admin")
    assert (await _create(advisor))["owner"] == advisor.id
    assert (await _create(admin))["owner"] is None


async def test_roles_without_leads_cannot_create_or_list(make_user):
    teacher = await make_user("teacher")
    with pytest.raises(Forbidden):
        await _create(teacher)
    with pytest.raises(Forbidden):
        await services.list_leads(teacher, LeadFilter(), PageRequest())


# --- update, delete, restore, audit ---------------------------------------------------------


async def test_update_with_a_stale_version_conflicts_and_changes_nothing(make_user):
    advisor = await make_user()
    lead = await _create(advisor)
    await services.update_lead(advisor, lead["id"], {"status": "contacted"}, version=1)
    with pytest.raises(Conflict):
        await services.update_lead(advisor, lead["id"], {"status": "won", "grade": "初二"}, version=1)
    row = await Lead.select(Lead.status, Lead.grade, Lead.version).where(Lead.id == lead["id"]).first()
    assert row == {"status": "contacted", "grade": "", "version": 2}
    assert [e["action"] for e in await history("lead", lead["id"])] == ["update", "create"]


async def test_update_with_the_current_version_bumps_it(make_user):
    advisor = await make_user()
    lead = await _create(advisor)
    updated = await services.update_lead(advisor, lead["id"], {"grade": "三年级"}, version=lead["version"])
    assert (updated["grade"], updated["version"]) == ("三年级", 2)


async def test_update_validates_only_the_fields_sent(make_user):
    advisor = await make_user()
    lead = await _create(advisor)
    with pytest.raises(ValidationFailed) as caught:
        await services.update_lead(advisor, lead["id"], {"email": "nope"}, version=None)
    assert set(caught.value.by_field()) == {"email"}


async def test_every_change_is_audited_with_field_diffs(make_user):
    advisor = await make_user(display_name="王顾问")
    lead = await _create(advisor)
    lead_id = lead["id"]
    entries = await history("lead", lead_id)
    assert len(entries) == 1
    created = entries[0]
    assert (created["action"], created["actor_name"]) == ("create", "王顾问")
    assert created["changes"]["student_name"] == [None, "李小明"]
    assert created["changes"]["phone"] == [None, "13800138000"]
    assert created["changes"]["owner"] == [None, advisor.id]
    assert "note" not in created["changes"]  # empty values are not noise in the snapshot

    await services.update_lead(
        advisor, lead_id, {"status": "visited", "phone": "13800138000", "next_follow_up_on": "2026-12-01"}, version=1
    )
    update = (await history("lead", lead_id))[0]
    assert update["action"] == "update"
    # The phone was sent unchanged, so only real differences are recorded.
    assert update["changes"] == {"status": ["new", "visited"], "next_follow_up_on": [None, "2026-12-01"]}

    await services.delete_lead(advisor, lead_id)
    await services.restore_lead(advisor, lead_id)
    assert [e["action"] for e in await history("lead", lead_id)] == ["restore", "delete", "update", "create"]


async def test_an_update_that_changes_nothing_writes_no_audit_row(make_user):
    advisor = await make_user()
    lead = await _create(advisor)
    same = await services.update_lead(advisor, lead["id"], {"student_name": "李小明"}, version=1)
    assert same["version"] == 1
    assert (
        await AuditEntry.count().where((AuditEntry.entity_type == "lead") & (AuditEntry.entity_id == lead["id"])) == 1
    )


async def test_soft_delete_hides_the_lead_and_restore_brings_it_back(make_user):
    advisor = await make_user()
    lead = await _create(advisor)
    await services.delete_lead(advisor, lead["id"])
    assert (await services.list_leads(advisor, LeadFilter(), PageRequest())).total == 0
    with pytest.raises(NotFound):
        await services.get_lead(advisor, lead["id"])
    with pytest.raises(NotFound):
        await services.update_lead(advisor, lead["id"], {"grade": "初一"}, version=None)
    assert await Lead.count() == 1  # still stored

    restored = await services.restore_lead(advisor, lead["id"])
    assert restored["deleted_at"] is None
    listed = await services.list_leads(advisor, LeadFilter(), PageRequest())
    assert [i["id"] for i in listed.items] == [lead["id"]]


async def test_nobody_else_can_delete_or_restore_a_hidden_lead(make_user):
    owner, other = await make_user(), await make_user()
    lead = await _create(owner)
    with pytest.raises(NotFound):
        await services.delete_lead(other, lead["id"])
    await services.delete_lead(owner, lead["id"])
    with pytest.raises(NotFound):
        await services.restore_lead(other, lead["id"])
    assert (await Lead.select(Lead.deleted_at).where(Lead.id == lead["id"]).first())["deleted_at"] is not None


# --- listing --------------------------------------------------------------------------------


async def test_list_leads_respects_visibility(make_user):
    team = await make_team()
    leader = await make_user("supervisor", team=team)
    a, b = await make_user(team=team), await make_user(team=team)
    await set_leader(team, leader.id)
    admin = await make_user("admin")
    lead_a = (await _create(a, student_name="甲"))["id"]
    lead_b = (await _create(b, student_name="乙"))["id"]
    pooled = (await _create(admin, student_name="公海"))["id"]

    async def ids(user, **filters):
        return {i["id"] for i in (await services.list_leads(user, LeadFilter(**filters), PageRequest())).items}

    assert await ids(a) == {lead_a, pooled}
    assert await ids(b) == {lead_b, pooled}
    assert await ids(leader) == {lead_a, lead_b, pooled}
    assert await ids(admin) == {lead_a, lead_b, pooled}
    assert await ids(a, scope="mine") == {lead_a}
    assert await ids(a, scope="pool") == {pooled}
    with pytest.raises(NotFound):  # the detail page follows the same rule
        await services.get_lead(a, lead_b)


async def test_search_and_status_filters(make_user):
    admin = await make_user("admin")
    zhang = (await _create(admin, student_name="张三", guardian_name="张妈妈", phone="13900001111"))["id"]
    li = (await _create(admin, student_name="李四", guardian_name="Li Hua", phone="13800002222"))["id"]
    await services.update_lead(admin, li, {"status": "trial"}, version=None)

    async def ids(**filters):
        return [i["id"] for i in (await services.list_leads(admin, LeadFilter(**filters), PageRequest())).items]

    assert await ids(q="张") == [zhang]
    assert await ids(q="张妈妈") == [zhang]
    assert await ids(q="li hua") == [li]  # case-insensitive on names
    assert await ids(q="0000222") == [li]  # part of the phone
    assert await ids(status="trial") == [li]
    assert await ids(status="trial", q="张") == []
    assert await ids(status="unknown-status") == [li, zhang]  # an unknown status is ignored, newest first


async def test_pagination_totals(make_user):
    admin = await make_user("admin")
    for n in range(7):
        await _create(admin, student_name=f"学员{n}")
    first = await services.list_leads(admin, LeadFilter(), PageRequest(limit=3, offset=0))
    last = await services.list_leads(admin, LeadFilter(), PageRequest(limit=3, offset=6))
    assert (first.total, len(first.items), first.has_next, first.has_previous) == (7, 3, True, False)
    assert [i["student_name"] for i in first.items] == ["学员6", "学员5", "学员4"]
    assert (last.total, len(last.items), last.has_next, last.has_previous) == (7, 1, False, True)
    assert (last.first_index, last.last_index) == (7, 7)
    filtered = await services.list_leads(admin, LeadFilter(q="学员1"), PageRequest(limit=3))
    assert filtered.total == 1


@pytest.mark.parametrize(
    ("limit", "offset", "fields"),
    [
        ("0", "", {"limit"}),
        ("abc", "", {"limit"}),
        ("101", "", {"limit"}),
        ("5", "-1", {"offset"}),
        ("x", "y", {"limit", "offset"}),
    ],
)
def test_page_request_rejects_bad_numbers(limit, offset, fields):
    with pytest.raises(ValidationFailed) as caught:
        PageRequest.parse(limit, offset)
    assert set(caught.value.by_field()) == fields


def test_page_request_defaults():
    assert PageRequest.parse(None, "") == PageRequest(20, 0)
    assert PageRequest.parse("100", "40") == PageRequest(100, 40)
