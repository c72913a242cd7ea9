"""Prepared queries return exactly what the same Piccolo query returns, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.accounts import services as accounts
from app.core.prepared import Prepared, PreparedInsert
from app.tickets import services as tickets
from app.tickets.types.defaults import ensure_default_types
from tables.accounts.tables import User
from tables.tickets.tables import Ticket, TicketActivity, TicketTag, TicketType
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


async def test_a_prepared_insert_stores_what_piccolo_would(make_user):
    """Defaults, JSON, booleans, timestamps and NULLs come out of the database the same either way."""
    await ensure_default_types()
    desk = await make_user("customer_service")
    ticket = await tickets.create_ticket(desk, repair())
    now = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)
    values = {
        "ticket": ticket["id"],
        "kind": "note",
        "body": "家长来电：周六上课",
        "created_at": now,
        "changes": {"status": [None, "new"], "by": "auto", "中文": ["一", 2]},
    }
    theirs = (await TicketActivity.insert(TicketActivity(**values)).returning(TicketActivity.id))[0]["id"]
    ours = (await PreparedInsert(TicketActivity).run(values))[0]
    assert ours != theirs
    rows = {
        r["id"]: r
        for r in await TicketActivity.select().where(TicketActivity.id.is_in([theirs, ours])).output(load_json=True)
    }
    assert {**rows[ours], "id": None} == {**rows[theirs], "id": None}
    assert (
        rows[ours]["is_public"] is False and rows[ours]["actor"] is None and rows[ours]["changes"]["中文"] == ["一", 2]
    )


async def test_a_prepared_insert_of_several_rows_returns_their_keys_in_order(make_user):
    await ensure_default_types()
    ticket = await tickets.create_ticket(await make_user("customer_service"), repair())
    keys = await PreparedInsert(TicketTag).run(*[{"ticket": ticket["id"], "tag": t} for t in ("甲", "乙", "丙")])
    rows = await TicketTag.select(TicketTag.id, TicketTag.tag).where(TicketTag.id.is_in(keys))
    assert [{r["id"]: r["tag"] for r in rows}[k] for k in keys] == ["甲", "乙", "丙"]
    with pytest.raises(ValueError, match="unknown columns"):
        await PreparedInsert(TicketTag).run({"ticket": ticket["id"], "label": "x"})
