"""A webhook rule end to end: the outbox row is delivered by the real WebhookSender to a real HTTP
server on 127.0.0.1 (a plain asyncio server: no web framework needed to read one POST), signed with
HMAC-SHA256 over the raw body, and retried after a 500.

127.0.0.1 is a private address: these tests allow it with WEBHOOK_ALLOW_PRIVATE, as a school calling
its own server would; without it the address is refused on save and at delivery."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from app.core.clock import FrozenClock, system_clock
from app.core.db import UnitOfWork
from app.notifications import outbox
from app.notifications.channels import Channels, EmailSender, LogSmsProvider, WebhookSender, webhook_secret
from app.notifications.webhook_targets import ALLOW_ENV
from app.settings import SmtpSettings
from app.tickets import services as tickets
from tables.notifications.tables import OutboxMessage
from tests.integration.automation.conftest import runs_of
from tests.support import repair

LOOPBACK = "127.0.0.1/32, ::1/128"


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    """The receiver listens on 127.0.0.1: allowed here as a self-hosted school allows its own server."""
    monkeypatch.setenv(ALLOW_ENV, LOOPBACK)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each request with the next status of `answers` (the last one repeats)."""

    answers: list[int]
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(Received(method, path, headers, body))
        status = self.answers[min(len(self.requests), len(self.answers)) - 1]
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode())
        await writer.drain()
        writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/shuyuan"


@contextlib.asynccontextmanager
async def receiver(*answers: int):
    target = Receiver(list(answers))
    server = await asyncio.start_server(target.handle, "127.0.0.1", 0)
    target.port = server.sockets[0].getsockname()[1]
    try:
        yield target
    finally:
        server.close()
        await server.wait_closed()


def _channels() -> Channels:
    return Channels(email=EmailSender(SmtpSettings()), sms=LogSmsProvider(), webhook=WebhookSender(timeout=5))


async def _queued_webhook(make_rule, drain, admin, url: str) -> dict:
    await make_rule("created", [{"kind": "webhook", "value": url}], name="通知教务系统")
    ticket = await tickets.create_ticket(admin, repair())
    await drain()
    return ticket


async def _row() -> dict:
    return await OutboxMessage.select().first()


async def test_the_webhook_is_delivered_signed(admin, make_rule, drain):
    async with receiver(200) as server:
        ticket = await _queued_webhook(make_rule, drain, admin, server.url)
        queued = await _row()
        report = await outbox.deliver([queued["id"]], channels=_channels())

    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/hooks/shuyuan")
    expected = "sha256=" + hmac.new(webhook_secret().encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-shuyuan-signature"], expected)
    assert request.headers["x-shuyuan-delivery"] == queued["idempotency_key"]
    assert request.headers["x-shuyuan-event"] == "automation.created"
    assert request.headers["content-type"].startswith("application/json")
    payload = json.loads(request.body)
    assert payload["ticket"]["number"] == ticket["number"] and payload["rule"]["name"] == "通知教务系统"
    row = await _row()
    assert (row["status"], row["attempts"]) == ("sent", 1)


async def test_a_tampered_body_does_not_match_the_signature(admin, make_rule, drain):
    async with receiver(200) as server:
        await _queued_webhook(make_rule, drain, admin, server.url)
        await outbox.deliver(channels=_channels())
    [request] = server.requests
    tampered = request.body.replace(b'"automation.created"', b'"automation.updated"')
    assert tampered != request.body
    forged = "sha256=" + hmac.new(webhook_secret().encode(), tampered, hashlib.sha256).hexdigest()
    assert request.headers["x-shuyuan-signature"] != forged
    other_secret = "sha256=" + hmac.new(b"not-the-secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-shuyuan-signature"] != other_secret


async def test_a_500_is_retried_with_the_same_signed_body(admin, make_rule, drain):
    clock = FrozenClock(system_clock.now() + timedelta(seconds=1))
    async with receiver(500, 200) as server:
        await _queued_webhook(make_rule, drain, admin, server.url)
        first = await outbox.deliver(clock=clock, channels=_channels())
        assert (first.sent, first.retrying) == (0, 1)
        row = await _row()
        assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "HTTP 500")
        assert timedelta(seconds=24) <= row["next_attempt_at"] - clock.now() <= timedelta(seconds=36)

        assert (await outbox.deliver(clock=clock, channels=_channels())).sent == 0  # not due yet
        clock.advance(seconds=40)
        second = await outbox.deliver(clock=clock, channels=_channels())

    assert second.sent == 1
    assert len(server.requests) == 2
    one, two = server.requests
    assert one.body == two.body and one.headers["x-shuyuan-signature"] == two.headers["x-shuyuan-signature"]
    assert one.headers["x-shuyuan-delivery"] == two.headers["x-shuyuan-delivery"]
    row = await _row()
    assert (row["status"], row["attempts"]) == ("sent", 2)


