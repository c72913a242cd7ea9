"""Which notifications go out by email or SMS: defaults, a person's choices, contact details."""

from __future__ import annotations

import pytest

from app.core.db import UnitOfWork
from app.core.errors import ValidationFailed
from app.notifications import preferences
from app.notifications.services import notify
from tables.accounts.tables import User
from tables.notifications.tables import NotificationPreference, OutboxMessage


async def person(make_user, role="teacher", *, email="", phone=""):
    user = await make_user(role)
    await User.update({User.email: email, User.phone: phone}).where(User.id == user.id)
    return user


async def channels_sent(user_ids, kind) -> set[tuple[int, str]]:
    await OutboxMessage.delete(force=True)
    async with UnitOfWork() as uow:
        await notify(uow, user_ids, kind=kind, title="标题", body="内容")
    return {
        (r["recipient"], r["channel"])
        for r in await OutboxMessage.select(OutboxMessage.recipient, OutboxMessage.channel)
    }


async def test_defaults_email_for_important_kinds_and_sms_only_for_urgent_ones(make_user):
    both = await person(make_user, email="a@school.test", phone="13800000001")
    email_only = await person(make_user, email="b@school.test")
    neither = await person(make_user)
    everyone = [both.id, email_only.id, neither.id]

    assert await channels_sent(everyone, "mention") == {(both.id, "email"), (email_only.id, "email")}
    assert await channels_sent(everyone, "ticket_assigned") == {(both.id, "email"), (email_only.id, "email")}
    assert await channels_sent(everyone, "sla_breach") == {
        (both.id, "email"),
        (both.id, "sms"),
        (email_only.id, "email"),
    }
    assert await channels_sent(everyone, "ticket_escalated") == {
        (both.id, "email"),
        (both.id, "sms"),
        (email_only.id, "email"),
    }
    assert await channels_sent(everyone, "ticket_message") == set()
    assert await channels_sent(everyone, "announcement") == set()


async def test_a_persons_choices_override_the_defaults(make_user):
    user = await person(make_user, email="a@school.test", phone="13800000001")
    other = await person(make_user, email="b@school.test")
    await preferences.save_preferences(user, email={"ticket_message"}, sms={"mention"})

    assert await channels_sent([user.id, other.id], "mention") == {(user.id, "sms"), (other.id, "email")}
    assert await channels_sent([user.id, other.id], "ticket_message") == {(user.id, "email")}
    assert await channels_sent([user.id], "sla_breach") == set()  # listed kind, both unticked
    # A kind nobody listed keeps its defaults: "*" unticked adds nothing, and takes nothing away.
    assert await channels_sent([user.id], "ticket_escalation_level2") == {(user.id, "email"), (user.id, "sms")}


async def test_everything_else_switches_on_unlisted_kinds(make_user):
    user = await person(make_user, email="a@school.test", phone="13800000001")
    await preferences.save_preferences(user, email={"*"}, sms=set())
    assert await channels_sent([user.id], "approval_requested") == {(user.id, "email")}
    assert await channels_sent([user.id], "mention") == set()  # its own row says no


async def test_inactive_people_get_no_email(make_user):
    user = await person(make_user, email="a@school.test")
    await User.update({User.is_active: False}).where(User.id == user.id)
    assert await channels_sent([user.id], "mention") == set()


async def test_saving_replaces_the_rows_and_the_page_shows_the_effective_choice(make_user):
    user = await person(make_user, email="a@school.test")
    shown = {p["kind"]: (p["email"], p["sms"]) for p in await preferences.preferences_of(user.id)}
    assert shown["mention"] == (True, False) and shown["sla_breach"] == (True, True)
    assert shown["ticket_message"] == (False, False) and shown["*"] == (False, False)

    await preferences.save_preferences(user, email={"ticket_message"}, sms=set())
    await preferences.save_preferences(user, email={"announcement"}, sms={"sla_breach"})

    assert await NotificationPreference.count().where(NotificationPreference.recipient == user.id) == len(
        preferences.KIND_LABELS
    )
    shown = {p["kind"]: (p["email"], p["sms"]) for p in await preferences.preferences_of(user.id)}
    assert shown["announcement"] == (True, False) and shown["sla_breach"] == (False, True)
    assert shown["ticket_message"] == (False, False) and shown["mention"] == (False, False)


async def test_unknown_kinds_are_refused(make_user):
    user = await person(make_user)
    with pytest.raises(ValidationFailed):
        await preferences.save_preferences(user, email={"made_up"}, sms=set())
    assert await NotificationPreference.count() == 0


def test_ticked_reads_the_checkbox_names():
    form = {"email.mention": "1", "email.*": "1", "sms.sla_breach": "1", "sms.mention": "", "title": "x"}
    assert preferences.ticked(form, "email") == {"mention", "*"}
    assert preferences.ticked(form, "sms") == {"sla_breach"}
