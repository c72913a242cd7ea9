"""Security headers and script-free templates: every page of the demo school, walked as the admin,
answers with a Content-Security-Policy that forbids inline scripts, and its HTML has no inline
script, no `on*=` handler, no `style=""` and no `javascript:` link that such a policy would block."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from litestar.routes import HTTPRoute

from app.demo import data
from app.demo.seed import seed_demo
from tables.accounts.tables import Campus, Team, User
from tables.automation.tables import AutomationRule, ReplyTemplate
from tables.calendars.tables import BusinessCalendar
from tables.leads.tables import Lead
from tables.students.tables import Student
from tables.tickets.tables import Ticket, TicketType
from tests.support import login

SKIPPED_PREFIXES = ("/api", "/schema", "/static", "/ws", "/healthz", "/logout")
PARAM = re.compile(r"\{(\w+):\w+\}")


class _Blocked(HTMLParser):
    """Collects what a script-src 'self' / style-src 'self' policy would refuse to run or apply."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in names.items():
            if name.startswith("on") or name.startswith("hx-on"):
                self.found.append(f"{name}= on <{tag}>")
            if name == "style":
                self.found.append(f'style="{value}" on <{tag}>')
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}>")


def blocked_by_csp(html: str) -> list[str]:
    parser = _Blocked()
    parser.feed(html)
    return parser.found


def script_src(policy: str) -> str:
    return next(d for d in policy.split(";") if d.strip().startswith("script-src")).strip()


async def _first(table, *where) -> int | None:
    query = table.select(table.id).order_by(table.id)
    for condition in where:
        query = query.where(condition)
    row = await query.first()
    return row["id"] if row else None


async def _path_values() -> dict[str, object]:
    ticket_type = await TicketType.select(TicketType.id, TicketType.code).order_by(TicketType.id).first()
    return {
        "lead_id": await _first(Lead),
        "staff_id": await _first(User),
        "user_id": await _first(User),
        "team_id": await _first(Team),
        "campus_id": await _first(Campus),
        "calendar_id": await _first(BusinessCalendar),
        "type_id": ticket_type["id"],
        "code": ticket_type["code"],
        "priority": "normal",
        "ticket_id": await _first(Ticket),
        "rule_id": await _first(AutomationRule),
        "template_id": await _first(ReplyTemplate),
        "student_id": await _first(Student),
    }


async def test_every_page_of_the_demo_school_runs_no_inline_code_and_says_so_in_its_policy(app, client):
    await seed_demo()
    assert (await login(client, "admin", data.ADMIN_PASSWORD)).status_code in (302, 303)
    values = await _path_values()
    paths = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "GET" not in route.methods or route.path.startswith(SKIPPED_PREFIXES):
            continue
        names = PARAM.findall(route.path)
        if any(values.get(name) is None for name in names):
            continue  # a record the demo has none of (an import job, a public tracking token)
        paths.add(PARAM.sub(lambda m: str(values[m.group(1)]), route.path))
    assert {"/workbench", "/board", "/leads", f"/tickets/{values['ticket_id']}"} <= paths
    pages = 0
    for path in sorted(paths):
        for headers in ({}, {"HX-Request": "true", "HX-Target": "main"}):
            response = await client.get(path, headers=headers)
            assert response.status_code < 500, (path, response.text[:300])
            policy = response.headers.get("content-security-policy", "")
            assert "script-src 'self'" in policy and "unsafe-inline" not in script_src(policy), path
            assert "unsafe-eval" not in policy and "object-src 'none'" in policy, path
            assert response.headers["x-content-type-options"] == "nosniff", path
            if response.headers.get("content-type", "").startswith("text/html"):
                pages += 1
                assert blocked_by_csp(response.text) == [], (path, headers)
    assert pages > 60  # the walk really went through the pages, full and partial


async def test_static_files_api_and_errors_carry_the_headers_too(client, make_user, login):
    for path in ("/static/js/app.js", "/static/css/app.css", "/no/such/page", "/healthz", "/login"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "same-origin", path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
    assert "strict-transport-security" not in response.headers  # COOKIE_SECURE is off in tests


async def test_the_wall_display_may_be_framed_by_its_own_site_only_by_default(client, make_user, login):
    from app.tickets.board import displays

    admin = await make_user("admin")
    _display, token = await displays.create_display(admin, "前台大屏", None)
    response = await client.get("/board/display", params={"token": token})
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "unsafe-inline" not in script_src(policy)
    assert response.headers["referrer-policy"] == "no-referrer"  # the handler's own, stricter header wins
    assert blocked_by_csp(response.text) == []


async def test_the_api_explorer_allows_its_one_inline_script_by_hash_not_by_unsafe_inline(client):
    response = await client.get("/schema/swagger")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "'sha256-" in script_src(policy) and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