async def test_a_404_fails_at_once(admin, make_rule, drain):
    async with receiver(404) as server:
        await _queued_webhook(make_rule, drain, admin, server.url)
        report = await outbox.deliver(channels=_channels())
    assert (report.failed, len(server.requests)) == (1, 1)
    row = await _row()
    assert (row["status"], row["last_error"]) == ("failed", "HTTP 404")


async def test_the_secret_receivers_are_given_is_the_one_that_signs(admin, make_rule, drain, monkeypatch):
    """Without WEBHOOK_SECRET the key is derived from SECRET_KEY (stable across restarts); with it, it is that."""
    import os

    derived = hmac.new(os.environ["SECRET_KEY"].encode(), b"webhook-signing", hashlib.sha256).hexdigest()
    assert webhook_secret() == derived
    monkeypatch.setenv("WEBHOOK_SECRET", "chosen-by-the-school")
    async with receiver(200) as server:
        await _queued_webhook(make_rule, drain, admin, server.url)
        await outbox.deliver(channels=_channels())
    [request] = server.requests
    expected = "sha256=" + hmac.new(b"chosen-by-the-school", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-shuyuan-signature"] == expected


async def test_a_redirect_fails_at_once_without_being_followed(admin, make_rule, drain):
    async with receiver(301) as server:
        await _queued_webhook(make_rule, drain, admin, server.url)
        report = await outbox.deliver(channels=_channels())
    assert (report.failed, report.retrying, len(server.requests)) == (1, 0, 1)
    row = await _row()
    assert (row["status"], row["last_error"]) == ("failed", "HTTP 301: redirects are not followed")


# --- private addresses (SSRF) -------------------------------------------------------------------


async def test_a_loopback_address_is_refused_at_delivery_without_the_allowlist(admin, make_rule, drain, monkeypatch):
    """Saved while the allowlist allowed it, then the allowlist went: the call is refused, nothing is
    sent, and the row says why (no retry: retrying cannot help)."""
    async with receiver(200) as server:
        await _queued_webhook(make_rule, drain, admin, server.url)
        monkeypatch.delenv(ALLOW_ENV)
        report = await outbox.deliver(channels=_channels())
    assert (report.sent, report.retrying, report.failed, len(server.requests)) == (0, 0, 1, 0)
    row = await _row()
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["last_error"].startswith("refused: 127.0.0.1 resolves to 127.0.0.1, a private, local or reserved")
    assert ALLOW_ENV in row["last_error"]


async def _queued_by_name(url: str) -> None:
    """A row addressed by a host name, as a rule saved before names were checked (or a public-looking
    name whose DNS answers a private address) leaves it."""
    async with UnitOfWork() as uow:
        await outbox.queue_webhook(uow, url, "automation.created", {"event": "automation.created"}, "by-name:1")


async def test_a_name_that_resolves_to_loopback_is_refused_at_delivery(monkeypatch):
    monkeypatch.delenv(ALLOW_ENV)
    async with receiver(200) as server:
        await _queued_by_name(f"http://localhost:{server.port}/hooks/shuyuan")
        report = await outbox.deliver(channels=_channels())
    assert (report.failed, len(server.requests)) == (1, 0)
    row = await _row()
    assert row["status"] == "failed" and row["last_error"].startswith("refused: localhost resolves to ")
    assert "127.0.0.1" in row["last_error"]


async def test_a_name_that_resolves_to_an_allowed_address_is_delivered_with_its_own_host_header():
    """The request goes to the checked address, yet the receiver still sees the name it was given."""
    async with receiver(200) as server:
        await _queued_by_name(f"http://localhost:{server.port}/hooks/shuyuan")
        report = await outbox.deliver(channels=_channels())
    assert (report.sent, report.failed) == (1, 0)
    [request] = server.requests
    assert request.headers["host"] == f"localhost:{server.port}" and request.path == "/hooks/shuyuan"
    row = await _row()
    assert (row["status"], row["last_error"]) == ("sent", "")


async def test_an_allowlist_for_another_network_does_not_open_loopback(monkeypatch):
    monkeypatch.setenv(ALLOW_ENV, "10.0.0.0/8")
    async with receiver(200) as server:
        await _queued_by_name(f"http://127.0.0.1:{server.port}/hooks/shuyuan")
        report = await outbox.deliver(channels=_channels())
    assert (report.failed, len(server.requests)) == (1, 0)


async def test_a_private_rule_saved_earlier_fails_its_action_and_queues_nothing(admin, make_rule, drain, monkeypatch):
    """The run log shows the refusal when the allowlist was narrowed after the rule was saved."""
    await make_rule(
        "created", [{"kind": "webhook", "value": "http://127.0.0.1:9/hook"}, {"kind": "add_tag", "value": "x"}]
    )
    monkeypatch.delenv(ALLOW_ENV)
    ticket = await tickets.create_ticket(admin, repair())
    await drain()
    [run] = await runs_of(ticket["id"])
    assert run["outcome"] == "failed" and "not a public http(s) address" in run["error"]
    assert [entry["ok"] for entry in run["log"]] == [False, True]  # the rule's other actions still ran
    assert await OutboxMessage.count() == 0
