"""The outbox against a real SMTP server (aiosmtpd on loopback) and the real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.core.clock import FrozenClock, system_clock
from app.core.db import UnitOfWork
from app.notifications import outbox
from app.notifications.channels import EMAIL_NOT_CONFIGURED, Channels, EmailSender, LogSmsProvider
from app.notifications.services import notify
from app.settings import SmtpSettings
from tables.accounts.tables import User
from tables.notifications.tables import Notification, OutboxMessage
from tests.unit.notifications.smtp_server import channels_for, free_port, smtp_server


async def person(make_user, role="teacher", *, email="", phone="", **kwargs):
    user = await make_user(role, **kwargs)
    await User.update({User.email: email, User.phone: phone}).where(User.id == user.id)
    return user


async def send_notification(user_ids, kind="mention", title="T-0001 302 教室投影仪不亮", body="@李老师 请帮忙看看"):
    async with UnitOfWork() as uow:
        return await notify(uow, user_ids, kind=kind, title=title, body=body, link="/tickets/1")


async def rows(**where):
    query = OutboxMessage.select().order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return await query


def later(seconds: float = 1) -> FrozenClock:
    """A clock just after now, so rows written at the real 'now' are due."""
    return FrozenClock(system_clock.now() + timedelta(seconds=seconds))


async def test_a_mention_arrives_by_email_with_its_chinese_subject(make_user):
    from app.tickets.services import add_message, create_ticket
    from app.tickets.types.defaults import ensure_default_types
    from tests.support import repair

    await ensure_default_types()
    author = await person(make_user, "advisor", display_name="王顾问")
    mentioned = await person(make_user, "teacher", username="li_laoshi", email="li@school.test")
    ticket = await create_ticket(author, repair())
    await add_message(author, ticket["id"], "@li_laoshi 投影仪还是不亮，请帮忙看看", public=False)

    queued = await rows()
    assert [(r["channel"], r["recipient"], r["address"], r["status"], r["kind"]) for r in queued] == [
        ("email", mentioned.id, "li@school.test", "pending", "mention")
    ]
    with smtp_server() as (inbox, port):
        report = await outbox.deliver(clock=later(), channels=channels_for(port))

    assert report.sent == 1 and report.retrying == report.failed == 0
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert inbox.recipients == [["li@school.test"]]
    assert message["Subject"] == f"【书院】{ticket['number']} 302 教室投影仪不亮"
    assert "投影仪还是不亮" in message.get_content()
    assert f"/tickets/{ticket['id']}#a" in message.get_content()
    (sent,) = await rows()
    assert sent["status"] == "sent" and sent["attempts"] == 1 and sent["sent_at"] is not None
    assert sent["locked_until"] is None and sent["last_error"] == ""
    assert message["Message-ID"].startswith(f"<outbox.{sent['id']}.mention.")


async def test_smtp_down_is_retried_with_backoff_then_delivered_once(make_user):
    user = await person(make_user, email="t@school.test")
    await send_notification([user.id])
    port = free_port()  # nothing listens here yet
    clock = later()

    report = await outbox.deliver(clock=clock, channels=channels_for(port))
    assert report.retrying == 1 and report.sent == 0
    (row,) = await rows()
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "Connection" in row["last_error"] or "refused" in row["last_error"].lower()
    wait = row["next_attempt_at"] - clock.now()
    assert timedelta(seconds=24) <= wait <= timedelta(seconds=36)  # 30 s ± 20 % jitter

    # Not due yet: nobody touches it.
    assert (await outbox.deliver(clock=clock, channels=channels_for(port))).retrying == 0
    clock.advance(seconds=37)
    assert (await outbox.deliver(clock=clock, channels=channels_for(port))).retrying == 1
    (row,) = await rows()
    assert row["attempts"] == 2
    assert timedelta(seconds=96) <= row["next_attempt_at"] - clock.now() <= timedelta(seconds=144)  # 2 min

    with smtp_server(port) as (inbox, _):
        clock.advance(seconds=60)  # still too early: the server is up but the row waits its turn
        assert (await outbox.deliver(clock=clock, channels=channels_for(port))).sent == 0
        clock.advance(seconds=90)
        assert (await outbox.deliver(clock=clock, channels=channels_for(port))).sent == 1
        assert (await outbox.deliver(clock=clock, channels=channels_for(port))).sent == 0
    assert len(inbox.messages) == 1
    (row,) = await rows()
    assert row["status"] == "sent" and row["attempts"] == 3


async def test_after_the_last_backoff_the_message_is_dead_until_an_admin_retries(make_user):
    admin = await make_user("admin")
    user = await person(make_user, email="t@school.test")
    await send_notification([user.id])
    port = free_port()
    clock = later()
    waits = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        await outbox.deliver(clock=clock, channels=channels_for(port))
        (row,) = await rows()
        assert row["attempts"] == attempt
        if row["status"] == "pending":
            waits.append(round((row["next_attempt_at"] - clock.now()).total_seconds()))
            clock.advance(hours=8)
    assert row["status"] == "failed" and row["attempts"] == 6 and row["last_error"]
    for wait, base in zip(waits, outbox.BACKOFF_SECONDS, strict=True):
        assert base * 0.8 <= wait <= base * 1.2
    clock.advance(days=2)
    assert (await outbox.deliver(clock=clock, channels=channels_for(port))).retrying == 0  # dead stays dead

    await outbox.retry_now(admin, row["id"], clock)
    with smtp_server(port) as (inbox, _):
        assert (await outbox.deliver(clock=clock, channels=channels_for(port))).sent == 1
    assert len(inbox.messages) == 1
    (row,) = await rows()
    assert row["status"] == "sent" and row["attempts"] == 7


async def test_retry_now_is_for_admins_and_for_failed_or_waiting_messages_only(make_user):
    from app.core.errors import Conflict, Forbidden

    admin, supervisor = await make_user("admin"), await make_user("supervisor")
    user = await person(make_user, email="t@school.test")
    await send_notification([user.id])
    (row,) = await rows()
    with pytest.raises(Forbidden):
        await outbox.retry_now(supervisor, row["id"])
    with smtp_server() as (_, port):
        await outbox.deliver(clock=later(), channels=channels_for(port))
    with pytest.raises(Conflict):
        await outbox.retry_now(admin, row["id"])  # already sent
    (row,) = await rows()
    assert row["status"] == "sent"


async def test_without_smtp_host_email_fails_at_once_and_says_why(make_user):
    user = await person(make_user, email="t@school.test")
    await send_notification([user.id])
    unconfigured = Channels(email=EmailSender(SmtpSettings()), sms=LogSmsProvider())

    report = await outbox.deliver(clock=later(), channels=unconfigured)

    assert report.failed == 1
    (row,) = await rows()
    assert row["status"] == "failed" and row["last_error"] == EMAIL_NOT_CONFIGURED and row["attempts"] == 1


async def test_two_concurrent_claimers_never_take_the_same_row(make_user):
    users = [await person(make_user, email=f"u{i}@school.test") for i in range(12)]
    await send_notification([u.id for u in users])
    clock = later()
    all_ids = {r["id"] for r in await rows()}
    assert len(all_ids) == 12

    first, second = await asyncio.gather(outbox.claim(clock, limit=12), outbox.claim(clock, limit=12))

    a, b = {r["id"] for r in first}, {r["id"] for r in second}
    assert not a & b
    assert a | b == all_ids
    assert {r["claim_token"] for r in first}.isdisjoint({r["claim_token"] for r in second})


async def test_two_concurrent_deliveries_send_each_message_exactly_once(make_user):
    users = [await person(make_user, email=f"u{i}@school.test") for i in range(25)]
    await send_notification([u.id for u in users])
    clock = later()
    with smtp_server() as (inbox, port):
        reports = await asyncio.gather(*[outbox.deliver(clock=clock, channels=channels_for(port)) for _ in range(3)])
    assert sum(r.sent for r in reports) == 25
    assert len(inbox.messages) == 25
    assert len({m["Message-ID"] for m in inbox.messages}) == 25
    assert sorted(r[0] for r in inbox.recipients) == sorted(f"u{i}@school.test" for i in range(25))
    assert {r["status"] for r in await rows()} == {"sent"}


async def test_rows_a_killed_worker_was_sending_are_reclaimed_after_the_lease(make_user):
    user = await person(make_user, email="t@school.test")
    await send_notification([user.id])
    clock = later()
    taken = await outbox.claim(clock)  # this "worker" dies before sending
    assert len(taken) == 1
    with smtp_server() as (inbox, port):
        assert (await outbox.deliver(clock=clock, channels=channels_for(port))).sent == 0  # lease still held
        clock.advance(seconds=outbox.LEASE_SECONDS + 1)
        assert (await outbox.deliver(clock=clock, channels=channels_for(port))).sent == 1
    assert len(inbox.messages) == 1
    (row,) = await rows()
    assert row["status"] == "sent" and row["attempts"] == 2


async def test_a_stale_claimer_cannot_overwrite_the_outcome_of_the_one_holding_the_row(make_user):
    user = await person(make_user, email="t@school.test")
    await send_notification([user.id])
    clock = later()
    (stale,) = await outbox.claim(clock)
    clock.advance(seconds=outbox.LEASE_SECONDS + 1)
    with smtp_server() as (_, port):
        await outbox.deliver(clock=clock, channels=channels_for(port))
    # The first worker wakes up and reports a failure: its claim token no longer matches.
    await outbox._finish(stale, RuntimeError("late"), clock)
    (row,) = await rows()
    assert row["status"] == "sent" and row["last_error"] == ""


async def test_the_sms_log_provider_records_the_text(make_user):
    user = await person(make_user, "supervisor", phone="13800138000")
    await send_notification([user.id], kind="sla_breach", title="T-0042 退费申请超时未处理", body="已超时 2 小时")
    (row,) = await rows()
    assert (row["channel"], row["address"]) == ("sms", "13800138000")
    sms = LogSmsProvider()

    report = await outbox.deliver(clock=later(), channels=Channels(email=EmailSender(SmtpSettings()), sms=sms))

    assert report.sent == 1
    assert sms.sent == [("13800138000", "【书院】T-0042 退费申请超时未处理：已超时 2 小时")]
    (row,) = await rows()
    assert row["status"] == "sent"


async def test_outbox_rows_share_the_transaction_of_their_notification(make_user):
    user = await person(make_user, email="t@school.test")
    with pytest.raises(RuntimeError):
        async with UnitOfWork() as uow:
            await notify(uow, [user.id], kind="mention", title="回滚")
            raise RuntimeError("the write fails after notify")
    assert await Notification.count() == 0
    assert await OutboxMessage.count() == 0

    ids = await send_notification([user.id])
    (row,) = await rows()
    assert row["idempotency_key"] == f"mention:{ids[0]}:email"
