"""Events are published after commit, never for a rolled-back transaction."""

from __future__ import annotations

import contextlib

import pytest
import redis.asyncio as aioredis

from app.core.db import UnitOfWork
from app.core.events import Event, publish
from app.settings import get_settings
from tables.accounts.tables import Campus


@contextlib.asynccontextmanager
async def listening():
    settings = get_settings().redis
    client = aioredis.Redis.from_url(settings.url, decode_responses=True)
    pubsub = client.pubsub()
    await pubsub.subscribe(settings.events_channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    try:
        yield pubsub
    finally:
        await pubsub.aclose()
        await client.aclose()


async def _next_event(pubsub, timeout: float = 1.0) -> Event | None:
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
    return Event.from_json(message["data"]) if message else None


async def test_event_is_published_once_the_transaction_commits():
    async with listening() as pubsub:
        async with UnitOfWork() as uow:
            await Campus.insert(Campus(name="北京", code="BJ"))
            uow.emit(Event("campus.created", {"code": "BJ"}, audience=[1, 2]))
            # Nothing may leave before the commit.
            assert await _next_event(pubsub, timeout=0.2) is None
        event = await _next_event(pubsub)
    assert event == Event("campus.created", {"code": "BJ"}, audience=[1, 2])


async def test_rolled_back_work_publishes_nothing_and_writes_nothing():
    async with listening() as pubsub:
        with pytest.raises(RuntimeError):
            async with UnitOfWork() as uow:
                await Campus.insert(Campus(name="上海", code="SH"))
                uow.emit(Event("campus.created", {"code": "SH"}))
                raise RuntimeError("validation failed late")
        assert await _next_event(pubsub, timeout=0.3) is None
    assert await Campus.count() == 0


async def test_event_round_trips_through_json():
    event = Event("ticket.status_changed", {"id": 7, "status": "已解决"}, audience=None)
    assert Event.from_json(event.to_json()) == event


async def test_publish_outside_a_transaction_sends_every_event_in_order():
    """What no write causes (presence on the board) goes out through the same pipeline."""
    async with listening() as pubsub:
        await publish(Event("presence.changed", {"ticket": 1}), Event("presence.changed", {"ticket": 2}))
        first, second = await _next_event(pubsub), await _next_event(pubsub)
    assert [first.payload, second.payload] == [{"ticket": 1}, {"ticket": 2}]
