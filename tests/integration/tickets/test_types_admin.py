"""Ticket type administration: admins only, forms edited without code, old tickets never broken."""

from __future__ import annotations

from app.tickets import services
from app.tickets.services import Draft
from tables.audit.tables import AuditEntry
from tables.tickets.tables import Ticket, TicketType
from tests.support import post_form


def type_form(type_row: dict | None = None, fields: list[dict] | None = None, **basics) -> dict:
    """The form a browser posts: the basics plus fields.<n>.<part> rows in order."""
    form = {"name": "退费申请", "default_priority": "high", "public_intake": "1", "is_active": "1", "description": ""}
    if type_row:
        form.update(
            name=type_row["name"],
            type_id=str(type_row["id"]),
            default_priority=type_row["default_priority"],
            description=type_row["description"],
        )
    form.update(basics)
    source = fields if fields is not None else [f for f in type_row["fields"] if not f.get("archived")]
    for i, f in enumerate(source):
        form.update(
            {
                f"fields.{i}.key": f["key"],
                f"fields.{i}.label": f["label"],
                f"fields.{i}.type": f["type"],
                f"fields.{i}.help": f.get("help", ""),
                f"fields.{i}.options": "\n".join(f.get("options", [])),
            }
        )
        if f.get("required"):
            form[f"fields.{i}.required"] = "1"
    return form


async def refund_type() -> dict:
    return await services.type_by_code("refund")


async def test_non_admins_cannot_see_or_change_ticket_types(client, make_user, login):
    supervisor = await make_user("supervisor")
    await login(client, supervisor)
    refund = await refund_type()

    listing = await client.get("/admin/ticket-types")
    created = await post_form(client, "/admin/ticket-types", type_form(fields=[], code="sneaky", name="偷偷加的"))
    changed = await post_form(client, f"/admin/ticket-types/{refund['id']}", type_form(refund, name="改名"))
    editor = await post_form(client, "/admin/ticket-types/editor", {"op": "add"})

    assert [listing.status_code, created.status_code, changed.status_code, editor.status_code] == [403] * 4
    assert not await TicketType.exists().where(TicketType.code == "sneaky")
    assert (await refund_type())["name"] == "退费申请"
    assert await AuditEntry.count().where(AuditEntry.entity_type == "ticket_type") == 0


async def test_admin_lists_types_with_field_counts(client, make_user, login):
    await login(client, await make_user("admin"))
    page = await client.get("/admin/ticket-types")
    assert page.status_code == 200
    for name in ("课程咨询", "请假调课", "投诉建议", "退费申请", "技术支持", "设备报修"):
        assert name in page.text
    assert "<code>refund</code>" in page.text
    assert page.text.count('href="/admin/ticket-types/') >= 7  # six types plus "new"


async def test_admin_creates_a_type_with_fields_and_the_save_is_audited(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)
    fields = [
        {"key": "room", "label": "教室", "type": "text", "required": True},
        {"key": "kind", "label": "问题类型", "type": "select", "options": ["灯", "门锁"]},
    ]
    response = await post_form(
        client, "/admin/ticket-types", type_form(fields=fields, code="facility", name="设施问题")
    )

    assert response.status_code in (302, 303)
    row = await services.type_by_code("facility")
    assert row["name"] == "设施问题" and row["default_priority"] == "high" and row["public_intake"] is True
    assert [(f["key"], f["order"], f["required"]) for f in row["fields"]] == [("room", 0, True), ("kind", 1, False)]
    assert row["fields"][1]["options"] == ["灯", "门锁"]
    entry = await AuditEntry.select().where(AuditEntry.entity_type == "ticket_type").first().output(load_json=True)
    assert entry["action"] == "create" and entry["entity_id"] == row["id"] and entry["actor"] == admin.id
    assert entry["changes"]["code"] == [None, "facility"] and entry["changes"]["fields.room"][1].startswith("教室")
    ticket = await services.create_ticket(admin, Draft(type="facility", title="灯坏了", fields={"room": "101"}))
    assert ticket["fields"] == {"room": "101"}


