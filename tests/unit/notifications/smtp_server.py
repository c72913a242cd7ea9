"""A real SMTP server (aiosmtpd) on a free loopback port, recording what it receives."""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from app.notifications.channels import Channels, EmailSender, LogSmsProvider
from app.settings import SmtpSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@contextlib.contextmanager
def smtp_server(port: int | None = None):
    """`with smtp_server() as (inbox, port): ...` — stops the server on exit."""
    inbox = Inbox()
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def channels_for(port: int, sms: LogSmsProvider | None = None) -> Channels:
    smtp = SmtpSettings(host="127.0.0.1", port=port, sender="书院 <noreply@shuyuan.test>", timeout=5)
    return Channels(email=EmailSender(smtp), sms=sms or LogSmsProvider())
