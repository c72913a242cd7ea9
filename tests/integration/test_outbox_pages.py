"""/admin/outbox (admins only, enforced on the server) and the email/SMS preferences on /account."""

from __future__ import annotations

from app.core.clock import FrozenClock, system_clock
from app.core.db import UnitOfWork
from app.notifications import outbox
from app.notifications.channels import Channels, EmailSender, LogSmsProvider
from app.notifications.services import notify
from app.settings import SmtpSettings
from tables.accounts.tables import User
from tables.notifications.tables import NotificationPreference, OutboxMessage
from tests.support import post_form

HTMX = {"HX-Request": "true"}


async def _queue_two(make_user) -> tuple[int, int]:
    """One email that failed for good (no SMTP configured) and one SMS that was sent."""
    emailed = await make_user("teacher")
    texted = await make_user("supervisor")
    await User.update({User.email: "li@school.test"}).where(User.id == emailed.id)
    await User.update({User.phone: "13800138000"}).where(User.id == texted.id)
    async with UnitOfWork() as uow:
        await notify(uow, [emailed.id], kind="mention", title="T-0001 投影仪不亮")
        await notify(uow, [texted.id], kind="sla_breach", title="T-0002 退费超时")
    clock = FrozenClock(system_clock.now())
    clock.advance(seconds=1)
    await outbox.deliver(clock=clock, channels=Channels(EmailSender(SmtpSettings()), LogSmsProvider()))
    failed = await OutboxMessage.select(OutboxMessage.id).where(OutboxMessage.channel == "email").first()
    sent = await OutboxMessage.select(OutboxMessage.id).where(OutboxMessage.channel == "sms").first()
    return failed["id"], sent["id"]


async def test_admin_sees_filters_and_retries_failed_messages(client, make_user, login):
    failed_id, sent_id = await _queue_two(make_user)
    admin = await make_user("admin")
    await login(client, admin)

    page = await client.get("/admin/outbox")
    assert page.status_code == 200
    assert "T-0001 投影仪不亮" in page.text and "T-0002 退费超时" in page.text
    assert "email not configured" in page.text and "li@school.test" in page.text
    assert f'action="/admin/outbox/{failed_id}/retry"' in page.text
    assert f'action="/admin/outbox/{sent_id}/retry"' not in page.text  # sent: nothing to retry

    failed_only = await client.get("/admin/outbox?status=failed")
    assert "T-0001" in failed_only.text and "T-0002" not in failed_only.text
    sms_only = await client.get("/admin/outbox?channel=sms")
    assert "T-0002" in sms_only.text and "T-0001" not in sms_only.text
    assert (await client.get("/admin/outbox?limit=500")).status_code == 422

    retried = await post_form(client, f"/admin/outbox/{failed_id}/retry", {"status": "failed"}, headers=HTMX)
    assert retried.status_code == 200
    row = (
        await OutboxMessage.select(OutboxMessage.status, OutboxMessage.attempts)
        .where(OutboxMessage.id == failed_id)
        .first()
    )
    assert row["status"] == "pending" and row["attempts"] == 1
    assert (await post_form(client, f"/admin/outbox/{sent_id}/retry", {})).status_code == 409
    assert (await post_form(client, "/admin/outbox/999999/retry", {})).status_code == 404
    assert "/admin/outbox" in (await client.get("/admin/staff")).text


async def test_non_admins_cannot_see_or_retry_the_outbox(client, make_user, login):
    failed_id, _ = await _queue_two(make_user)
    supervisor = await make_user("supervisor")
    await login(client, supervisor)

    assert (await client.get("/admin/outbox")).status_code == 403
    assert (await post_form(client, f"/admin/outbox/{failed_id}/retry", {})).status_code == 403
    row = await OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == failed_id).first()
    assert row["status"] == "failed"


async def test_people_choose_their_channels_on_the_account_page(client, make_user, login):
    teacher = await make_user("teacher")
    await User.update({User.email: "t@school.test"}).where(User.id == teacher.id)
    await login(client, teacher)

    account = await client.get("/account")
    assert 'id="notification-prefs"' in account.text and 'hx-get="/account/notifications"' in account.text
    card = await client.get("/account/notifications", headers={**HTMX, "HX-Target": "notification-prefs"})
    assert card.status_code == 200 and "<html" not in card.text
    assert 'name="email.mention" value="1" checked' in card.text
    assert 'name="email.ticket_message" value="1" >' in card.text  # off by default
    assert "no phone number" in card.text or "没有手机号" in card.text

    saved = await post_form(
        client, "/account/notifications", {"email.ticket_message": "1", "sms.sla_breach": "1"}, headers=HTMX
    )
    assert saved.status_code == 200 and 'role="status"' in saved.text
    rows = {
        r["kind"]: (r["email"], r["sms"])
        for r in await NotificationPreference.select().where(NotificationPreference.recipient == teacher.id)
    }
    assert rows["ticket_message"] == (True, False) and rows["mention"] == (False, False)
    assert rows["sla_breach"] == (False, True)

    bad = await post_form(client, "/account/notifications", {"email.nonsense": "1"}, headers=HTMX)
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    plain = await post_form(client, "/account/notifications", {"email.mention": "1"})
    assert plain.status_code in (302, 303) and plain.headers["location"] == "/account"
    full = await client.get("/account/notifications")
    assert full.status_code == 200 and "<html" in full.text and 'name="email.mention" value="1" checked' in full.text
