"""Online = a live WebSocket: the hub's connect/tick/disconnect hooks keep a Redis set per connection."""

from __future__ import annotations

from app.assignment import presence
from app.core.clock import FrozenClock, system_clock
from app.realtime import hub
from app.realtime.hub import Connection


def _tab(user) -> Connection:
    return Connection(socket=None, user=user, locale="zh_CN")  # the hooks never touch the socket


async def test_connect_and_disconnect_through_the_hub_hooks(make_user):
    person = await make_user("customer_service")
    first, second = _tab(person), _tab(person)

    await hub.connected(first)
    await hub.connected(second)
    assert person.id in await presence.online_user_ids()

    await hub.disconnected(first)
    assert person.id in await presence.online_user_ids()  # the other tab is still open
    await hub.disconnected(second)
    assert person.id not in await presence.online_user_ids()


async def test_a_connection_that_stops_ticking_fades_after_the_ttl(make_user):
    person, other = await make_user("customer_service"), await make_user("customer_service")
    clock = FrozenClock(system_clock.now())
    await presence.mark_online(person.id, "tab-a", clock)
    await presence.mark_online(other.id, "tab-b", clock)
    clock.advance(seconds=presence.ONLINE_TTL - 5)
    await presence.mark_online(other.id, "tab-b", clock)  # a tick
    assert await presence.online_user_ids(clock) == {person.id, other.id}
    clock.advance(seconds=10)
    assert await presence.online_user_ids(clock) == {other.id}


async def test_tick_refreshes_and_wall_displays_never_count(make_user):
    person = await make_user("customer_service")
    tab = _tab(person)
    await hub.tick(tab)
    assert person.id in await presence.online_user_ids()
    display = Connection(socket=None, user=person, locale="zh_CN", display_id=1)
    await hub.disconnected(tab)
    await hub.connected(display)
    assert person.id not in await presence.online_user_ids()
