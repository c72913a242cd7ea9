"""Administration pages are enforced on the server, not only hidden in the navigation."""

from __future__ import annotations

from tables.accounts.tables import Team, User
from tests.support import post_form


async def test_non_admins_get_403_and_change_nothing(client, make_user, login):
    supervisor = await make_user("supervisor")
    await login(client, supervisor)

    page = await client.get("/admin/staff")
    home = await client.get("/admin")
    created = await post_form(
        client, "/admin/staff", {"username": "mallory", "password": "pw-123456", "role": "admin", "display_name": "M"}
    )
    team = await post_form(client, "/admin/teams", {"name": "影子团队"})

    assert page.status_code == 403 and "error-page" in page.text and home.status_code == 403
    assert created.status_code == 403 and team.status_code == 403
    assert not await User.exists().where(User.username == "mallory")
    assert await Team.count() == 0
    assert "/admin/staff" not in (await client.get("/")).text  # and the menu does not offer it


async def test_admin_creates_a_staff_member_through_the_form(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)

    home = await client.get("/admin")
    assert home.status_code in (302, 303) and home.headers["location"] == "/admin/staff"

    bad = await post_form(
        client, "/admin/staff", {"username": "x", "password": "short", "role": "advisor", "display_name": "王老师"}
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text and 'value="王老师"' in bad.text

    good = await post_form(
        client,
        "/admin/staff",
        {"username": "wanglaoshi", "password": "good-pass-1", "role": "teacher", "display_name": "王老师"},
    )
    assert good.status_code in (302, 303)
    row = await User.select(User.id, User.role).where(User.username == "wanglaoshi").first()
    assert row["role"] == "teacher"
    detail = await client.get(f"/admin/staff/{row['id']}")
    assert detail.status_code == 200 and "王老师" in detail.text
