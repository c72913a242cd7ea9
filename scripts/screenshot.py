"""Screenshots of pages in headless Chromium, to look at what we build.

python scripts/screenshot.py --base http://127.0.0.1:8000 --user admin --password admin12345 \
    --out var/shots / /leads /leads/1 --widths 390,1440
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from playwright.async_api import async_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


async def shoot(
    base: str, user: str, password: str, paths: list[str], widths: list[int], out: Path, locale: str
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for width in widths:
            context = await browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
            page = await context.new_page()
            if user:
                await page.goto(f"{base}/login")
                await page.fill("#f-username", user)
                await page.fill("#f-password", password)
                await page.click("button[type=submit]")
                await page.wait_for_load_state("networkidle")
            for path in paths:
                await page.goto(base + path)
                await page.wait_for_load_state("networkidle")
                name = (path.strip("/").replace("/", "_").replace("?", "_") or "home") + f"_{width}.png"
                await page.screenshot(path=str(out / name), full_page=True)
                print(out / name)
            await context.close()
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="admin12345")
    parser.add_argument("--widths", default="390,1440")
    parser.add_argument("--locale", default="zh-CN")
    parser.add_argument("--out", default="var/shots")
    a = parser.parse_args()
    asyncio.run(
        shoot(a.base, a.user, a.password, a.paths, [int(w) for w in a.widths.split(",")], Path(a.out), a.locale)
    )


if __name__ == "__main__":
    main()
