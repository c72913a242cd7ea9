"""Two people on the board, each on a different web process: one drags a card, the other sees it
move within a second, without a reload and without losing their scroll position; the campus's
wall display follows as well."""

from __future__ import annotations

import time

from app.tickets import services
from app.tickets.board import displays
from app.tickets.services import Draft
from app.tickets.types.defaults import ensure_default_types
from tests.support import browser_log_in, make_campus


async def _board(browser, base: str, username: str, width: int = 1000, height: int = 700):
    page = await browser_log_in(browser, base, username, width, height)
    await page.goto(f"{base}/board")
    # The server swaps the badge to "live" once it holds this tab's board subscription.
    await page.wait_for_selector("#board-live[data-state=live]", timeout=5000)
    return page


async def _scroll_state(page) -> list[float]:
    return await page.evaluate("[document.getElementById('board-columns').scrollLeft, window.scrollY]")


async def _first_visible_card(page, column: str) -> list:
    """The card at the top of a scrolled column and its offset: what the eye is on."""
    return await page.evaluate(
        """(column) => {
          const list = document.getElementById(column), top = list.getBoundingClientRect().top;
          const card = [...list.querySelectorAll('.board-card')].find(c => c.getBoundingClientRect().bottom > top + 1);
          return [card.id, Math.round(card.getBoundingClientRect().top - top)];
        }""",
        column,
    )


async def test_a_card_dragged_on_one_process_moves_on_the_other(servers, browser, make_user):
    web_a, web_b = servers
    await ensure_default_types()
    campus = await make_campus()
    mover = await make_user("customer_service", campus=campus, display_name="王客服")
    watcher = await make_user("customer_service", campus=campus, display_name="李客服")
    tickets = [
        await services.create_ticket(
            mover, Draft(type="repair", title=f"{n} 教室投影仪不亮", fields={"location": str(n), "equipment": "投影仪"})
        )
        for n in range(301, 315)
    ]
    dragged = tickets[-1]  # newest: the first card of "new"
    admin = await make_user("admin")
    _display, token = await displays.create_display(admin, "前台电视", campus)

    tv = await (await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")).new_page()
    await tv.goto(f"{web_b}/board/display?token={token}")  # no login: the token opens it
    await tv.wait_for_selector("#display-live[data-state=live]", timeout=5000)
    first = await _board(browser, web_a, mover.username)
    second = await _board(browser, web_b, watcher.username)
    await second.evaluate("window.__sameDocument = true")
    # The watcher has scrolled: the board sideways, the window down, the "new" column's cards.
    await second.evaluate(
        "document.getElementById('board-columns').scrollLeft = 120; window.scrollTo(0, 60);"
        " document.getElementById('cards-status-new').scrollTop = 150"
    )
    before = await _scroll_state(second)
    looking_at = await _first_visible_card(second, "cards-status-new")
    assert before[0] > 0 and looking_at[0] != f"card-{dragged['id']}", (before, looking_at)

    sent: dict[str, float] = {}
    first.on("request", lambda r: sent.setdefault("move", time.monotonic()) if r.url.endswith("/board/move") else None)
    card = first.locator(f"#card-{dragged['id']}")
    await card.drag_to(first.locator("#cards-status-in_progress"))

    await second.wait_for_selector(f"#cards-status-in_progress #card-{dragged['id']}", timeout=3000)
    elapsed = time.monotonic() - sent["move"]
    # Live, not on a reload; the 1 s target itself is measured by bench/board.py (docs/BENCHMARKS.md).
    assert elapsed < 3.0, f"the other board updated after {elapsed:.2f}s"
    assert await second.locator(f"#cards-status-new #card-{dragged['id']}").count() == 0
    assert await second.locator("#count-status-in_progress").inner_text() == "1"
    assert await second.locator("#count-status-new").inner_text() == "13"
    assert await second.evaluate("window.__sameDocument") is True  # no reload
    assert await _scroll_state(second) == before
    # The card leaving the top of that column does not make what they look at jump.
    assert await _first_visible_card(second, "cards-status-new") == looking_at

    # The wall display (read-only, on process B) follows too.
    await tv.wait_for_selector(f"#cards-status-in_progress #card-{dragged['id']}", timeout=1000)
    assert await tv.locator(".card-move, .load-more").count() == 0

    # The mover's own board agrees, and the database too.
    await first.wait_for_selector(f"#cards-status-in_progress #card-{dragged['id']}[data-version='2']")
    row = await services.get_ticket(mover, dragged["id"])
    assert row["status"] == "in_progress"

    # An illegal move (in progress → new is not a transition) snaps back with the reason.
    await first.locator(f"#card-{dragged['id']}").drag_to(first.locator("#cards-status-new"))
    toast = first.locator("#toasts .board-toast")
    await toast.wait_for(timeout=3000)
    assert "处理中" in await toast.inner_text()
    assert await first.locator(f"#cards-status-in_progress #card-{dragged['id']}").count() == 1
    assert (await services.get_ticket(mover, dragged["id"]))["status"] == "in_progress"
