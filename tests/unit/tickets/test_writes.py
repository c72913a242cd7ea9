"""Writes return what they made, and a ticket's files are stored in the same unit of work as its
activity: both or neither."""

from __future__ import annotations

import pytest

from app.core.db import UnitOfWork
from app.core.errors import Conflict
from app.tickets import services
from app.tickets.attachments import Upload, storage_root
from app.tickets.services import Draft
from tables.tickets.tables import Ticket, TicketActivity, TicketAttachment
from tests.support import repair

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PROOF = Upload("fields.proof", "收据.png", "image/png", PNG)
CHAT = Upload("files", "聊天记录.txt", "text/plain", "退费".encode())
REFUND = Draft(
    type="refund",
    title="搬家退费",
    fields={"contract_no": "HT-2026-001", "amount": "1280", "reason": "搬家", "account_name": "王芳"},
)


def files_on_disk() -> set[str]:
    root = storage_root()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


class Abandon(Exception):
    pass


@pytest.fixture
def fail_writes():
    """Call it to make every later write fail after all its rows exist: a reaction that refuses it
    (as in test_numbering)."""
    original = UnitOfWork._react

    async def failing_react(self):
        await original(self)
        raise Abandon

    def start() -> None:
        UnitOfWork._react = failing_react

    yield start
    UnitOfWork._react = original


async def test_create_ticket_returns_the_ticket_its_created_row_and_the_files_stored_with_it(make_user):
    desk = await make_user("customer_service")
    made = await services.create_ticket(desk, REFUND, uploads=[PROOF, CHAT])
    created = await TicketActivity.select().where(TicketActivity.kind == "created").first()
    assert made.activity["id"] == created["id"] and made.activity["kind"] == "created"
    assert made.activity["actor"] == desk.id and made.activity["actor_name"] == desk.display_name
    stored = await TicketAttachment.select().where(TicketAttachment.ticket == made["id"]).order_by(TicketAttachment.id)
    assert [f["id"] for f in made.files] == [f["id"] for f in stored]
    assert {f["activity"] for f in stored} == {created["id"]}
    proof = next(f for f in stored if f["field_key"] == "proof")
    # The attachment field points at its file in the ticket as returned and as stored: one write, version 1.
    assert made["fields"]["proof"] == proof["id"] and made["version"] == 1
    assert (await Ticket.select(Ticket.fields).first().output(load_json=True))["fields"]["proof"] == proof["id"]
    assert {f["stored_name"] for f in stored} <= files_on_disk()


async def test_a_creation_that_fails_stores_neither_the_ticket_nor_its_files(make_user, fail_writes):
    desk = await make_user("customer_service")
    fail_writes()
    before = files_on_disk()
    with pytest.raises(Abandon):
        await services.create_ticket(desk, REFUND, uploads=[PROOF, CHAT])
    assert await Ticket.count() == 0 and await TicketAttachment.count() == 0
    assert files_on_disk() == before


async def test_add_message_returns_its_row_with_the_files_it_stored(make_user):
    desk = await make_user("customer_service")
    ticket = await services.create_ticket(desk, repair())
    written = await services.add_message(desk, ticket["id"], "已安排维修", public=True, version=1, uploads=[CHAT])
    reply = await TicketActivity.select().where(TicketActivity.kind == "reply").first()
    assert written.activity["id"] == reply["id"] and written.activity["body"] == "已安排维修"
    assert written.activity["is_public"] is True and written["version"] == 2
    stored = await TicketAttachment.select().where(TicketAttachment.ticket == ticket["id"])
    assert [(f["id"], f["activity"]) for f in stored] == [(written.files[0]["id"], reply["id"])]


async def test_a_reply_that_fails_stores_neither_the_reply_nor_its_files(make_user, fail_writes):
    desk = await make_user("customer_service")
    ticket = await services.create_ticket(desk, repair())
    fail_writes()
    before = files_on_disk()
    with pytest.raises(Abandon):
        await services.add_message(desk, ticket["id"], "附上照片", public=True, uploads=[PROOF, CHAT])
    assert await TicketAttachment.count() == 0 and files_on_disk() == before
    assert await TicketActivity.count().where(TicketActivity.kind == "reply") == 0


async def test_a_stale_reply_writes_no_file(make_user):
    desk = await make_user("customer_service")
    ticket = await services.create_ticket(desk, repair())
    await services.add_message(desk, ticket["id"], "第一条", public=False)
    before = files_on_disk()
    with pytest.raises(Conflict):
        await services.add_message(desk, ticket["id"], "基于旧页面", public=True, version=1, uploads=[CHAT])
    assert await TicketAttachment.count() == 0 and files_on_disk() == before
    assert await TicketActivity.count().where(TicketActivity.kind == "reply") == 0