async def test_invalid_rows_are_shown_inline_per_row_and_nothing_is_saved(client, make_user, login):
    await login(client, await make_user("admin"))
    fields = [
        {"key": "ok_field", "label": "好的", "type": "text"},
        {"key": "Bad Key", "label": "", "type": "select", "options": []},
    ]
    response = await post_form(client, "/admin/ticket-types", type_form(fields=fields, code="x1", name="测试"))

    assert response.status_code == 422
    for name in ("fields.1.key", "fields.1.label", "fields.1.options"):
        assert f'id="fe-1-{name.split(".")[2]}-error"' in response.text
    assert 'id="fe-0-key-error"' not in response.text
    assert 'value="Bad Key"' in response.text and 'value="好的"' in response.text  # nothing typed is lost
    assert not await TicketType.exists().where(TicketType.code == "x1")


async def test_code_is_immutable_and_must_be_unique(client, make_user, login):
    await login(client, await make_user("admin"))
    duplicate = await post_form(client, "/admin/ticket-types", type_form(fields=[], code="refund", name="又一个"))
    assert duplicate.status_code == 422 and 'id="f-code-error"' in duplicate.text

    refund = await refund_type()
    await post_form(client, f"/admin/ticket-types/{refund['id']}", type_form(refund, code="hacked", name="退费"))
    after = await TicketType.select(TicketType.code, TicketType.name).where(TicketType.id == refund["id"]).first()
    assert after == {"code": "refund", "name": "退费"}


async def test_removed_field_is_archived_and_old_tickets_keep_value_and_label(client, make_user, login):
    admin = await make_user("admin")
    await login(client, admin)
    refund = await refund_type()
    draft = Draft(
        type="refund",
        title="搬家退费",
        fields={"contract_no": "HT-0042", "amount": "1200", "reason": "搬家", "account_name": "王芳"},
    )
    old_ticket = await services.create_ticket(admin, draft)

    kept = [f for f in refund["fields"] if f["key"] != "contract_no"]
    response = await post_form(client, f"/admin/ticket-types/{refund['id']}", type_form(refund, fields=kept))
    assert response.status_code in (302, 303)

    after = await refund_type()
    archived = next(f for f in after["fields"] if f["key"] == "contract_no")
    assert archived["archived"] is True and archived["label"] == "合同编号"
    stored = await Ticket.select(Ticket.fields).where(Ticket.id == old_ticket["id"]).first().output(load_json=True)
    assert stored["fields"]["contract_no"] == "HT-0042"
    # New tickets are no longer asked for it; the old one still reads and updates fine.
    new_draft = Draft(type="refund", title="新的", fields={"amount": "1", "reason": "搬家", "account_name": "李"})
    assert "contract_no" not in (await services.create_ticket(admin, new_draft))["fields"]
    updated = await services.update_ticket(admin, old_ticket["id"], {"priority": "urgent"}, version=None)
    assert updated["fields"]["contract_no"] == "HT-0042"
    assert any(f["key"] == "contract_no" and f["label"] == "合同编号" for f in updated["type_fields"])
    edit = await client.get(f"/admin/ticket-types/{refund['id']}")
    assert "合同编号" in edit.text and 'value="restore:contract_no"' in edit.text
    page = await client.get(f"/tickets/{old_ticket['id']}")  # the ticket page labels it from the archived field
    assert page.status_code == 200 and "合同编号" in page.text and "HT-0042" in page.text


async def test_changing_a_saved_fields_type_is_refused_with_a_message(client, make_user, login):
    await login(client, await make_user("admin"))
    refund = await refund_type()
    fields = [dict(f) for f in refund["fields"]]
    index = next(i for i, f in enumerate(fields) if f["key"] == "amount")
    fields[index]["type"] = "text"

    response = await post_form(client, f"/admin/ticket-types/{refund['id']}", type_form(refund, fields=fields))

    assert response.status_code == 422
    assert f'id="fe-{index}-type-error"' in response.text
    assert "A saved field keeps its type" in response.text or "已保存字段的类型不能修改" in response.text
    assert next(f for f in (await refund_type())["fields"] if f["key"] == "amount")["type"] == "money"


