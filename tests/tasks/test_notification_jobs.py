"""The announcement job through a real arq worker against the test Redis."""

from __future__ import annotations

from app.core.jobs import close_pool, enqueue
from app.notifications import services
from tables.notifications.tables import Announcement, Notification
from tests.support import run_worker_burst


async def _announce(author, **kwargs) -> int:
    return await services.create_announcement(author, title="期末考试安排", body="12 月 20 日", **kwargs)


async def test_worker_delivers_an_announcement_to_its_audience(make_user):
    admin = await make_user("admin")
    teachers = [await make_user("teacher") for _ in range(2)]
    advisor = await make_user("advisor")
    announcement_id = await _announce(admin, audience="role", audience_value="teacher")

    await close_pool()  # a pool from an earlier test belongs to a wiped Redis database
    await enqueue("deliver_announcement", announcement_id, job_id=f"announcement:{announcement_id}")
    worker = await run_worker_burst()

    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    recipients = {r["recipient"] for r in await Notification.select(Notification.recipient)}
    assert recipients == {t.id for t in teachers}
    assert advisor.id not in recipients
    row = await Announcement.select(Announcement.delivered_at).where(Announcement.id == announcement_id).first()
    assert row["delivered_at"] is not None


async def test_delivering_twice_notifies_each_person_once(make_user):
    admin = await make_user("admin")
    await make_user("advisor")
    announcement_id = await _announce(admin, audience="all")

    first = await services.deliver_announcement(announcement_id)
    second = await services.deliver_announcement(announcement_id)

    assert first == 2  # the admin and the advisor
    assert second == 0
    assert await Notification.count() == 2


async def test_delivery_of_a_missing_announcement_does_nothing():
    assert await services.deliver_announcement(987654) == 0
    assert await Notification.count() == 0


async def test_sweep_delivers_announcements_whose_job_was_lost(make_user):
    from app.core.clock import FrozenClock, system_clock

    admin = await make_user("admin")
    stranded = await _announce(admin, audience="all")
    clock = FrozenClock(system_clock.now())

    # Too young: its own job may still be on the way.
    assert await services.deliver_pending_announcements(clock) == 0
    clock.advance(seconds=31)
    assert await services.deliver_pending_announcements(clock) == 1
    assert await services.deliver_pending_announcements(clock) == 0  # twice: nothing more
    assert await Notification.count() == 1
    row = await Announcement.select(Announcement.delivered_at).where(Announcement.id == stranded).first()
    assert row["delivered_at"] is not None
