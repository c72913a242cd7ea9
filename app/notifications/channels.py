"""External delivery channels: email over SMTP and SMS through a provider.

Each sender raises `DeliveryError` (or any exception) on failure; the outbox turns that into a retry.
`permanent=True` means retrying cannot help (e.g. email is not configured) and the row goes straight
to failed, where an admin sees it and can retry once the cause is fixed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Protocol

import httpx

from app.notifications.webhook_targets import TargetRefused, resolve_target
from app.settings import SmtpSettings, get_settings

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


EMAIL_NOT_CONFIGURED = "email not configured (SMTP_HOST is empty)"


@dataclass(frozen=True)
class Envelope:
    """What a channel needs from an outbox row."""

    id: int
    address: str
    subject: str
    body: str
    idempotency_key: str


def build_email(smtp: SmtpSettings, envelope: Envelope) -> EmailMessage:
    """A UTF-8 message: Chinese subjects are RFC 2047-encoded, the body is quoted-printable or base64."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = envelope.address
    message["Subject"] = envelope.subject
    message["Date"] = formatdate(localtime=False)
    # Stable per outbox row: a message delivered twice (worker killed after the server accepted it)
    # carries the same Message-ID, which lets mail systems drop the duplicate.
    domain = parseaddr(smtp.sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<outbox.{envelope.id}.{envelope.idempotency_key.replace(':', '.')}@{domain}>"
    message.set_content(envelope.body or envelope.subject, charset="utf-8")
    return message


class EmailSender:
    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp = smtp

    @property
    def configured(self) -> bool:
        return bool(self.smtp.host)

    def _send_blocking(self, message: EmailMessage) -> None:
        cfg = self.smtp
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout) as client:
            if cfg.starttls:
                client.starttls()
            if cfg.user:
                client.login(cfg.user, cfg.password)
            refused = client.send_message(message)
        if refused:
            raise DeliveryError(f"recipient refused: {refused}")

    async def send(self, envelope: Envelope) -> None:
        if not self.configured:
            raise DeliveryError(EMAIL_NOT_CONFIGURED, permanent=True)
        message = build_email(self.smtp, envelope)
        try:
            await asyncio.to_thread(self._send_blocking, message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


class SmsProvider(Protocol):
    """Sends one text message; raises on failure."""

    async def send(self, phone: str, text: str) -> None: ...


@dataclass
class LogSmsProvider:
    """Writes each SMS to the log and keeps it in `sent` (SMS_PROVIDER=log): for development, for
    tests, and for schools without an SMS contract."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", phone, text)
        self.sent.append((phone, text))


SMS_PROVIDERS: dict[str, type] = {"log": LogSmsProvider}


def webhook_secret() -> str:
    """WEBHOOK_SECRET, or one derived from the app's secret key (stable across restarts)."""
    from app.settings import get_settings as settings

    configured = os.environ.get("WEBHOOK_SECRET", "")
    if configured:
        return configured
    return hmac.new(settings().auth.secret_key.encode(), b"webhook-signing", hashlib.sha256).hexdigest()


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class WebhookSender:
    """POSTs the row's JSON body to its address, signed with HMAC-SHA256 (X-Shuyuan-Signature) and
    carrying the row's idempotency key (X-Shuyuan-Delivery) so a receiver can drop a redelivery.
    A 2xx answer is delivered; a redirect or a 4xx other than 408/429 is permanent; anything else is retried.

    The host is resolved first and every address checked (app/notifications/webhook_targets.py): one
    that is not public, and not allowed by WEBHOOK_ALLOW_PRIVATE, fails the row at once. The request
    then goes to a checked address (the Host header and TLS name stay the original host), so what was
    checked is what is called."""

    timeout: float = 10.0

    async def send(self, envelope: Envelope) -> None:
        body = envelope.body.encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Shuyuan-Webhook/1",
            "X-Shuyuan-Delivery": envelope.idempotency_key,
            "X-Shuyuan-Event": envelope.subject,
            "X-Shuyuan-Signature": webhook_signature(webhook_secret(), body),
        }
        try:
            url = httpx.URL(envelope.address)
            addresses = await resolve_target(url)
        except (httpx.InvalidURL, TargetRefused) as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        except OSError as exc:  # the name did not resolve: often brief, so retried
            raise DeliveryError(f"cannot resolve {url.host}: {exc}") from exc
        headers["Host"] = url.netloc.decode("ascii")
        extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                for index, address in enumerate(addresses):
                    try:
                        response = await client.post(
                            url.copy_with(host=str(address)), content=body, headers=headers, extensions=extensions
                        )
                        break
                    except httpx.ConnectError:  # nothing was sent: the next checked address may answer
                        if index == len(addresses) - 1:
                            raise
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if 200 <= response.status_code < 300:
            return
        if 300 <= response.status_code < 400:  # a moved endpoint is a configuration to fix, not to retry
            raise DeliveryError(f"HTTP {response.status_code}: redirects are not followed", permanent=True)
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        raise DeliveryError(f"HTTP {response.status_code}", permanent=permanent)


def sms_provider_named(name: str) -> SmsProvider:
    try:
        return SMS_PROVIDERS[name]()
    except KeyError:
        raise ValueError(f"unknown SMS_PROVIDER {name!r}; known: {', '.join(SMS_PROVIDERS)}") from None


def sms_text(subject: str, body: str, limit: int = 70) -> str:
    """One SMS segment of Chinese text is 70 characters: the subject, then as much body as fits."""
    text = f"【{get_settings().site_name.split()[0]}】{subject}"
    if body and len(text) < limit - 2:
        text = f"{text}：{body}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Channels:
    """The senders one delivery run uses; injected so tests point them at their own servers."""

    email: EmailSender
    sms: SmsProvider
    webhook: WebhookSender = field(default_factory=WebhookSender)

    @classmethod
    def from_settings(cls) -> Channels:
        settings = get_settings()
        return cls(email=EmailSender(settings.smtp), sms=sms_provider_named(settings.sms_provider))

    async def send(self, channel: str, envelope: Envelope) -> None:
        if channel == "email":
            await self.email.send(envelope)
        elif channel == "sms":
            await self.sms.send(envelope.address, envelope.body)
        elif channel == "webhook":
            await self.webhook.send(envelope)
        else:
            raise DeliveryError(f"unknown channel {channel!r}", permanent=True)


_default: Channels | None = None


def default_channels() -> Channels:
    """One per process, so the log provider's record and the SMTP settings are shared by all jobs."""
    global _default
    if _default is None:
        _default = Channels.from_settings()
    return _default
