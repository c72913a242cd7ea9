"""Login, logout, CSRF, throttling, password change and language switch through the real pages."""

from __future__ import annotations

import re

from markupsafe import escape

from app.accounts import sessions
from app.core.i18n import _catalogue
from tables.leads.tables import Lead
from tests.support import PASSWORD, csrf_headers, post_form

HTMX = {"HX-Request": "true"}


def zh(msgid: str) -> str:
    """The Chinese text the page must show for a msgid (escaped as the template escapes it)."""
    return str(escape(_catalogue("zh_CN")[msgid]))


async def _login_form_token(client) -> str:
    page = await client.get("/login")
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def test_unauthenticated_home_redirects_to_login(client):
    response = await client.get("/", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login?next=/"


async def test_unauthenticated_htmx_request_gets_a_client_redirect(client):
    response = await client.get("/leads", headers=HTMX, follow_redirects=False)
    assert response.headers.get("hx-redirect") == "/login?next=/leads"


async def test_wrong_password_rerenders_the_form_without_a_session(client, make_user, login):
    user = await make_user()
    response = await login(client, user, "wrong-pass-123")
    assert response.status_code == 422
    assert zh("Wrong username or password.") in response.text
    assert f'value="{user.username}"' in response.text  # the typed username is kept
    assert sessions.SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert sessions.SESSION_COOKIE not in client.cookies


async def test_login_sets_an_httponly_session_cookie_and_shows_the_user(client, make_user, login):
    user = await make_user(display_name="陈老师")
    response = await login(client, user)
    assert response.status_code == 302
    assert response.headers["location"] == "/workbench"  # the pending-tickets workbench is home
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{sessions.SESSION_COOKIE}="))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    home = await client.get("/")
    assert home.status_code == 200
    assert "陈老师" in home.text


async def test_login_follows_a_local_next_but_never_an_external_one(client, make_user):
    user = await make_user()
    for target, expected in [
        ("/leads?status=new", "/leads?status=new"),
        ("//evil.example", "/workbench"),
        ("https://evil.example/x", "/workbench"),
        ("/\\evil.example", "/workbench"),
    ]:
        client.cookies.clear()
        token = await _login_form_token(client)
        response = await client.post(
            "/login",
            data={"_csrf_token": token, "username": user.username, "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert response.status_code == 302, target
        assert response.headers["location"] == expected, target


async def test_control_characters_in_next_cannot_form_a_protocol_relative_url(client, make_user):
    # Browsers drop tabs and newlines from URLs, so a raw "/\t/evil.example" would act as "//evil.example".
    user = await make_user()
    token = await _login_form_token(client)
    response = await client.post(
        "/login",
        data={"_csrf_token": token, "username": user.username, "password": PASSWORD, "next": "/\t/evil.example"},
        follow_redirects=False,
    )
    location = response.headers["location"]
    assert location.startswith("/") and not re.search(r"[\t\r\n]", location)
    assert not re.sub(r"[\t\r\n]", "", location).startswith("//")


async def test_login_page_never_offers_an_external_next(client):
    page = await client.get("/login", params={"next": "//evil.example"})
    assert 'name="next" value="/workbench"' in page.text
    assert "evil.example" not in page.text


async def test_post_without_csrf_token_is_refused_and_changes_nothing(client, make_user, login):
    user = await make_user()
    await login(client, user)
    response = await client.post(
        "/leads", data={"student_name": "无令牌", "phone": "13800138000"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert await Lead.count() == 0
    # The same form with the token goes through, so the 403 was about the token.
    accepted = await post_form(client, "/leads", {"student_name": "有令牌", "phone": "13800138000"})
    assert accepted.status_code in (302, 303)
    assert await Lead.count() == 1


async def test_login_form_without_csrf_token_is_refused(client, make_user):
    user = await make_user()
    await client.get("/login")
    response = await client.post(
        "/login", data={"username": user.username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    assert sessions.SESSION_COOKIE not in client.cookies


async def test_logout_ends_the_session(client, make_user, login):
    user = await make_user()
    await login(client, user)
    old_session = client.cookies.get(sessions.SESSION_COOKIE)
    response = await post_form(client, "/logout", {})
    assert response.status_code in (302, 303) and response.headers["location"] == "/login"
    assert await sessions.session_user_id(old_session) is None
    client.cookies.set(sessions.SESSION_COOKIE, old_session)  # a copy of the old cookie is worthless
    again = await client.get("/", follow_redirects=False)
    assert again.status_code in (302, 303) and again.headers["location"].startswith("/login")


async def test_deactivating_a_user_ends_their_sessions(client, make_user, login):
    from tables.accounts.tables import User

    user = await make_user()
    await login(client, user)
    assert (await client.get("/")).status_code == 200
    await User.update({User.is_active: False}).where(User.id == user.id)
    response = await client.get("/", follow_redirects=False)
    assert response.status_code in (302, 303) and response.headers["location"].startswith("/login")


async def test_repeated_failures_throttle_the_login_form(client, make_user, login):
    user = await make_user()
    for _ in range(5):
        assert (await login(client, user, "wrong-pass-123")).status_code == 422
    response = await login(client, user)  # even the right password
    assert response.status_code == 429
    assert "失败次数过多" in response.text
    assert sessions.SESSION_COOKIE not in client.cookies


async def test_password_change_logs_out_the_users_other_sessions(client, make_user, login):
    user = await make_user()
    await login(client, user)
    here = client.cookies.get(sessions.SESSION_COOKIE)
    elsewhere = await sessions.start_session(user.id)  # the same user on another device
    response = await client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "new-secret-42", "confirm_password": "new-secret-42"},
        headers={**HTMX, "HX-Target": "password-card", **csrf_headers(client)},
    )
    assert response.status_code == 200
    assert 'id="password-card"' in response.text and "<html" not in response.text
    assert zh("Password changed. Other devices have been logged out.") in response.text
    assert await sessions.session_user_id(elsewhere) is None
    assert await sessions.session_user_id(here) == user.id
    assert (await client.get("/")).status_code == 200  # this device stays logged in

    client.cookies.set(sessions.SESSION_COOKIE, elsewhere)
    assert (await client.get("/", follow_redirects=False)).status_code in (302, 303)
    client.cookies.clear()
    assert (await login(client, user, PASSWORD)).status_code == 422
    assert (await login(client, user, "new-secret-42")).status_code == 302


async def test_password_change_with_errors_marks_the_fields(client, make_user, login):
    user = await make_user()
    await login(client, user)
    elsewhere = await sessions.start_session(user.id)
    response = await client.post(
        "/account/password",
        data={"current_password": "wrong-pass-1", "new_password": "short", "confirm_password": "other"},
        headers={**HTMX, "HX-Target": "password-card", **csrf_headers(client)},
    )
    assert response.status_code == 422
    for field in ("current_password", "new_password", "confirm_password"):
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', response.text), field
    assert await sessions.session_user_id(elsewhere) == user.id  # nothing was logged out


async def test_language_switch_sets_a_cookie_and_translates_pages(client, make_user, login):
    user = await make_user()
    await login(client, user)
    home = await client.get("/")
    assert "工作台" in home.text and "Dashboard" not in home.text
    assert '<html lang="zh-CN">' in home.text

    response = await post_form(client, "/lang", {"locale": "en", "next": "/leads"})
    assert response.status_code in (302, 303) and response.headers["location"] == "/leads"
    assert client.cookies.get("lang") == "en"
    home = await client.get("/")
    assert "Dashboard" in home.text and "工作台" not in home.text
    assert '<html lang="en">' in home.text

    # The choice is stored on the account, so it follows the user to a new browser.
    client.cookies.clear()
    await login(client, user)
    assert client.cookies.get("lang") == "en"


async def test_language_switch_rejects_an_unknown_locale(client):
    await client.get("/login")
    response = await post_form(client, "/lang", {"locale": "fr"})
    assert response.status_code == 422
    assert "lang" not in client.cookies


async def test_accept_language_picks_english_without_a_cookie(client):
    page = await client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "Log in" in page.text and "登录" not in page.text