async def test_reorder_and_edit_labels_is_saved_and_audited(client, make_user, login):
    await login(client, await make_user("admin"))
    refund = await refund_type()
    fields = [dict(f) for f in refund["fields"] if not f["archived"]]
    fields[0], fields[1] = fields[1], fields[0]
    fields[0]["label"] = "退费金额"

    response = await post_form(client, f"/admin/ticket-types/{refund['id']}", type_form(refund, fields=fields))

    assert response.status_code in (302, 303)
    after = await refund_type()
    assert [f["key"] for f in after["fields"]][:2] == ["amount", "contract_no"]
    assert after["fields"][0]["label"] == "退费金额"
    entry = await AuditEntry.select().where(AuditEntry.action == "update").first().output(load_json=True)
    assert entry["entity_type"] == "ticket_type" and "fields.amount" in entry["changes"]
    assert entry["changes"]["field_order"][1].startswith("amount, contract_no")


async def test_stale_edit_is_refused_instead_of_overwriting(client, make_user, login):
    await login(client, await make_user("admin"))
    refund = await refund_type()
    from app.tickets.types.admin import stamp

    form = type_form(refund, name="第一次", updated_at=stamp(refund))
    assert (await post_form(client, f"/admin/ticket-types/{refund['id']}", form)).status_code in (302, 303)
    stale = await post_form(client, f"/admin/ticket-types/{refund['id']}", {**form, "name": "第二次"})
    assert stale.status_code == 409 and 'value="第二次"' in stale.text
    assert (await refund_type())["name"] == "第一次"


async def test_editor_adds_moves_removes_rows_and_refreshes_the_preview(client, make_user, login):
    await login(client, await make_user("admin"))
    refund = await refund_type()
    base = type_form(refund)
    headers = {"HX-Request": "true", "HX-Target": "field-editor"}

    added = await post_form(client, "/admin/ticket-types/editor", {**base, "op": "add"}, headers=headers)
    assert added.status_code == 200 and added.text.count('<li class="tt-row') == 6
    assert 'name="fields.5.key"' in added.text and 'id="type-preview"' in added.text and "hx-swap-oob" in added.text

    moved = await post_form(client, "/admin/ticket-types/editor", {**base, "op": "down:0"}, headers=headers)
    assert moved.text.index('value="amount"') < moved.text.index('value="contract_no"')

    removed = await post_form(client, "/admin/ticket-types/editor", {**base, "op": "remove:0"}, headers=headers)
    assert 'name="fields.0.key" value="contract_no"' not in removed.text
    assert 'value="restore:contract_no"' in removed.text  # listed as archived, restorable
    without = type_form(refund, fields=[f for f in refund["fields"] if f["key"] != "contract_no"])
    restored = await post_form(
        client, "/admin/ticket-types/editor", {**without, "op": "restore:contract_no"}, headers=headers
    )
    assert 'name="fields.4.key" value="contract_no"' in restored.text and "restore:contract_no" not in restored.text

    preview = await post_form(client, "/admin/ticket-types/preview", base, headers={"HX-Request": "true"})
    assert preview.status_code == 200 and "申请退费金额（元）" in preview.text and 'type="file"' in preview.text


async def test_edit_page_shows_saved_keys_as_fixed(client, make_user, login):
    await login(client, await make_user("admin"))
    refund = await refund_type()
    page = await client.get(f"/admin/ticket-types/{refund['id']}")
    assert page.status_code == 200
    key_input = page.text[page.text.index('name="fields.0.key"') :]
    assert "readonly aria-readonly" in key_input[: key_input.index(">")]
    assert 'name="fields.0.type" value="text"' in page.text  # the type travels hidden; the select is disabled
    assert '<code class="tt-code">refund</code>' in page.text
