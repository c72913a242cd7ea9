"""Pages: every screen renders, htmx gets only the main region, errors are styled, forms keep input."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from app.core.i18n import _catalogue
from app.core.permissions import ROLES
from app.leads import services as lead_services
from app.leads.policy import LEAD_ROLES
from app.notifications.services import ANNOUNCERS
from tables.leads.tables import Lead
from tables.notifications.tables import Announcement
from tests.support import post_form

PARTIAL = {"HX-Request": "true", "HX-Target": "main"}


def zh(msgid: str) -> str:
    return str(escape(_catalogue("zh_CN")[msgid]))


async def _admin_with_lead(make_user, login, client) -> tuple:
    admin = await make_user("admin", display_name="管理员")
    await login(client, admin)
    lead = await lead_services.create_lead(admin, {"student_name": "吴小华", "phone": "13800138000"})
    return admin, lead


async def test_every_page_renders_for_an_admin(client, make_user, login):
    _admin, lead = await _admin_with_lead(make_user, login, client)
    for url in [
        "/",
        "/leads",
        "/leads/new",
        f"/leads/{lead['id']}",
        f"/leads/{lead['id']}/edit",
        "/account",
        "/notifications",
        "/announcements",
        "/leads?status=new&q=吴",
        "/leads?scope=pool",
    ]:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.text.lstrip().startswith("<!doctype html>"), url
        assert 'id="main"' in response.text and "管理员" in response.text, url


@pytest.mark.parametrize("role", sorted(ROLES))
async def test_every_role_gets_its_pages_and_only_those(client, make_user, login, role):
    user = await make_user(role, display_name=f"用户-{role}")
    await login(client, user)
    for url in ["/", "/account", "/notifications"]:
        response = await client.get(url)
        assert response.status_code == 200 and f"用户-{role}" in response.text, url
    leads = await client.get("/leads")
    assert leads.status_code == (200 if role in LEAD_ROLES else 403)
    announcements = await client.get("/announcements")
    assert announcements.status_code == (200 if role in ANNOUNCERS else 403)
    assert ('href="/announcements"' in (await client.get("/")).text) == (role in ANNOUNCERS)


async def test_lead_pages_show_the_lead(client, make_user, login):
    _admin, lead = await _admin_with_lead(make_user, login, client)
    listing = await client.get("/leads")
    assert f'href="/leads/{lead["id"]}"' in listing.text and "吴小华" in listing.text
    detail = await client.get(f"/leads/{lead['id']}")
    assert "13800138000" in detail.text
    edit = await client.get(f"/leads/{lead['id']}/edit")
    assert 'name="version" value="1"' in edit.text and 'value="吴小华"' in edit.text


async def test_lead_list_filters_by_scope(client, make_user, login):
    advisor, admin = await make_user(), await make_user("admin")
    await lead_services.create_lead(advisor, {"student_name": "我的线索", "phone": "13800138000"})
    await lead_services.create_lead(admin, {"student_name": "公海线索", "phone": "13800138000"})
    await login(client, advisor)
    mine = (await client.get("/leads", params={"scope": "mine"})).text
    pool = (await client.get("/leads", params={"scope": "pool"})).text
    assert "我的线索" in mine and "公海线索" not in mine
    assert "公海线索" in pool and "我的线索" not in pool
    assert '<option value="pool" selected' in pool


async def test_htmx_navigation_gets_only_the_main_region(client, make_user, login):
    await _admin_with_lead(make_user, login, client)
    for url in ["/", "/leads", "/account", "/notifications"]:
        full = await client.get(url)
        partial = await client.get(url, headers=PARTIAL)
        assert partial.status_code == 200, url
        assert "<html" in full.text and "<html" not in partial.text, url
        assert "<title>" in partial.text, url
        assert re.search(r'<nav id="sidebar"[^>]*hx-swap-oob="true"', partial.text), url
        assert 'class="topbar"' in full.text and 'class="topbar"' not in partial.text, url
        assert "hx-swap-oob" not in full.text, url
        assert "HX-Request" in partial.headers.get("vary", ""), url


async def test_a_history_restore_request_gets_the_full_page(client, make_user, login):
    await _admin_with_lead(make_user, login, client)
    response = await client.get("/leads", headers={**PARTIAL, "HX-History-Restore-Request": "true"})
    assert "<html" in response.text


async def test_search_results_target_only_the_rows(client, make_user, login):
    await _admin_with_lead(make_user, login, client)
    response = await client.get(
        "/leads", params={"q": "吴"}, headers={"HX-Request": "true", "HX-Target": "lead-results"}
    )
    assert "吴小华" in response.text
    assert "<title>" not in response.text and 'class="filters"' not in response.text


async def test_unknown_page_is_a_styled_404(client, make_user, login):
    await _admin_with_lead(make_user, login, client)
    for url in ["/no-such-page", "/leads/999999"]:
        response = await client.get(url)
        assert response.status_code == 404, url
        assert 'class="error-page"' in response.text, url
        assert zh("Page not found") in response.text, url
        assert "<html" in response.text, url


async def test_missing_lead_is_a_404_inside_the_shell(client, make_user, login):
    await _admin_with_lead(make_user, login, client)
    response = await client.get("/leads/999999", headers=PARTIAL)
    assert response.status_code == 404
    assert 'class="error-page"' in response.text and "<html" not in response.text


async def test_announcements_cannot_be_sent_by_an_advisor(client, make_user, login):
    advisor = await make_user()
    await login(client, advisor)
    response = await post_form(client, "/announcements", {"title": "全体放假", "audience": "all"})
    assert response.status_code == 403
    assert 'class="error-page"' in response.text and zh("No permission") in response.text
    assert await Announcement.count() == 0


async def test_lead_form_errors_are_inline_and_keep_the_input(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)
    response = await post_form(
        client,
        "/leads",
        {"student_name": "", "guardian_name": "孙女士", "phone": "12", "wechat": "sun_mama", "note": "想报周末班"},
    )
    assert response.status_code == 422
    text = response.text
    for field in ("student_name", "phone"):
        assert re.search(
            rf'id="f-{field}"[^>]*aria-invalid="true"[^>]*aria-describedby="[^"]*f-{field}-error"', text
        ), field
    assert re.search(r'id="f-student_name-error">\s*' + re.escape(zh("Enter the student's name.")), text)
    assert 'id="f-guardian_name"' in text and not re.search(r'id="f-guardian_name"[^>]*aria-invalid', text)
    assert 'value="孙女士"' in text and 'value="sun_mama"' in text and 'value="12"' in text
    assert "想报周末班" in text
    assert await Lead.count() == 0


async def test_a_form_answered_in_place_is_not_pushed_into_history(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)
    failed = await post_form(client, "/leads", {"student_name": "", "phone": "12"}, headers=PARTIAL)
    assert failed.status_code == 422
    assert failed.headers.get("hx-push-url") == "false"  # the address bar keeps /leads/new
    page = await client.get("/leads/new", headers=PARTIAL)
    assert "hx-push-url" not in page.headers  # navigation itself is still pushed by hx-boost
    plain = await post_form(client, "/leads", {"student_name": "", "phone": "12"})
    assert "hx-push-url" not in plain.headers  # only htmx reads it


async def test_editing_a_lead_through_the_form(client, make_user, login):
    _admin, lead = await _admin_with_lead(make_user, login, client)
    response = await post_form(
        client,
        f"/leads/{lead['id']}",
        {"student_name": "吴小华", "phone": "13800138000", "status": "visited", "version": "1"},
    )
    assert response.status_code in (302, 303) and response.headers["location"] == f"/leads/{lead['id']}"
    stale = await post_form(
        client, f"/leads/{lead['id']}", {"student_name": "改名", "phone": "13800138000", "version": "1"}
    )
    assert stale.status_code == 409
    row = await Lead.select(Lead.student_name, Lead.status, Lead.version).where(Lead.id == lead["id"]).first()
    assert row == {"student_name": "吴小华", "status": "visited", "version": 2}


async def test_htmx_form_success_redirects_the_client(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)
    response = await post_form(
        client,
        "/leads",
        {"student_name": "郑一", "phone": "13800138000"},
        headers={"HX-Request": "true", "HX-Target": "main"},
    )
    lead_id = (await Lead.select(Lead.id).first())["id"]
    assert response.headers.get("hx-redirect") == f"/leads/{lead_id}"


async def test_delete_offers_undo_and_restore_brings_the_lead_back(client, make_user, login):
    _admin, lead = await _admin_with_lead(make_user, login, client)
    deleted = await post_form(client, f"/leads/{lead['id']}/delete", {}, headers=PARTIAL)
    assert deleted.status_code == 200
    assert f'action="/leads/{lead["id"]}/restore"' in deleted.text
    assert zh("Undo") in deleted.text
    assert f'href="/leads/{lead["id"]}"' not in deleted.text  # no longer in the list below
    assert (await client.get(f"/leads/{lead['id']}")).status_code == 404

    restored = await post_form(client, f"/leads/{lead['id']}/restore", {})
    assert restored.status_code in (302, 303) and restored.headers["location"] == f"/leads/{lead['id']}"
    assert (await client.get(f"/leads/{lead['id']}")).status_code == 200
    assert f'href="/leads/{lead["id"]}"' in (await client.get("/leads")).text


async def _lead_list_queries(client, count_queries, count: int) -> int:
    await Lead.delete(force=True)
    await Lead.insert(*[Lead(student_name=f"学员{n}", phone="13800138000") for n in range(count)])
    with count_queries() as statements:
        response = await client.get("/leads", params={"limit": 50})
    assert response.status_code == 200
    assert len(re.findall(r'<a href="/leads/\d+" hx-target="#main">', response.text)) == count  # all rendered
    return len(statements)


@pytest.mark.parametrize("role", ["admin", "supervisor"])
async def test_lead_list_runs_a_fixed_number_of_queries(client, make_user, login, count_queries, role):
    from tests.support import make_team, set_leader

    team = await make_team()
    user = await make_user(role, team=team)
    await set_leader(team, user.id)
    await login(client, user)
    with_5 = await _lead_list_queries(client, count_queries, 5)
    with_40 = await _lead_list_queries(client, count_queries, 40)
    assert with_5 == with_40
    assert 3 <= with_5 <= 10  # session user, visibility, count, rows, bell; never one per lead


async def test_an_unknown_url_answers_in_the_visitors_language(client):
    client.cookies.set("lang", "en")
    response = await client.get("/no-such-page-at-all")
    assert response.status_code == 404
    assert "Page not found" in response.text and zh("Page not found") not in response.text
    assert '<html lang="en">' in response.text
