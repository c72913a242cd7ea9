"""The acting user reaches handlers as a dependency (app/core/deps.py): on pages, on the API, on
the public routes where nobody may be signed in, and on the websocket."""

from __future__ import annotations

import asyncio

from tests.support import login, post_form, token_for


async def _websocket(app, headers: list[tuple[bytes, bytes]]) -> list[dict]:
    """Open /ws on the ASGI app directly and return what it sends until it closes or goes quiet."""
    inbox: asyncio.Queue = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "websocket.accept":
            await inbox.put({"type": "websocket.disconnect", "code": 1000})

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
        "subprotocols": [],
    }
    await asyncio.wait_for(app(scope, inbox.get, send), timeout=10)
    return sent


async def test_the_websocket_tells_anonymous_and_signed_in_visitors_apart(app, client, make_user):
    agent = await make_user("customer_service")
    await login(client, agent)
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    anonymous = await _websocket(app, [])
    signed_in = await _websocket(app, [(b"cookie", cookie.encode())])

    assert anonymous[-1]["type"] == "websocket.close" and anonymous[-1]["code"] == 4401
    assert signed_in[0]["type"] == "websocket.accept"


async def test_public_pages_work_with_and_without_a_user(client, make_user):
    anonymous_login = await client.get("/login")
    anonymous_lang = await post_form(client, "/lang", {"locale": "en", "next": "/login"})
    advisor = await make_user("advisor")
    await login(client, advisor)
    signed_in_login = await client.get("/login")

    assert anonymous_login.status_code == 200 and anonymous_lang.status_code in (302, 303)
    assert signed_in_login.status_code in (302, 303)  # already signed in: sent on


async def test_the_api_acts_as_the_token_owner(client, make_user):
    advisor = await make_user("advisor")

    me = await client.get("/api/v1/me", headers=await token_for(advisor))
    nobody = await client.get("/api/v1/me")

    assert me.status_code == 200 and me.json()["username"] == advisor.username
    assert nobody.status_code == 401
