"""Administration rules: staff changes, teams' parent chain, campuses."""

from __future__ import annotations

import pytest

from app.accounts import org, sessions, staff
from app.accounts.services import authenticate, issue_api_token, user_for_token
from app.core import audit
from app.core.errors import Forbidden, ValidationFailed
from tests.support import PASSWORD, make_campus, make_team


def _form(member: dict, **changes) -> dict:
    base = {k: member[k] for k in ("display_name", "email", "phone", "role", "campus", "team")}
    base["is_active"] = "1" if member["is_active"] else ""
    return {**base, **changes}


async def test_only_admins_manage_staff(make_user):
    supervisor = await make_user("supervisor")
    advisor = await make_user("advisor")
    with pytest.raises(Forbidden):
        await staff.get_staff(supervisor, advisor.id)
    with pytest.raises(Forbidden):
        await org.save_team(supervisor, {"name": "销售三组"})


async def test_changing_a_role_is_audited_with_the_diff(make_user):
    admin = await make_user("admin")
    advisor = await make_user("advisor")
    member = await staff.get_staff(admin, advisor.id)

    updated = await staff.update_staff(admin, advisor.id, _form(member, role="supervisor"))

    assert updated["role"] == "supervisor"
    entries = await audit.history("user", advisor.id)
    assert entries[0]["action"] == "update"
    assert entries[0]["changes"] == {"role": ["advisor", "supervisor"]}


async def test_deactivation_logs_out_and_blocks_login_and_tokens(make_user):
    admin = await make_user("admin")
    teacher = await make_user("teacher")
    session_id = await sessions.start_session(teacher.id)
    token = await issue_api_token(teacher, "timetable sync")
    member = await staff.get_staff(admin, teacher.id)

    await staff.update_staff(admin, teacher.id, _form(member, is_active=""))

    assert await sessions.session_user_id(session_id) is None
    assert await user_for_token(token) is None
    with pytest.raises(ValidationFailed):
        await authenticate(teacher.username, PASSWORD)


async def test_an_admin_cannot_lock_themselves_out(make_user):
    admin = await make_user("admin")
    member = await staff.get_staff(admin, admin.id)
    for change in ({"role": "advisor"}, {"is_active": ""}):
        with pytest.raises(ValidationFailed) as caught:
            await staff.update_staff(admin, admin.id, _form(member, **change))
        assert caught.value.errors[0].message == "You cannot remove your own admin access."
    assert (await staff.get_staff(admin, admin.id))["role"] == "admin"


async def test_bad_references_name_the_field_and_change_nothing(make_user):
    admin = await make_user("admin")
    advisor = await make_user("advisor")
    member = await staff.get_staff(admin, advisor.id)
    with pytest.raises(ValidationFailed) as caught:
        await staff.update_staff(admin, advisor.id, _form(member, team="99999", role="wizard", display_name=""))
    assert set(caught.value.by_field()) == {"team", "role", "display_name"}
    assert await staff.get_staff(admin, advisor.id) == member


async def test_reset_password_checks_strength_and_ends_sessions(make_user):
    admin = await make_user("admin")
    advisor = await make_user("advisor")
    session_id = await sessions.start_session(advisor.id)
    with pytest.raises(ValidationFailed):
        await staff.reset_password(admin, advisor.id, "1234")
    assert await sessions.session_user_id(session_id) == advisor.id

    await staff.reset_password(admin, advisor.id, "new-secret-9")

    assert await sessions.session_user_id(session_id) is None
    assert (await authenticate(advisor.username, "new-secret-9")).id == advisor.id


async def test_a_team_cannot_become_its_own_ancestor(make_user):
    admin = await make_user("admin")
    top = await make_team("销售部")
    middle = await make_team("销售一组", parent=top)
    bottom = await make_team("一组A", parent=middle)

    with pytest.raises(ValidationFailed) as caught:
        await org.save_team(admin, {"name": "销售部", "parent": str(bottom)}, top)
    assert "parent" in caught.value.by_field()
    with pytest.raises(ValidationFailed):
        await org.save_team(admin, {"name": "销售部", "parent": str(top)}, top)

    moved = await org.save_team(admin, {"name": "一组A", "parent": str(top)}, bottom)
    assert moved == bottom
    assert (await audit.history("team", bottom))[0]["changes"] == {"parent": [middle, top]}


async def test_team_leader_must_exist(make_user):
    admin = await make_user("admin")
    with pytest.raises(ValidationFailed) as caught:
        await org.save_team(admin, {"name": "客服组", "leader": "424242"})
    assert caught.value.by_field() == {"leader": "Unknown user."}


async def test_campus_codes_and_time_zones_are_validated(make_user):
    admin = await make_user("admin")
    await make_campus("北京海淀校区")
    with pytest.raises(ValidationFailed) as caught:
        await org.save_campus(admin, {"name": "北京海淀校区", "code": "", "timezone": "Mars/Olympus"})
    assert set(caught.value.by_field()) == {"name", "code", "timezone"}

    campus_id = await org.save_campus(admin, {"name": "深圳南山校区", "code": "NS", "timezone": "Asia/Shanghai"})
    assert (await audit.history("campus", campus_id))[0]["changes"]["code"] == [None, "NS"]
