"""Merging duplicates: field picks, re-pointed references and audit entries, permissions, undo."""

from __future__ import annotations

import pytest

from app.core.audit import history
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.leads import merge, services
from app.leads.dedup.check import find_duplicates
from tables.leads.tables import Lead, LeadMatchKey
from tables.students.tables import Student


async def _pair(owner):
    a = await services.create_lead(
        owner,
        {
            "student_name": "张伟",
            "phone": "13800138000",
            "grade": "三年级",
            "course_interests": ["编程"],
            "source": "douyin",
        },
    )
    b = await services.create_lead(
        owner,
        {
            "student_name": "張 偉",
            "phone": "+86 139 0013 9000",
            "wechat": "zw88",
            "course_interests": ["数学"],
            "source": "referral",
            "guardian_name": "张先生",
        },
    )
    await services.update_lead(owner, b["id"], {"grade": "四年级"}, version=None)
    return a, b


async def test_merge_keeps_picked_values_joins_lists_and_moves_history(make_user):
    advisor = await make_user("advisor")
    a, b = await _pair(advisor)
    student = await Student.insert(Student(name="张伟", lead=b["id"])).returning(Student.id)
    merge_id = await merge.merge_leads(advisor, a["id"], b["id"], {"grade": b["id"], "guardian_name": b["id"]})
    survivor = await services.get_lead(advisor, a["id"])
    assert (survivor["grade"], survivor["guardian_name"], survivor["phone"]) == ("四年级", "张先生", "13800138000")
    assert survivor["phones"] == ["13900139000"] and survivor["course_interests"] == ["编程", "数学"]
    assert survivor["wechat"] == ""  # not picked: the survivor's own (empty) value stays
    gone = await services.get_lead(advisor, b["id"], include_deleted=True)
    assert gone["deleted_at"] is not None and gone["merged_into"] == a["id"]
    assert (await Student.select(Student.lead).where(Student.id == student[0]["id"]).first())["lead"] == a["id"]
    actions = [e["action"] for e in await history("lead", a["id"])]
    assert actions.count("create") == 2 and "merge" in actions  # b's history is readable from a
    assert [e["action"] for e in await history("lead", b["id"])] == ["merge"]
    # The merged lead is out of duplicate checks; the survivor answers for both numbers.
    hits = await find_duplicates({"student_name": "x", "phone": "13900139000"})
    assert [m.lead_id for m in hits] == [a["id"]]
    assert not await LeadMatchKey.exists().where(LeadMatchKey.lead == b["id"])
    assert merge_id


async def test_undo_from_the_recycle_bin_puts_everything_back(make_user):
    admin = await make_user("admin")
    a, b = await _pair(admin)
    await Student.insert(Student(name="张伟", lead=b["id"]))
    await merge.merge_leads(admin, a["id"], b["id"], {"grade": b["id"], "note": b["id"]})
    await services.update_lead(admin, a["id"], {"note": "合并后改过"}, version=None)
    await services.restore_lead(admin, b["id"])  # restoring a merged-away lead undoes the merge
    survivor = await services.get_lead(admin, a["id"])
    back = await services.get_lead(admin, b["id"])
    assert back["deleted_at"] is None and back["merged_into"] is None and back["grade"] == "四年级"
    assert survivor["grade"] == "三年级" and survivor["phones"] == [] and survivor["course_interests"] == ["编程"]
    assert survivor["note"] == "合并后改过"  # changed after the merge: kept
    assert await Student.count().where(Student.lead == b["id"]) == 1
    assert {e["action"] for e in await history("lead", b["id"])} >= {"create", "update", "merge", "unmerge"}
    assert "create" in [e["action"] for e in await history("lead", a["id"])]
    assert [m.lead_id for m in await find_duplicates({"student_name": "y", "phone": "13900139000"})] == [b["id"]]


async def test_only_admins_supervisors_or_the_owner_of_both_may_merge(make_user):
    owner, other = await make_user("advisor"), await make_user("advisor")
    admin = await make_user("admin")
    a, _ = await _pair(owner)
    c = await services.create_lead(admin, {"student_name": "张伟", "phone": "13700137000"})  # in the pool
    with pytest.raises(Forbidden):
        await merge.merge_leads(owner, a["id"], c["id"], {})  # visible, but not the owner of both
    with pytest.raises(NotFound):
        await merge.merge_leads(other, a["id"], c["id"], {})  # cannot even see a
    with pytest.raises(ValidationFailed):
        await merge.merge_leads(admin, a["id"], a["id"], {})
    with pytest.raises(ValidationFailed) as bad:
        await merge.merge_leads(admin, a["id"], c["id"], {"grade": 424242})
    assert bad.value.errors[0].field == "grade"
    assert await Lead.count().where(Lead.deleted_at.is_null()) == 3


async def test_follow_ups_move_to_the_survivor_and_back(make_user):
    from tables.follow_ups.tables import FollowUp

    admin = await make_user("admin")
    a, b = await _pair(admin)
    rows = await FollowUp.insert(FollowUp(lead=b["id"], author=admin.id, kind="phone", note="约试听")).returning(
        FollowUp.id
    )
    merge_id = await merge.merge_leads(admin, a["id"], b["id"], {})
    assert (await FollowUp.select(FollowUp.lead).where(FollowUp.id == rows[0]["id"]).first())["lead"] == a["id"]
    await merge.undo_merge(admin, merge_id)
    assert (await FollowUp.select(FollowUp.lead).where(FollowUp.id == rows[0]["id"]).first())["lead"] == b["id"]
