"""Under the Content-Security-Policy the busy pages still work in a real browser: the ticket page
with its presence reports (static/js/presence.js), the board with a drag (Sortable.js, htmx), the
workbench, htmx navigation between them; the browser reports no violation on any of them. The
skip link is the first stop of the keyboard and lands on the main region."""

from __future__ import annotations

from app.tickets import services
from app.tickets.services import Draft
from app.tickets.types.defaults import ensure_default_types
from tests.support import browser_log_in, make_campus

# Playwright's init scripts are not subject to the page's policy, so this listener sees every
# violation from the first byte on; console errors catch what the browser logs instead.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


async def _watched(browser, base: str, username: str):
    page = await browser_log_in(browser, base, username)
    await page.context.add_init_script(WATCH)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


async def _violations(page) -> list[str]:
    return await page.evaluate("window.__csp || []")


async def test_ticket_board_and_workbench_run_under_the_policy(servers, browser, make_user):
    base = servers[0]
    await ensure_default_types()
    campus = await make_campus()
    alice = await make_user("customer_service", campus=campus, display_name="王客服")
    bob = await make_user("customer_service", campus=campus, display_name="李客服")
    ticket = await services.create_ticket(
        alice, Draft(type="repair", title="302 教室投影仪不亮", fields={"location": "302", "equipment": "投影仪"})
    )

    first, first_errors = await _watched(browser, base, alice.username)
    second, second_errors = await _watched(browser, base, bob.username)

    # Workbench (the home page), then the skip link: first Tab stop, visible, and it lands on #main.
    await first.goto(f"{base}/workbench")
    await first.keyboard.press("Tab")
    skip = first.locator(".skip-link")
    assert await skip.evaluate("el => el === document.activeElement")
    box = await skip.bounding_box()
    assert box is not None and box["y"] >= 0  # on screen while focused
    await first.keyboard.press("Enter")
    assert await first.evaluate("document.activeElement.id") == "main"

    # Presence: each sees the other on the ticket, and sees them start replying.
    await first.goto(f"{base}/tickets/{ticket['id']}")
    await second.goto(f"{base}/tickets/{ticket['id']}")
    presence = f"#presence-{ticket['id']}"
    await first.wait_for_selector(f"{presence} .presence-person:has-text('李客服')", timeout=5000)
    await second.wait_for_selector(f"{presence} .presence-person:has-text('王客服')", timeout=5000)
    await second.locator("textarea[name=body]").press_sequentially("马上来")
    await first.wait_for_selector(f"{presence} .presence-person.is-typing", timeout=5000)
    # Bob leaves by htmx navigation (the shell stays): Alice sees him go.
    await second.locator("#sidebar a[href='/board']").first.click()
    await second.wait_for_selector("#board-live[data-state=live]", timeout=5000)
    await first.wait_for_selector(f"{presence} .presence-person", state="detached", timeout=5000)

    # The board (board.js arrives with the htmx swap) and a drag with Sortable.js.
    await second.wait_for_selector(f"#cards-status-new #card-{ticket['id']}")
    await second.locator(f"#card-{ticket['id']}").drag_to(second.locator("#cards-status-in_progress"))
    await second.wait_for_selector(f"#cards-status-in_progress #card-{ticket['id']}[data-version='2']", timeout=5000)
    assert (await services.get_ticket(alice, ticket["id"]))["status"] == "in_progress"

    await first.goto(f"{base}/board")
    await first.wait_for_selector("#board-live[data-state=live]", timeout=5000)
    await first.locator("#sidebar a[href='/workbench']").first.click()
    await first.wait_for_selector("#main #workbench-follow", state="attached", timeout=5000)

    for page, errors in ((first, first_errors), (second, second_errors)):
        assert await _violations(page) == []
        assert errors == []
