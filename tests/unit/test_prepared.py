"""Prepared queries return exactly what the same Piccolo query returns, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from app.accounts import services as accounts
from app.core.prepared import Prepared
from app.tickets import services as tickets
from app.tickets.defaults import ensure_default_types
from tables.accounts.tables import User
from tables.tickets.tables import Ticket, TicketType
from tests.support import make_campus, repair


async def test_ticket_detail_matches_the_piccolo_query(make_user):
    await ensure_default_types()
    campus = await make_campus()
    desk = await make_user("customer_service", campus=campus, display_name="前台小王")
    created = await tickets.create_ticket(desk, repair(assignee_id=desk.id, tags=["投影仪", "三楼"]))
    expected = (
        await Ticket.select(*tickets.DETAIL_COLUMNS).where(Ticket.id == created["id"]).first().output(load_json=True)
    )
    assert {k: v for k, v in created.items() if k != "tags"} == expected
    assert created["tags"] == ["三楼", "投影仪"] or sorted(created["tags"]) == ["三楼", "投影仪"]
    assert created["assignee_name"] == "前台小王" and created["fields"]["equipment"] == "投影仪"
    assert isinstance(created["type_fields"], list) and created["type_fields"]


async def test_type_and_user_lookups_match_and_miss_cleanly(make_user):
    await ensure_default_types()
    expected = await TicketType.select().where(TicketType.code == "refund").first().output(load_json=True)
    assert await tickets.type_by_code("refund") == expected
    assert await tickets.type_by_code("no-such-type") is None
    user = await make_user("teacher", display_name="李老师")
    assert await accounts.load_user(user.id) == user
    await User.update({User.is_active: False}).where(User.id == user.id)
    assert await accounts.load_user(user.id) is None  # the is_active condition survived compilation


def test_a_parameter_that_never_reaches_the_sql_is_refused():
    broken = Prepared(lambda code: TicketType.select().where(TicketType.code == "refund"), 1)
    with pytest.raises(ValueError, match="do not reach"):
        broken._compile(type("E", (), {"engine_type": "sqlite"})())
