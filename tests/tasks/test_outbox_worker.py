"""The outbox through a real arq worker, real Redis and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from arq import cron

from app.core.clock import FrozenClock, system_clock
from app.core.db import UnitOfWork
from app.core.jobs import close_pool
from app.core.redis import get_redis
from app.notifications import outbox
from app.notifications.services import notify
from tables.accounts.tables import User
from tables.notifications.tables import OutboxMessage
from tasks.outbox import sweep_outbox
from tests.support import run_worker_burst
from tests.unit.notifications.smtp_server import channels_for, free_port, smtp_server

ROOT = Path(__file__).resolve().parents[2]


async def _run_worker_burst(ctx: dict, *, with_sweeper: bool = False):
    sweeper = [cron(sweep_outbox, second=set(range(0, 60, 10)), run_at_startup=True)] if with_sweeper else None
    return await run_worker_burst(ctx=ctx, cron_jobs=sweeper)


async def _person(make_user, email: str):
    user = await make_user("teacher")
    await User.update({User.email: email}).where(User.id == user.id)
    return user


async def _mention(user_ids: list[int]) -> None:
    async with UnitOfWork() as uow:
        await notify(
            uow, user_ids, kind="mention", title="T-0007 宿舍热水器坏了", body="@张老师 请跟进", link="/tickets/7"
        )


async def test_a_committed_mention_is_emailed_by_the_worker(make_user):
    await close_pool()  # a pool from an earlier test belongs to a wiped Redis database
    user = await _person(make_user, "zhang@school.test")
    await _mention([user.id])  # commit enqueues deliver_outbox

    (queued,) = await OutboxMessage.select(OutboxMessage.id, OutboxMessage.status)
    assert queued["status"] == "pending"
    assert await get_redis().exists(f"arq:job:outbox:{queued['id']}")  # enqueued after the commit
    with smtp_server() as (inbox, port):
        worker = await _run_worker_burst({"channels": channels_for(port)})

    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    assert [m["Subject"] for m in inbox.messages] == ["【书院】T-0007 宿舍热水器坏了"]
    assert inbox.recipients == [["zhang@school.test"]]
    row = await OutboxMessage.select().first()
    assert row["status"] == "sent" and row["attempts"] == 1


async def test_nothing_is_lost_when_redis_is_flushed_the_sweeper_delivers(make_user):
    await close_pool()
    users = [await _person(make_user, f"t{i}@school.test") for i in range(3)]
    await _mention([u.id for u in users])
    await get_redis().flushdb()  # the "deliver now" job is gone, as after a Redis restart without persistence

    with smtp_server() as (inbox, port):
        idle = await _run_worker_burst({"channels": channels_for(port)})
        assert idle.jobs_complete == 0 and inbox.messages == []
        assert {r["status"] for r in await OutboxMessage.select(OutboxMessage.status)} == {"pending"}

        clock = FrozenClock(system_clock.now() + timedelta(seconds=1))
        await _run_worker_burst({"channels": channels_for(port), "clock": clock}, with_sweeper=True)

    assert sorted(r[0] for r in inbox.recipients) == [f"t{i}@school.test" for i in range(3)]
    assert {r["status"] for r in await OutboxMessage.select(OutboxMessage.status)} == {"sent"}


async def test_a_worker_killed_mid_send_loses_nothing(make_user):
    await close_pool()
    user = await _person(make_user, "t@school.test")
    await _mention([user.id])
    await get_redis().flushdb()
    clock = FrozenClock(system_clock.now() + timedelta(seconds=1))
    assert len(await outbox.claim(clock)) == 1  # a worker took the row, then died before sending

    with smtp_server() as (inbox, port):
        await _run_worker_burst({"channels": channels_for(port), "clock": clock}, with_sweeper=True)
        assert inbox.messages == []  # its lease still holds
        clock.advance(seconds=outbox.LEASE_SECONDS + 1)
        await _run_worker_burst({"channels": channels_for(port), "clock": clock}, with_sweeper=True)

    assert len(inbox.messages) == 1
    row = await OutboxMessage.select().first()
    assert row["status"] == "sent" and row["attempts"] == 2


class _StallingInbox:
    """Accepts the connection, then never answers DATA: the sender hangs mid-send."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.started.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        return "451 try again later"


async def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_a_real_worker_process_killed_mid_send_loses_nothing(make_user, tmp_path):
    await close_pool()
    user = await _person(make_user, "t@school.test")
    stalling, port = _StallingInbox(), free_port()
    controller = Controller(stalling, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "arq", "tasks.worker.WorkerSettings"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        await _mention([user.id])

        async def sending() -> bool:
            row = await OutboxMessage.select(OutboxMessage.status).first()
            return row["status"] == "sending" and stalling.started.is_set()

        await _wait_for(sending)
        worker.send_signal(signal.SIGKILL)  # no shutdown hooks, no chance to record anything
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        stalling.release.set()
        controller.stop()
        log.close()

    row = await OutboxMessage.select().first()
    assert row["status"] == "sending" and row["attempts"] == 1  # left behind by the dead worker
    # arq itself would rerun the dead worker's job only once its in-progress key expires (minutes);
    # drop Redis altogether: the database row alone must be enough.
    await get_redis().flushdb()
    clock = FrozenClock(system_clock.now() + timedelta(seconds=outbox.LEASE_SECONDS + 1))
    with smtp_server() as (inbox, smtp_port):
        await _run_worker_burst({"channels": channels_for(smtp_port), "clock": clock}, with_sweeper=True)
    assert inbox.recipients == [["t@school.test"]]
    row = await OutboxMessage.select().first()
    assert row["status"] == "sent" and row["attempts"] == 2
