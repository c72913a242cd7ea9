"""Real processes for browser tests: N uvicorn web servers and one arq worker, same DB and Redis."""

from __future__ import annotations

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def servers(tmp_path):
    """Two web processes and one worker; yields the two base URLs."""
    # Imported here: this conftest loads before the root one has set up the test database when
    # pytest is given a browser test file, and tests.support imports the app.
    from tests.support import WORKER_COMMAND, free_port, process, wait_http, web_command

    ports = [free_port(), free_port()]
    with (
        process(web_command(ports[0]), tmp_path / "web-a.log"),
        process(web_command(ports[1]), tmp_path / "web-b.log"),
        process(WORKER_COMMAND, tmp_path / "worker.log"),
    ):
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        try:
            for url in urls:
                wait_http(url + "/login", timeout=60)
        except RuntimeError as exc:
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("*.log")))
            raise RuntimeError(f"{exc}\n{logs}") from None
        yield urls


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()
